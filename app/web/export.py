"""Self-contained HTML export of findings: one file that opens from disk with no network.

The file inlines the stylesheets and the head-view JavaScript read from ``static/`` at
export time (app/inline_assets.py, shared with the notebook views), embeds the findings (with
their attention snapshots) as JSON, and keeps the head view interactive. A Content-Security-Policy
allows exactly the inline script (by its hash) and no connections at all, so even a note that got
past the sanitiser cannot run or phone home.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import nh3
from markupsafe import Markup

# The inlining (bundler, styles, JSON in a script element, CSP) is shared with the notebook views.
from app.inline_assets import ExportError, bundle_modules, csp_for, inline_css, json_for_script
from app.web.finding_interventions import intervention_text
from app.web.pages import templates as page_templates

ENTRY = "export-main.js"
__all__ = ["ExportError", "bundle_modules", "build_export_html", "export_filename", "json_for_script"]


def export_filename(findings: list[dict]) -> str:
    if len(findings) == 1:
        # ASCII only: the name goes into a Content-Disposition header, which is latin-1
        stem = (
            re.sub(r"[^\w.-]+", "_", str(findings[0].get("title") or "finding"), flags=re.ASCII)[:60].strip("_")
            or "finding"
        )
        return f"headscope-{stem}.html"
    return f"headscope-report-{datetime.now(timezone.utc):%Y%m%d-%H%M}.html"


CHECKPOINT_NOTICES = {
    "changed": "The checkpoint {model} has been retrained or replaced since this finding was saved (other weights): "
    "the live view may differ. What is drawn here is the saved snapshot.",
    "missing": "The checkpoint {model} is no longer on this server. What is drawn here is the saved snapshot.",
}


def _when(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value or "")


def view_summary(view: dict) -> str:
    """e.g. "head view · layer 3 · heads 3.7, 3.9"."""
    view = view or {}
    parts = [f"{view.get('kind') or 'head'} view"]
    if view.get("layer") is not None:
        parts.append(f"layer {view['layer']}")
    heads = view.get("heads") or []
    if heads:
        # "layer.head", as every page writes a head: bare head numbers belong to the view's layer
        layer = view.get("layer")
        names = [
            f"{h[0]}.{h[1]}"
            if isinstance(h, (list, tuple)) and len(h) == 2
            else (f"{layer}.{h}" if layer is not None else str(h))
            for h in heads
        ]
        parts.append(("head " if len(names) == 1 else "heads ") + ", ".join(names))
    if view.get("word_mode"):
        parts.append("words")
    return " · ".join(parts)


def finding_context(finding: dict, index: int, live: bool) -> dict:
    """The template fields of one finding, shared by the finding page and the export.
    note_html is sanitised by the server already; it goes through nh3 once more here so that
    neither page nor file depends on every producer of finding JSON (imports, old rows) being right."""
    model = finding.get("model") or {}
    if isinstance(model, str):
        model = {"id": model}
    snap = finding.get("snapshot") or {}
    prediction = snap.get("prediction") or {}
    status = finding.get("checkpoint_status") or "available"
    inp = finding.get("input") or {}
    return {
        "index": index,
        "id": finding.get("id"),
        "title": finding.get("title") or "(untitled)",
        "note_html": Markup(nh3.clean(str(finding.get("note_html") or ""))),
        "author": finding.get("author") or "",
        "visibility": finding.get("visibility") or "private",
        "public_link": bool(finding.get("public_token")),  # the token is sent to its author only
        "model": model,
        "sha_short": str(model.get("sha256") or "")[:12],
        "checkpoint_status": status,
        "checkpoint_notice": CHECKPOINT_NOTICES.get(status, "").format(model=model.get("id") or "?"),
        "text": inp.get("text") or "",
        "aspect": inp.get("aspect"),
        "segments": snap.get("segments") or {},
        "prediction_label": prediction.get("label"),
        "probabilities": sorted((prediction.get("probabilities") or {}).items(), key=lambda kv: -kv[1]),
        "labels": finding.get("labels") or [],
        "tags": finding.get("tags") or [],
        "view_summary": view_summary(finding.get("view") or {}),
        "intervention": intervention_text(finding),
        "created": _when(finding.get("created_at")),
        "updated": _when(finding.get("updated_at")),
        "live": live,
    }


def build_export_html(findings: Iterable[dict], title: str | None = None) -> str:
    """The whole file. `findings` are full finding objects (with `snapshot`) as the API returns them."""
    items = list(findings)
    script = bundle_modules(ENTRY)
    heading = title or (
        str(items[0].get("title") or "Finding") if len(items) == 1 else f"headscope report: {len(items)} findings"
    )
    template = page_templates.env.get_template("export.html")
    return template.render(
        title=heading,
        css=Markup(inline_css()),
        script=Markup(script),
        csp=csp_for(script),
        findings=[finding_context(f, index, live=False) for index, f in enumerate(items)],
        data=json_for_script(items),
        exported_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )

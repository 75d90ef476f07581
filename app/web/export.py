"""Self-contained HTML export of findings: one file that opens from disk with no network.

The file inlines the stylesheets and the head-view JavaScript read from ``static/`` at
export time, embeds the findings (with their attention snapshots) as JSON, and keeps the
head view interactive. Browsers do not load ES modules from ``file://``, so the modules
are joined into one inline script by ``bundle_modules`` (a deliberately small bundler for
this repository's own modules, which refuses anything it does not understand rather than
emitting a broken script). A Content-Security-Policy allows exactly that script (by its
hash) and no connections at all, so even a note that got past the sanitiser cannot run or
phone home.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nh3
from markupsafe import Markup

from app.web.finding_interventions import intervention_text
from app.web.pages import templates as page_templates

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
ENTRY = "export-main.js"
STYLESHEETS = ("css/app.css", "css/findings.css")

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.js)";\s*$', re.M)
_EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)", re.M)


class ExportError(RuntimeError):
    """The static modules cannot be bundled (an import/export form the bundler does not handle)."""


def _module_names(js_dir: Path, entry: str) -> list[str]:
    """The entry and everything it imports, dependencies first."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ExportError(f"import cycle through {name}")
        visiting.add(name)
        for _, dep in _IMPORT.findall((js_dir / name).read_text(encoding="utf-8")):
            visit(dep)
        visiting.discard(name)
        order.append(name)

    visit(entry)
    return order


def _wrap_module(name: str, source: str) -> str:
    """One module as a function scope that returns its exports (its imports read earlier ones)."""

    def import_line(match: re.Match) -> str:
        names = [part.strip() for part in match.group(1).split(",") if part.strip()]
        bindings = ", ".join(n.replace(" as ", ": ") for n in names)
        return f"const {{ {bindings} }} = __modules[{json.dumps(match.group(2))}];"

    body = _IMPORT.sub(import_line, source)
    exports = _EXPORT.findall(body)
    body = _EXPORT.sub(lambda m: m.group(0)[len("export") :].lstrip(), body)
    leftover = re.search(r"^\s*(import|export)\b.*$|\bimport\s*\(", body, re.M)
    if leftover:
        raise ExportError(f"{name}: cannot inline {leftover.group(0).strip()!r}")
    return f"__modules[{json.dumps(name)}] = (() => {{\n{body}\nreturn {{ {', '.join(exports)} }};\n}})();\n"


def bundle_modules(entry: str = ENTRY, js_dir: Path = STATIC / "js") -> str:
    """The entry module and its imports as one script with no imports left."""
    parts = ["const __modules = Object.create(null);\n"]
    parts += [
        f"// ---- static/js/{name} ----\n" + _wrap_module(name, (js_dir / name).read_text(encoding="utf-8"))
        for name in _module_names(js_dir, entry)
    ]
    # "</" would end the inline <script> element early; "<\/" means the same to JavaScript.
    return "".join(parts).replace("</", "<\\/")


def inline_css() -> str:
    css = "\n".join((STATIC / path).read_text(encoding="utf-8") for path in STYLESHEETS if (STATIC / path).exists())
    return css.replace("</", "<\\/")


def json_for_script(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no "<", ">" or "&" left to end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def csp_for(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; script-src 'sha256-" + digest + "'; style-src 'unsafe-inline'; "
        "img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


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
    script = bundle_modules()
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

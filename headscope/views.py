"""Inline views for notebooks: the web pages' head view and model view as self-contained HTML documents.

A document inlines the stylesheets and the page modules (app/inline_assets.py, the offline export's
mechanism) and the inspection's compact snapshot as JSON; a Content-Security-Policy runs only those
scripts and connects nowhere, so it draws with no network, from a notebook cell or from a saved file.
In a notebook the document sits in an ``<iframe srcdoc>`` sandboxed to scripts (and downloads, for the
PNG/SVG buttons): its ids and styles cannot clash with the notebook's or another view's, and its scripts
cannot reach the notebook page.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from app.inline_assets import bundle_modules, csp_for, inline_css, json_for_script

HEAD_ENTRY, MODEL_ENTRY = "notebook-head.js", "notebook-model.js"
ROW_PX = 18  # one token row of the head view (static/js/headview-edges.js ROW)
THUMB_PX = 47  # one model-view thumbnail with its gap (static/css/app.css .thumb)


class HTMLView:
    """A view that displays itself in Jupyter and saves as one standalone HTML file."""

    def __init__(self, document: str, height: int, title: str) -> None:
        self.html, self.height, self.title = document, height, title

    def _repr_html_(self) -> str:
        return (
            f'<iframe class="headscope-view" title="{html.escape(self.title)}" sandbox="allow-scripts allow-downloads" '
            f'style="width:100%;height:{self.height}px;border:1px solid #d0d7e2;border-radius:4px" '
            f'srcdoc="{html.escape(self.html, quote=True)}"></iframe>'
        )

    def save_html(self, path: str | Path) -> Path:
        """Write the document; it opens from disk in any browser, with no network."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html, encoding="utf-8")
        return target

    def __repr__(self) -> str:
        return f"<headscope view: {self.title} ({len(self.html) // 1024} KiB of HTML)>"


def finding_of(snapshot: dict[str, Any], title: str, layer: int | None, heads: list[int] | None) -> dict[str, Any]:
    """The snapshot as the finding object static/js/findings-view.js draws (its `view` picks layer and heads)."""
    view: dict[str, Any] = {"kind": "head", "layer": 0 if layer is None else layer}
    if heads is not None:
        view["heads"] = list(heads)
    return {"title": title, "snapshot": snapshot, "view": view}


def head_view(
    snapshot: dict[str, Any], title: str, layer: int | None = None, heads: list[int] | None = None
) -> HTMLView:
    check_layer_and_heads(snapshot, layer, heads)
    document = render(HEAD_ENTRY, "head", title, finding_of(snapshot, title, layer, heads))
    return HTMLView(document, head_height(snapshot), title)


def check_layer_and_heads(snapshot: dict[str, Any], layer: Any, heads: Any) -> None:
    """ValueError for a layer or head the input's model does not have (the page would quietly draw another)."""
    layers, per_layer = int(snapshot["num_layers"]), int(snapshot["num_heads"])
    if layer is not None and (not _is_index(layer) or not 0 <= layer < layers):
        raise ValueError(f"layer must be a layer number 0..{layers - 1}, got {layer!r}")
    if heads is not None:
        if isinstance(heads, (str, bytes, int)) or not all(_is_index(h) and 0 <= h < per_layer for h in heads):
            raise ValueError(f"heads must be a list of head numbers 0..{per_layer - 1}, e.g. [0, 3]; got {heads!r}")


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


VIEWS = ("head", "model")


def model_view(snapshot: dict[str, Any], title: str, heatmap: bool = True) -> HTMLView:
    document = render(MODEL_ENTRY, "model", title, finding_of(snapshot, title, None, None), plotly=heatmap)
    grid = 40 + THUMB_PX * int(snapshot["num_layers"])
    return HTMLView(document, min(1600, grid + (470 if heatmap else 0) + head_height(snapshot)), title)


def head_height(snapshot: dict[str, Any]) -> int:
    """The iframe's height: the toolbars, one row per token, one strip per attribution method."""
    methods = ((snapshot.get("attribution") or {}).get("methods")) or {}
    strips = 30 + 30 * len(methods) if methods else 0
    return min(900, 190 + ROW_PX * len(snapshot.get("tokens") or ()) + strips)


def render(entry: str, kind: str, title: str, finding: dict[str, Any], plotly: bool = False) -> str:
    script = _bundle(entry)
    scripts = [script]
    vendor = _plotly() if plotly else ""
    if vendor:
        scripts.append(vendor)
    return _template().render(
        title=title,
        kind=kind,
        css=Markup(inline_css()),
        script=Markup(script),
        plotly=Markup(vendor),
        heatmap=plotly,
        csp=csp_for(*scripts),
        data=json_for_script(finding),
    )


@cache
def _bundle(entry: str) -> str:
    return bundle_modules(entry)


@cache
def _plotly() -> str:
    """plotly.js from the installed plotly wheel, as the server serves it (app/web/main.py)."""
    import plotly

    source = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    if "</script" in source.lower():  # would end the inline element early
        raise RuntimeError("plotly.min.js contains '</script' and cannot be inlined")
    return source


@cache
def _template() -> Any:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]), auto_reload=False
    )
    return environment.get_template("view.html")

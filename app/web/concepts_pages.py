"""GET /concepts: docs/concepts.md as a page of the site, so the pages' "?" links (/concepts#anchor) work offline.

The Markdown is rendered with markdown-it-py and sanitised with nh3, as findings notes are
(app/store/markdown.py), with two additions: every heading gets the id GitHub would give it (so the
anchors are the same on GitHub and here), and the figures under docs/img are served at /docs-img.
Links to other docs files are kept as plain text: the app serves only this page.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from markdown_it import MarkdownIt

from app import __version__
from app.store.markdown import ALLOWED_ATTRIBUTES, ALLOWED_SCHEMES, ALLOWED_TAGS
from app.web.pages import ROOT, templates

DOCS = ROOT / "docs"
CONCEPTS = DOCS / "concepts.md"
IMAGES = DOCS / "img"
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
HEADINGS = ("h1", "h2", "h3", "h4")

router = APIRouter()
_renderer = MarkdownIt("commonmark", {"html": False}).enable("table")


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def render(markdown: str) -> str:
    tokens = _renderer.parse(markdown)
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            base = slug(tokens[i + 1].content)
            anchor = base if base not in seen else f"{base}-{seen[base]}"
            seen[base] = seen.get(base, 0) + 1
            token.attrSet("id", anchor)
        if token.type == "inline" and token.children:
            for child in token.children:
                if child.type == "image" and not str(child.attrGet("src") or "").startswith(("http:", "https:")):
                    child.attrSet("src", "/docs-img/" + str(child.attrGet("src")).rsplit("/", 1)[-1])
    html = _renderer.renderer.render(tokens, _renderer.options, {})
    html = re.sub(r'<a href="(?!#|https?:|mailto:)[^"]*">(.*?)</a>', r"\1", html)  # other docs: text only
    attributes = {**ALLOWED_ATTRIBUTES, **{tag: {"id"} for tag in HEADINGS}}
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=attributes,
        url_schemes=ALLOWED_SCHEMES,
        link_rel=None,
        filter_style_properties={"text-align"},
    )


@lru_cache(maxsize=1)
def _page(mtime: float) -> str:
    return render(CONCEPTS.read_text(encoding="utf-8"))


@router.get("/concepts", include_in_schema=False)
def concepts_page(request: Request) -> HTMLResponse:
    body = _page(CONCEPTS.stat().st_mtime)
    return templates.TemplateResponse(
        request, "concepts.html", {"title": "Concepts", "version": __version__, "body": body}
    )


@router.get("/docs-img/{name}", include_in_schema=False)
def concept_image(name: str) -> FileResponse:
    path = IMAGES / name
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.(svg|png)", name) or not path.is_file():
        raise HTTPException(404, "no such image")
    return FileResponse(path, media_type=IMAGE_TYPES[path.suffix])

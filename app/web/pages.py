"""HTML pages: Jinja2 templates whose scripts call the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.web.limits import login_redirect

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=str(ROOT / "templates"))
router = APIRouter()


@router.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    return RedirectResponse("/inspect")


@router.get("/inspect", include_in_schema=False)
def inspect_page(request: Request):
    # Accounts on and inspection not public (HEADSCOPE_PUBLIC_INSPECT): log in first, then come back.
    if not request.app.state.settings.public_inspect and (redirect := login_redirect(request)):
        return redirect
    return templates.TemplateResponse(request, "inspect.html", {"title": "Inspect", "version": __version__})


@router.get("/models", include_in_schema=False)
def models_page(request: Request):
    return templates.TemplateResponse(request, "models.html", {"title": "Models", "version": __version__})

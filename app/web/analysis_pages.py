"""The analysis summary page (/analysis): a template whose script drives /api/analyses."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app import __version__
from app.web.limits import login_redirect
from app.web.pages import templates

router = APIRouter()


@router.get("/analysis", include_in_schema=False)
def summary_page(request: Request):
    # With accounts on, analyses are for signed-in users: log in first, then come back.
    return login_redirect(request) or templates.TemplateResponse(
        request, "summary.html", {"title": "Analysis", "version": __version__}
    )

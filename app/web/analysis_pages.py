"""The analysis summary page (/analysis): a template whose script drives /api/analyses."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app import __version__
from app.web.pages import templates

router = APIRouter()


@router.get("/analysis", include_in_schema=False)
def summary_page(request: Request):
    return templates.TemplateResponse(request, "summary.html", {"title": "Analysis", "version": __version__})

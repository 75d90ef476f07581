"""POST /api/compare: two inspections side by side with the per-head change (compare_service.py), and
the /compare page over it. Same access rule and rate limit as POST /api/inspect (limits.py)."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Request, Response

from app import __version__
from app.web.api import orjson_response
from app.web.compare_schema import CompareRequest
from app.web.compare_service import CompareService
from app.web.limits import inspect_access, login_redirect
from app.web.pages import templates
from app.web.responses import CompareResponse

router = APIRouter()


def compare_service(request: Request) -> CompareService:
    state = request.app.state
    service = getattr(state, "compare_service", None)
    if service is None:  # made on first use, on the event loop's thread (no race)
        service = state.compare_service = CompareService(state.registry, state.inspect_service)
    return service


@router.post(
    "/api/compare",
    dependencies=[Depends(inspect_access)],
    tags=["compare"],
    responses={200: {"model": CompareResponse}},  # written by orjson, like /api/inspect: the schema only
)
async def compare(body: CompareRequest, request: Request) -> Response:
    service = compare_service(request)
    started = time.perf_counter()
    # Both forward passes run on the one model thread, like every inspection.
    answer = await asyncio.get_running_loop().run_in_executor(request.app.state.model_executor, service.run, body)
    response = orjson_response(answer)
    response.headers["Server-Timing"] = f"compare;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


@router.get("/compare", include_in_schema=False)
def compare_page(request: Request):
    # Like /inspect: with accounts on and inspection not public, log in first, then come back.
    if not request.app.state.settings.public_inspect and (redirect := login_redirect(request)):
        return redirect
    return templates.TemplateResponse(request, "compare.html", {"title": "Compare", "version": __version__})

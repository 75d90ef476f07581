"""POST /api/compare/patching: activation patching between the two inputs of /compare (patching_service.py).
Same access rule and rate limit as POST /api/compare (limits.py)."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Request, Response

from app.web.bodies import require_json
from app.web.compare_api import compare_service
from app.web.limits import inspect_access
from app.web.patching_schema import PatchingRequest, PatchingResponse
from app.web.patching_service import PatchingService

router = APIRouter(prefix="/api")


@router.post(
    "/compare/patching",
    dependencies=[Depends(inspect_access), Depends(require_json)],
    response_model=PatchingResponse,
    tags=["compare"],
)
async def patching(body: PatchingRequest, request: Request, response: Response) -> dict:
    service = PatchingService(compare_service(request))
    started = time.perf_counter()
    # Two cached forwards and L x H + (L + 1) x aligned-token rows in batches, on the one model thread.
    answer = await asyncio.get_running_loop().run_in_executor(request.app.state.model_executor, service.run, body)
    response.headers["Server-Timing"] = f"patching;dur={(time.perf_counter() - started) * 1000:.2f}"
    return answer

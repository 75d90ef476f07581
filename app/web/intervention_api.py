"""POST /api/inspect/knockout: the knock-out map of one input (intervention_service.py). Same access rule
and rate limit as POST /api/inspect (limits.py); interventions on one run are POST /api/inspect's
`intervene` field."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response

from app.web.bodies import require_json
from app.web.limits import inspect_access
from app.web.request_bodies import KnockoutRequest
from app.web.responses import KnockoutResponse

router = APIRouter(prefix="/api")


@router.post(
    "/inspect/knockout",
    dependencies=[Depends(inspect_access), Depends(require_json)],
    response_model=KnockoutResponse,
    tags=["interventions"],
)
async def knockout(body: KnockoutRequest, request: Request, response: Response) -> dict:
    started = time.perf_counter()
    # L x H + L + 1 rows of the one input, in a few batched forwards on the one model thread.
    answer = await request.app.state.inspect_service.interventions.knockout(body)
    response.headers["Server-Timing"] = f"knockout;dur={(time.perf_counter() - started) * 1000:.2f}"
    return answer

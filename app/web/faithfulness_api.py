"""POST /api/inspect/faithfulness: comprehensiveness and sufficiency of every head and attribution on one input
(faithfulness_service.py). Same access rule and rate limit as POST /api/inspect (limits.py)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response

from app.web.bodies import require_json
from app.web.faithfulness_schema import FaithfulnessBody, FaithfulnessResponse
from app.web.faithfulness_service import faithfulness
from app.web.limits import inspect_access

router = APIRouter(prefix="/api")


@router.post(
    "/inspect/faithfulness",
    dependencies=[Depends(inspect_access), Depends(require_json)],
    response_model=FaithfulnessResponse,
    tags=["attribution"],
)
async def inspect_faithfulness(body: FaithfulnessBody, request: Request, response: Response) -> dict:
    started = time.perf_counter()
    service = request.app.state.inspect_service
    answer = await faithfulness(service.registry, service.batcher, body)
    response.headers["Server-Timing"] = f"faithfulness;dur={(time.perf_counter() - started) * 1000:.2f}"
    return answer

"""POST /api/inspect/knockout: the knock-out map of one input (intervention_service.py); GET
/api/inspect/references: the reference sets mean ablation may average over. Same access rule and rate
limit as POST /api/inspect (limits.py); interventions on one run are POST /api/inspect's `intervene` field."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from app.web.bodies import require_json
from app.web.intervention_references import listed
from app.web.limits import inspect_access
from app.web.request_bodies import KnockoutRequest
from app.web.responses import Answer, KnockoutResponse

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


class ReferenceSetEntry(Answer):
    name: str = Field(description="what intervene.reference accepts")
    task: str | None = Field(description="absa or re; null: the checkpoint's own task (demo)")
    kind: str = Field(description="demo or shared (a file under HEADSCOPE_SHARED_DATA)")
    description: str


class ReferenceSets(Answer):
    """GET /api/inspect/references: every name POST /api/inspect's intervene.reference accepts (mode mean)."""

    references: list[ReferenceSetEntry]


@router.get(
    "/inspect/references", dependencies=[Depends(inspect_access)], response_model=ReferenceSets, tags=["interventions"]
)
def references(request: Request) -> dict:
    return {"references": listed(request.app.state.settings.shared_data)}

"""Head roles across seeds, JSON API (docs/reference/api.md): the job routes every kind gets (app/web/job_api.py),
the groups of the models folder, and the typed comparison. The work is in seed_group_jobs.py.

POST  /api/analysis-groups                    {group: NAME@SEEDS, data, settings} -> 202 new job, 200 running or cached
GET   /api/analysis-groups/groups             the seed groups found in the models folder
GET   /api/analysis-groups/{id}               status, progress, result when done
GET   /api/analysis-groups/{id}/comparison    the result alone, typed (409 until done)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app.store.models import User
from app.web.auth import require_user
from app.web.job_api import add_job_routes, job_queue
from app.web.jobs import JobQueue
from app.web.seed_group_jobs import SeedGroupJobs
from app.web.seed_group_schema import SeedGroupResult, SeedGroups

router = APIRouter(prefix="/api/analysis-groups", tags=["analyses"])


@router.get("/groups", response_model=SeedGroups)  # before /{job_id}
def groups(user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)) -> dict:
    kind = jobs.kind(SeedGroupJobs.name)
    assert isinstance(kind, SeedGroupJobs)
    return kind.groups(jobs.context)


@router.get("/{job_id}/comparison", response_model=SeedGroupResult, responses={409: {"description": "not done"}})
def comparison(job_id: str, user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)):
    kind = jobs.kind(SeedGroupJobs.name)
    job, _ = jobs.get(kind, job_id, user)
    if job.status != "done":
        return JSONResponse({"detail": f"{kind.noun} {job_id} is {job.status}, not done"}, status_code=409)
    return jobs.result(kind, job_id)


add_job_routes(router, SeedGroupJobs)

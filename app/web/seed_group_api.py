"""Jobs over a seed group, JSON API (docs/reference/api.md): the job routes every kind gets (app/web/job_api.py),
the groups of the models folder, and the typed comparison. The work is in seed_group_jobs.py (head roles across
seeds) and robustness_group_jobs.py (the robustness suite over a group).

POST  /api/analysis-groups                    {group: NAME@SEEDS, data, settings} -> 202 new job, 200 running or cached
POST  /api/robustness-groups                  {group: NAME@SEEDS, data | upload, train?, settings} -> the same
GET   /api/<kind>/groups                      the seed groups found in the models folder
GET   /api/<kind>/{id}                        status, progress, result when done
GET   /api/<kind>/{id}/comparison             the result alone, typed (409 until done)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.store.models import User
from app.web.auth import require_user
from app.web.job_api import add_job_routes, job_queue
from app.web.jobs import JobQueue
from app.web.robustness_group_jobs import RobustnessGroupJobs
from app.web.seed_group_jobs import GroupJobs, SeedGroupJobs
from app.web.seed_group_schema import RobustnessGroupResult, SeedGroupResult, SeedGroups


def group_router(kind_type: type[GroupJobs], result: type[BaseModel], tag: str) -> APIRouter:
    """The routes of one kind of group job, at /api/<kind>."""
    router = APIRouter(prefix=f"/api/{kind_type.name}", tags=[tag])

    @router.get("/groups", response_model=SeedGroups)  # before /{job_id}
    def groups(user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)) -> dict:
        kind = jobs.kind(kind_type.name)
        assert isinstance(kind, GroupJobs)
        return kind.groups(jobs.context)

    @router.get("/{job_id}/comparison", response_model=result, responses={409: {"description": "not done"}})
    def comparison(job_id: str, user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)):
        kind = jobs.kind(kind_type.name)
        job, _ = jobs.get(kind, job_id, user)
        if job.status != "done":
            return JSONResponse({"detail": f"{kind.noun} {job_id} is {job.status}, not done"}, status_code=409)
        return jobs.result(kind, job_id)

    add_job_routes(router, kind_type)
    return router


router = group_router(SeedGroupJobs, SeedGroupResult, "analyses")
robustness_router = group_router(RobustnessGroupJobs, RobustnessGroupResult, "robustness")

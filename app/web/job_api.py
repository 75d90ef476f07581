"""The routes every job kind gets (docs/reference/api.md), thin over the queue (app/web/jobs.py).

    POST  /api/<kind>                    the kind's request body -> 202 new job, 200 running or stored
    GET   /api/<kind>/history            the caller's jobs of this kind and shared ones, last asked for first
    GET   /api/<kind>/{id}               status, progress, owner, visibility; the result when done (?result=false)
    PATCH /api/<kind>/{id}               {"visibility": "shared" | "private"} by an owner or an admin
    GET   /api/<kind>/{id}/result.json   the result as a download

Every route needs a user (with accounts off: the local user; on: a login or an API token, 401
otherwise, app.web.auth). The queue comes from app.state (built in main.py's lifespan). Bodies are
the kind's request model (415 unless JSON, 422 naming each bad field); their byte limits (413) are
the BodyLimits middleware's (body_limits.py: the kind's `body_limit`, 4 KiB for the PATCH).

No `from __future__ import annotations` here: the routes' body types are the kind's, known only
when `add_job_routes` runs, and FastAPI reads the annotations as evaluated objects.
"""

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from app.store.access import Visibility
from app.store.models import User
from app.web.auth import require_user
from app.web.bodies import require_json
from app.web.job_context import JobInputError, TooManyJobs
from app.web.jobs import JobKind, JobQueue
from app.web.responses import JOB_RESULT, Job, JobHistory


def job_queue(request: Request) -> JobQueue:
    return request.app.state.jobs


class VisibilityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visibility: Visibility


def add_job_routes(router: APIRouter, kind_type: type[JobKind]) -> None:
    """The four routes above for one kind, on a router whose prefix is /api/<kind.name>."""
    name = kind_type.name
    body_type = kind_type.request
    # Who first (401), then the body's type (415); require_user is cached for the `user` parameter.
    json_body = [Depends(require_user), Depends(require_json)]

    @router.get("/history", response_model=JobHistory)
    def history(
        limit: int = Query(20, ge=1, le=200),
        user: User = Depends(require_user),
        jobs: JobQueue = Depends(job_queue),
    ) -> JSONResponse:
        # Before /{job_id}: "history" is no job id. Theirs and shared ones, whatever their status.
        return JSONResponse({"jobs": jobs.recent(jobs.kind(name), user, limit)})

    @router.post(
        "",
        response_model=Job,
        dependencies=json_body,
        responses={202: {"model": Job, "description": "a new job, queued"}},
    )
    async def start(
        body: body_type,  # type: ignore[valid-type]
        user: User = Depends(require_user),
        jobs: JobQueue = Depends(job_queue),
    ) -> JSONResponse:
        kind = jobs.kind(name)
        answer, created = await run_in_threadpool(start_job, jobs, kind, body, user)
        return JSONResponse(answer, status_code=202 if created else 200)

    @router.get("/{job_id}", response_model=Job)
    def status(
        job_id: str, result: bool = True, user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)
    ) -> JSONResponse:
        job, seen = jobs.get(jobs.kind(name), job_id, user)
        return JSONResponse(jobs.describe(job, seen, with_result=result))

    @router.patch("/{job_id}", response_model=Job, dependencies=json_body)
    async def share(
        job_id: str, patch: VisibilityPatch, user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)
    ) -> JSONResponse:
        job, seen = await run_in_threadpool(jobs.set_visibility, jobs.kind(name), job_id, user, patch.visibility)
        return JSONResponse(jobs.describe(job, seen, with_result=False))

    @router.get("/{job_id}/result.json", responses=JOB_RESULT)
    def download(job_id: str, user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)) -> Response:
        kind = jobs.kind(name)
        job, _ = jobs.get(kind, job_id, user)
        if job.status != "done":
            return JSONResponse(
                {"detail": f"{kind.noun} {job_id} is {job.status}, not done" + (f": {job.error}" if job.error else "")},
                status_code=409,
            )
        words = ["headscope", kind.noun, job.description.get("model"), job_id[:12]]
        filename = "-".join(str(w) for w in words if w) + ".json"
        return Response(
            orjson.dumps(jobs.result(kind, job_id)),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


def start_job(jobs: JobQueue, kind: JobKind, body: BaseModel, user: User) -> tuple[dict, bool]:
    job, created = jobs.submit(kind, body, user)
    answer = jobs.describe(*jobs.get(kind, job.id, user))
    if not created and job.status == "done":
        answer["cached"] = True  # answered from the stored result, nothing recomputed
    return answer, created


def install(app: FastAPI) -> None:
    """Map the queue's refusals to HTTP answers."""

    @app.exception_handler(JobInputError)
    async def bad_job_input(_: Request, exc: JobInputError) -> JSONResponse:
        loc = ["path", "id"] if exc.field == "id" else ["body", exc.field] if exc.field else ["body"]
        body: dict = {"detail": [{"loc": loc, "msg": str(exc), "type": "value_error"}]}
        if exc.accepted:
            body["accepted"] = exc.accepted
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(TooManyJobs)
    async def too_many_jobs(_: Request, exc: TooManyJobs) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "30"})

"""Robustness JSON API (docs/reference/api.md) and the /robustness page: the job routes every kind gets
(app/web/job_api.py), plus the tests a model's task offers. The work is in robustness_jobs.py.

POST  /api/robustness                    {model, data | upload, train?, settings} -> 202 new job, 200 running or cached
GET   /api/robustness/tests?model=ID     the tests of the model's task: [{name, family, description, needs}]
GET   /api/robustness/capabilities?model=ID&data=NAME[&train=NAME]  each test: runnable, or the reason not
GET   /api/robustness/{id}               status, progress {done, total, phase, eta_s}, result when done
PATCH /api/robustness/{id}               {"visibility": "shared" | "private"}
GET   /api/robustness/{id}/result.json   the whole result file (a download)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from app import __version__
from app.store.models import User
from app.web.auth import require_user
from app.web.capabilities import RobustnessCapabilities, robustness_capabilities
from app.web.job_api import add_job_routes, job_queue
from app.web.jobs import JobQueue
from app.web.limits import login_redirect
from app.web.pages import templates
from app.web.responses import RobustnessTests
from app.web.robustness_jobs import RobustnessJobs

router = APIRouter(prefix="/api/robustness", tags=["robustness"])
pages = APIRouter()


@router.get("/tests", response_model=RobustnessTests)  # before /{job_id}
def tests(
    request: Request,
    model: str = Query(max_length=200),
    user: User = Depends(require_user),
    jobs: JobQueue = Depends(job_queue),
) -> dict:
    kind = jobs.kind(RobustnessJobs.name)
    assert isinstance(kind, RobustnessJobs)
    return kind.tests(request.app.state.registry, model)


@router.get("/capabilities", response_model=RobustnessCapabilities)  # before /{job_id}
def capabilities(
    request: Request,
    model: str = Query(max_length=200),
    data: str = Query(max_length=1000),
    train: str | None = Query(default=None, max_length=1000),
    user: User = Depends(require_user),
    jobs: JobQueue = Depends(job_queue),
) -> dict:
    return robustness_capabilities(model, data, train, user, jobs.context)


add_job_routes(router, RobustnessJobs)


@pages.get("/robustness", include_in_schema=False)
def robustness_page(request: Request):
    # With accounts on, runs are for signed-in users: log in first, then come back.
    return login_redirect(request) or templates.TemplateResponse(
        request, "robustness.html", {"title": "Robustness", "version": __version__}
    )

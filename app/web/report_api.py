"""Model report JSON API (docs/reference/api.md) and the /report page: the job routes every kind gets
(app/web/job_api.py). The work is in report_jobs.py, the core in app/core/report/.

POST  /api/reports                    {models: [...], settings} -> 202 new job, 200 running or cached
GET   /api/reports/capabilities[?models=A,B]  which attacks can run here, each checkpoint's perspectives with data
GET   /api/reports/groups             the seed groups in the models folder: [{label, name, seeds, members, task}]
GET   /api/reports/{id}               status, progress {done, total, phase, eta_s}, result when done
PATCH /api/reports/{id}               {"visibility": "shared" | "private"}
GET   /api/reports/{id}/result.json   the whole report (a download)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from app import __version__
from app.core.model.seed_groups import list_groups
from app.store.models import User
from app.web.auth import require_user
from app.web.capabilities import ReportCapabilities, report_capabilities
from app.web.job_api import add_job_routes, job_queue
from app.web.jobs import JobQueue
from app.web.limits import login_redirect
from app.web.pages import templates
from app.web.report_jobs import ReportJobs
from app.web.responses import Answer

router = APIRouter(prefix="/api/reports", tags=["reports"])
pages = APIRouter()


@router.get("/capabilities", response_model=ReportCapabilities)  # before /{job_id}
def capabilities(
    models: str = Query(default="", max_length=2000, description="comma-separated checkpoint ids"),
    user: User = Depends(require_user),
    jobs: JobQueue = Depends(job_queue),
) -> dict:
    return report_capabilities([m for m in models.split(",") if m], user, jobs.context)


class SeedGroupMember(Answer):
    seed: int
    model: str  # its checkpoint id


class SeedGroupChoice(Answer):
    label: str  # NAME@SEEDS, as POST /api/reports takes it in `models`
    name: str
    seeds: list[int]
    members: list[SeedGroupMember]
    task: str  # the first member's (one recipe: every member's)
    format: str


class ReportGroups(Answer):
    groups: list[SeedGroupChoice]


@router.get("/groups", response_model=ReportGroups)  # before /{job_id}
def groups(request: Request, user: User = Depends(require_user)) -> dict:
    """Every seed group with two or more seeds in the models folder, as the report form offers them."""
    registry = request.app.state.registry
    found = list_groups(registry.infos)
    return {
        "groups": [
            {
                "label": group.label,
                "name": group.name,
                "seeds": list(group.seeds),
                "members": [{"seed": seed, "model": model} for seed, model in group.members],
                "task": registry.info(group.checkpoint_ids[0]).task,
                "format": registry.info(group.checkpoint_ids[0]).format,
            }
            for group in found
        ]
    }


add_job_routes(router, ReportJobs)


@pages.get("/report", include_in_schema=False)
def report_page(request: Request):
    # With accounts on, reports are for signed-in users: log in first, then come back.
    return login_redirect(request) or templates.TemplateResponse(
        request, "report.html", {"title": "Report", "version": __version__}
    )

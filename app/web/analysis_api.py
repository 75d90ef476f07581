"""Head-analysis JSON API (docs/reference/api.md): the job routes every kind gets (app/web/job_api.py), plus
the list of what `data` accepts. The work is in analysis_jobs.py, the queue in jobs.py.

POST  /api/analyses                    {model, data | upload, settings} -> 202 new job, 200 running or cached
GET   /api/analyses/datasets           demo datasets, shared data files, the user's own uploads
GET   /api/analyses/capabilities?model=ID&data=NAME  the form's options: runnable, or the true reason not
GET   /api/analyses/{id}               status, progress {done, total, phase, eta_s}, result when done
PATCH /api/analyses/{id}               {"visibility": "shared" | "private"}
GET   /api/analyses/{id}/result.json   the whole result file (a download)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from app.store.models import User
from app.web.analysis_jobs import AnalysisJobs
from app.web.auth import require_user
from app.web.capabilities import AnalysisCapabilities, analysis_capabilities
from app.web.job_api import add_job_routes, job_queue
from app.web.jobs import JobQueue
from app.web.responses import Datasets

router = APIRouter(prefix="/api/analyses", tags=["analyses"])


@router.get("/datasets", response_model=Datasets)  # before /{job_id}
def datasets(user: User = Depends(require_user), jobs: JobQueue = Depends(job_queue)) -> dict:
    kind = jobs.kind(AnalysisJobs.name)
    assert isinstance(kind, AnalysisJobs)
    return kind.datasets(user, jobs.context)


@router.get("/capabilities", response_model=AnalysisCapabilities)  # before /{job_id}
def capabilities(
    model: str = Query(max_length=200),
    data: str = Query(max_length=1000),
    user: User = Depends(require_user),
    jobs: JobQueue = Depends(job_queue),
) -> dict:
    return analysis_capabilities(model, data, user, jobs.context)


add_job_routes(router, AnalysisJobs)

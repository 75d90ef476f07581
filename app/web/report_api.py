"""Model report JSON API (docs/reference/api.md) and the /report page: the job routes every kind gets
(app/web/job_api.py). The work is in report_jobs.py, the core in app/core/report/.

POST  /api/reports                    {models: [...], settings} -> 202 new job, 200 running or cached
GET   /api/reports/capabilities       which attacks can run here: [{name, runnable, reason}]
GET   /api/reports/{id}               status, progress {done, total, phase, eta_s}, result when done
PATCH /api/reports/{id}               {"visibility": "shared" | "private"}
GET   /api/reports/{id}/result.json   the whole report (a download)
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from app import __version__
from app.web.capabilities import ReportCapabilities, report_capabilities
from app.web.job_api import add_job_routes
from app.web.limits import login_redirect
from app.web.pages import templates
from app.web.report_jobs import ReportJobs

router = APIRouter(prefix="/api/reports", tags=["reports"])
pages = APIRouter()

router.add_api_route("/capabilities", report_capabilities, response_model=ReportCapabilities)  # before /{job_id}
add_job_routes(router, ReportJobs)


@pages.get("/report", include_in_schema=False)
def report_page(request: Request):
    # With accounts on, reports are for signed-in users: log in first, then come back.
    return login_redirect(request) or templates.TemplateResponse(
        request, "report.html", {"title": "Report", "version": __version__}
    )

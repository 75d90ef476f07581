"""Head-analysis JSON API (thin; the work is in analysis_service): start a job, poll it, download its result.

POST /api/analyses                      {model, data | upload, settings} -> 202 new job, 200 existing/cached
GET  /api/analyses/datasets             what `data` accepts (demo datasets, shared data files, upload)
GET  /api/analyses/{id}                 status, progress {done, total, phase, eta_s}, result when done
GET  /api/analyses/{id}/result.json     the whole result file (a download)
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from app.core.heads.settings import AnalysisSettings
from app.web.analysis_service import AnalysisInputError, AnalysisRequest, AnalysisService

router = APIRouter(prefix="/api/analyses", tags=["analyses"])
_create_lock = threading.Lock()


def service(request: Request) -> AnalysisService:
    state = request.app.state
    with _create_lock:
        existing = getattr(state, "analysis_service", None)
        if existing is None:
            existing = AnalysisService(state.settings, state.registry, getattr(state, "model_executor", None))
            state.analysis_service = existing
    return existing


def input_error(exc: AnalysisInputError) -> JSONResponse:
    body = {"detail": [{"loc": ["body", exc.field] if exc.field != "id" else ["path", "id"], "msg": str(exc),
                        "type": "value_error"}]}
    if exc.accepted:
        body["accepted"] = exc.accepted
    return JSONResponse(body, status_code=exc.status)


@router.get("/datasets")
def datasets(request: Request) -> dict:
    return service(request).datasets()


def validation_error(exc: ValidationError) -> JSONResponse:
    """422 naming each bad field; an unknown field also gets the accepted ones."""
    errors = []
    for e in exc.errors():
        loc, msg = ["body", *e["loc"]], e["msg"]
        if e["type"] == "extra_forbidden":
            model = AnalysisSettings if len(e["loc"]) > 1 and e["loc"][0] == "settings" else AnalysisRequest
            msg = f"unknown field {e['loc'][-1]!r}; accepted: {', '.join(model.model_fields)}"
        errors.append({"loc": loc, "msg": msg, "type": e["type"]})
    return JSONResponse({"detail": errors}, status_code=422)


@router.post("")
async def start(request: Request) -> JSONResponse:
    svc = service(request)
    try:
        body = AnalysisRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        return validation_error(exc)
    try:
        job, created = await run_in_threadpool(svc.start, body)  # reads and hashes the data file
    except AnalysisInputError as exc:
        return input_error(exc)
    body = svc.describe(job)
    if not created and job.status == "done":
        body["cached"] = True  # answered from the stored result, nothing recomputed
    return JSONResponse(body, status_code=202 if created else 200)


@router.get("/{analysis_id}")
def status(analysis_id: str, request: Request, result: bool = True) -> JSONResponse:
    svc = service(request)
    try:
        return JSONResponse(svc.describe(svc.get(analysis_id), with_result=result))
    except AnalysisInputError as exc:
        return input_error(exc)


@router.get("/{analysis_id}/result.json")
def download(analysis_id: str, request: Request):
    svc = service(request)
    try:
        job = svc.get(analysis_id)
    except AnalysisInputError as exc:
        return input_error(exc)
    if job.status != "done":
        return JSONResponse({"detail": f"analysis {analysis_id} is {job.status}, not done"
                                       + (f": {job.error}" if job.error else "")}, status_code=409)
    name = f"headscope-analysis-{job.model}-{analysis_id[:12]}.json"
    return FileResponse(svc.result_path(analysis_id), media_type="application/json", filename=name)

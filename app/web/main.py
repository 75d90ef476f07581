"""The FastAPI application: settings in, routes, static files, error mapping."""

from __future__ import annotations

import contextlib
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from app.config import Settings, get_settings
from app.core.model.checkpoint import pick_device
from app.core.model.errors import CheckpointError, HeadscopeError, InputError
from app.core.model.onnx_fastpath import FastPaths
from app.core.model.registry import ModelRegistry, UnknownModelError
from app.web import (
    analysis_api,
    analysis_pages,
    api,
    compare_api,
    concepts_pages,
    faithfulness_api,
    findings_api,
    findings_pages,
    intervention_api,
    job_api,
    pages,
    patching_api,
    report_api,
    robustness_api,
    seed_group_api,
)
from app.web.analysis_jobs import AnalysisJobs
from app.web.attention_npz import NPZ_MEDIA_TYPE
from app.web.batcher import ModelBatcher
from app.web.bodies import validation_errors
from app.web.body_limits import BodyLimits, limit_rules
from app.web.inspect_service import InspectService
from app.web.jobs import JobQueue
from app.web.limits import RateLimiter
from app.web.paths import PublicPaths
from app.web.report_jobs import ReportJobs
from app.web.robustness_group_jobs import RobustnessGroupJobs
from app.web.robustness_jobs import RobustnessJobs
from app.web.seed_group_jobs import SeedGroupJobs

log = logging.getLogger(__name__)
STATIC_DIR = pages.ROOT / "static"
# plotly.js is served from the installed plotly wheel rather than copied into the repo.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
JOB_KINDS = (AnalysisJobs, RobustnessJobs, ReportJobs, SeedGroupJobs, RobustnessGroupJobs)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # what has started is stopped again, in reverse, also when a later start (the preload) fails
        async with contextlib.AsyncExitStack() as started:
            # Findings database: migrated to the newest schema before the app reports ready; closed last.
            store = findings_api.open_store(app, settings)
            started.callback(store.dispose)
            registry = ModelRegistry(
                settings.models_dir, pick_device(settings.device), settings.cuda_half, settings.max_loaded_models
            )
            registry.refresh()
            app.state.registry = registry
            # The one model thread (an Executor for job batches), which also micro-batches live inspections.
            fast = FastPaths(settings.fast_path == "onnx", settings.torch_threads)
            started.callback(fast.close)
            app.state.model_executor = ModelBatcher(
                settings.inspect_batch_window_ms,
                settings.inspect_max_batch,
                settings.inspect_max_batch_tokens,
                settings.torch_threads,
                fast=fast,
            )
            started.callback(app.state.model_executor.shutdown, wait=True)
            app.state.inspect_service = InspectService(
                registry, settings.inspect_cache_size, app.state.model_executor, settings.shared_data
            )
            # Background jobs (one queue, every kind) and the per-client limit on live inspection.
            app.state.jobs = JobQueue(
                settings, registry, store, app.state.model_executor, kinds=[kind() for kind in JOB_KINDS]
            )
            started.callback(app.state.jobs.shutdown)  # the running job stops before its next batch
            app.state.inspect_limiter = RateLimiter(settings.inspect_rate_per_minute)
            # Load one checkpoint before reporting ready, so the first inspection is fast.
            preload = settings.preload or registry.default_id("absa")
            if preload:
                registry.get(preload)
            app.state.ready = True
            try:
                yield
            finally:
                app.state.ready = False

    # /docs: Swagger UI from the fastapi-offline wheel's copy (FastAPI's own page loads it from a CDN); no /redoc,
    # whose page fetches its logo from cdn.redoc.ly whatever it is served from
    app = FastAPIOffline(title="headscope", version="0.1.0", lifespan=lifespan, redoc_url=None)
    app.state.settings = settings
    app.state.ready = False
    # Level 1: measured on a 40-token all-layer response, 1.7 ms for 45% of the size, where level 5
    # took 5 ms for 41% and level 9 48 ms: the bytes saved are not worth the latency on /api/inspect.
    # The npz inspection archive is deflated already: gzipping it again would cost time for no bytes saved.
    app.add_middleware(
        GZipMiddleware, minimum_size=1024, compresslevel=1, exclude_content_types=("text/event-stream", NPZ_MEDIA_TYPE)
    )
    # Every request body's byte limit (413), by path prefix; outside gzip, so it sees requests first.
    app.add_middleware(BodyLimits, rules=limit_rules(settings, [kind() for kind in JOB_KINDS]))

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.router)
    app.include_router(intervention_api.router)
    app.include_router(faithfulness_api.router)
    findings_api.install(app)
    job_api.install(app)
    app.include_router(pages.router)
    app.include_router(findings_pages.router)
    app.include_router(analysis_api.router)
    app.include_router(analysis_pages.router)
    app.include_router(seed_group_api.router)
    app.include_router(compare_api.router)
    app.include_router(patching_api.router)
    app.include_router(robustness_api.router)
    app.include_router(robustness_api.pages)
    app.include_router(seed_group_api.robustness_router)
    app.include_router(report_api.router)
    app.include_router(report_api.pages)
    app.include_router(concepts_pages.router)
    register_error_handlers(app)
    return app


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UnknownModelError)
    async def unknown_model(_: Request, exc: UnknownModelError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "known_models": exc.known}, status_code=404)

    @app.exception_handler(InputError)
    async def bad_input(_: Request, exc: InputError) -> JSONResponse:
        loc = ["body", exc.field] if exc.field else ["body"]
        return JSONResponse({"detail": [{"loc": loc, "msg": str(exc), "type": "value_error"}]}, status_code=422)

    public = PublicPaths(app.state.settings)  # no server folder in a message

    @app.exception_handler(CheckpointError)
    async def broken_checkpoint(_: Request, exc: CheckpointError) -> JSONResponse:
        return JSONResponse({"detail": public.text(f"checkpoint cannot be used: {exc}")}, status_code=409)

    @app.exception_handler(HeadscopeError)
    async def other(_: Request, exc: HeadscopeError) -> JSONResponse:
        return JSONResponse({"detail": public.text(str(exc))}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Same shape as FastAPI's default, without echoing back a possibly huge input.
        return JSONResponse({"detail": validation_errors(request, exc)}, status_code=422)

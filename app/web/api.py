"""JSON API routes: thin wrappers over the registry and the inspection service."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.core.attribution import FLOW_MAX_TOKENS
from app.web.attention_npz import NPZ_MEDIA_TYPE, npz_bytes
from app.web.bodies import require_json
from app.web.body_limits import ARRIVED
from app.web.inspect_service import DEFAULT_ATTENTION_BYTES
from app.web.limits import inspect_access
from app.web.paths import PublicPaths
from app.web.request_bodies import InspectRequest
from app.web.responses import Health, InspectResponse, ModelList

router = APIRouter(prefix="/api")


def orjson_response(body: object, status_code: int = 200) -> Response:
    # orjson serializes the numpy attention arrays of "full" responses directly.
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status_code, media_type="application/json"
    )


@router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "starting"}})
def health(request: Request) -> JSONResponse:
    state = request.app.state
    if not getattr(state, "ready", False):
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse(
        {
            "status": "ready",
            "models": len(state.registry.infos),
            "device": str(state.registry.device),
            "model_thread": state.model_executor.stats.to_json(),
            "fast_path": dict(state.model_executor.fast.status) if state.model_executor.fast else {},
        }
    )


@router.get("/models", response_model=ModelList)
def list_models(request: Request) -> dict:
    registry = request.app.state.registry
    public = PublicPaths(request.app.state.settings)  # folders by setting name, never the server's own paths
    models = [
        {
            **info.to_json(),
            "path": public.name(info.path.resolve()),
            "source": public.name(info.source),
            "loaded": registry.is_loaded(info.id),
        }
        for info in registry.infos
    ]
    defaults = {"absa": registry.default_id("absa"), "re": registry.default_id("re")}
    return {"models": models, "defaults": defaults, "limits": {"flow_max_tokens": FLOW_MAX_TOKENS}}


@router.post(
    "/inspect",
    dependencies=[Depends(inspect_access), Depends(require_json)],  # accounts on: who, and how often
    # The answer is written by orjson (numpy arrays, quantised attention), not validated: its schema only.
    responses={
        200: {
            "model": InspectResponse,
            "content": {NPZ_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": 'JSON (with no "layers", the compact attention of the leading layers that fit in 8 MB, '
            'the rest in attention.omitted_layers); with "attention": "npz" an .npz archive (numpy.load): '
            "inspection.json, layer_<l>.npy",
        }
    },
)
async def inspect(body: InspectRequest, request: Request) -> Response:
    # The body was read (BodyLimits: 413 over HEADSCOPE_MAX_INSPECT_BODY_BYTES) and validated (422)
    # before this runs; "parse" is that time, from the request's arrival.
    state = request.app.state
    started = request.scope.get(ARRIVED, time.perf_counter())
    parsed = time.perf_counter()
    # The forward pass runs on the one model thread, padded together with other requests' that arrive
    # at the same time (app/web/batcher.py); tokenising and shaping the answer happen here.
    timings = {"parse": (parsed - started) * 1000}
    # With no layers named, the compact attention is what fits in DEFAULT_ATTENTION_BYTES (the rest named).
    body_json = await state.inspect_service.run_async(body, timings, budget=DEFAULT_ATTENTION_BYTES)
    encoding = time.perf_counter()
    if body.attention == "npz":  # the binary archive (app/web/attention_npz.py), deflated off the event loop
        response = Response(await run_in_threadpool(npz_bytes, body_json), media_type=NPZ_MEDIA_TYPE)
    else:
        response = orjson_response(body_json)
    done = time.perf_counter()
    timings["encode"] = (done - encoding) * 1000
    # Server-Timing shows in browser dev tools and lets bench/ split server time from transport (and
    # the server's time into its parts; gzip, when asked for, comes after and is not in it).
    response.headers["Server-Timing"] = ", ".join(
        [f"inspect;dur={(done - started) * 1000:.2f}"] + [f"{name};dur={ms:.2f}" for name, ms in timings.items()]
    )
    return response

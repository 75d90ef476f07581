"""JSON API routes: thin wrappers over the registry and the inspection service."""

from __future__ import annotations

import asyncio
import time

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app.web.limits import inspect_access
from app.web.paths import PublicPaths
from app.web.schemas import InspectRequest

router = APIRouter(prefix="/api")


def orjson_response(body: object, status_code: int = 200) -> Response:
    # orjson serializes the numpy attention arrays of "full" responses directly.
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status_code,
                    media_type="application/json")


@router.get("/health")
def health(request: Request) -> JSONResponse:
    state = request.app.state
    if not getattr(state, "ready", False):
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "ready", "models": len(state.registry.infos), "device": str(state.registry.device)})


@router.get("/models")
def list_models(request: Request) -> dict:
    registry = request.app.state.registry
    public = PublicPaths(request.app.state.settings)  # folders by setting name, never the server's own paths
    models = [{**info.to_json(), "path": public.name(info.path.resolve()), "source": public.name(info.source),
               "loaded": registry.is_loaded(info.id)} for info in registry.infos]
    return {"models": models, "defaults": {"absa": registry.default_id("absa"), "re": registry.default_id("re")}}


@router.post("/inspect", dependencies=[Depends(inspect_access)])  # accounts on: who, and how often
async def inspect(body: InspectRequest, request: Request) -> Response:
    state = request.app.state
    # All model work runs on one dedicated thread: torch's OpenMP pool is per calling thread,
    # and hopping between threadpool workers made every forward pass slower.
    started = time.perf_counter()
    body_json = await asyncio.get_running_loop().run_in_executor(state.model_executor, state.inspect_service.run, body)
    response = orjson_response(body_json)
    # Server-Timing shows in browser dev tools and lets bench/ split server time from transport.
    response.headers["Server-Timing"] = f"inspect;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response

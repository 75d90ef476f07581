"""Shared fixtures: the real demo checkpoints, a TestClient over the real app, a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.core.checkpoint import pick_device
from app.core.embedded import embedded_base_model, prepare_demo_models
from app.core.registry import ModelRegistry

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("HEADSCOPE_MODELS_DIR", ROOT / "models")).resolve()
ABSA_ID, RE_ID = "demo-absa-qa-m", "demo-re"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    # `make test` runs `headscope prepare` first; this only trains when run outside make.
    prepare_demo_models(MODELS_DIR, progress=False)
    return MODELS_DIR


@pytest.fixture(scope="session")
def settings(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(models_dir=models_dir, data_dir=tmp_path_factory.mktemp("data"), device="cpu",
                    prepare_on_start=False)


@pytest.fixture(scope="session")
def registry(settings: Settings) -> ModelRegistry:
    registry = ModelRegistry(settings.models_dir, pick_device("cpu"))
    registry.refresh()
    return registry


@pytest.fixture(scope="session")
def absa(registry: ModelRegistry):
    return registry.get(ABSA_ID)


@pytest.fixture(scope="session")
def relation(registry: ModelRegistry):
    return registry.get(RE_ID)


@pytest.fixture(scope="session")
def base_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(embedded_base_model())


@pytest.fixture(scope="session")
def client(settings: Settings):
    from fastapi.testclient import TestClient

    from app.web.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server(models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real uvicorn process serving the app, as `headscope serve` runs it."""
    port = free_port()
    env = {**os.environ, "HEADSCOPE_MODELS_DIR": str(models_dir), "HEADSCOPE_PORT": str(port),
           "HEADSCOPE_HOST": "127.0.0.1", "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("server-data")),
           "HEADSCOPE_DEVICE": "cpu"}
    log = open(tmp_path_factory.mktemp("server-log") / "server.log", "w+")
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--no-prepare"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"server exited early:\n{log.read()}")
        try:
            if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("server did not become ready in 120 s")
    yield base
    process.terminate()
    process.wait(timeout=20)
    log.close()

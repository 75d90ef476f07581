"""Shared fixtures: the real demo checkpoints, a TestClient over the real app, a real server; the tiny
checkpoints and a TestClient over them for the fast loop; the markers that select that loop.

Markers, applied at collection (pytest_collection_modifyitems), so `make test-fast` can leave out
what needs a trained checkpoint or a service:
  trained   needs the trained demo checkpoints (a fixture of TRAINED_FIXTURES in its closure)
  browser   drives Chromium (tests/browser/, or the `browser` fixture)
  postgres  starts a PostgreSQL cluster (the `postgres_cluster` fixture, or a "postgresql" parameter of a
            fixture that asks for it with request.getfixturevalue)
  ray       starts a local Ray instance (the `ray_local` fixture)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import Settings, get_settings
from app.core.model.checkpoint import pick_device
from app.core.model.embedded import embedded_base_model
from app.core.model.registry import ModelRegistry
from app.core.training.demo_checkpoints import prepare_demo_models
from app.devserver import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("HEADSCOPE_MODELS_DIR", ROOT / "models")).resolve()
ABSA_ID, RE_ID = "demo-absa-qa-m", "demo-re"
# Fixtures that (through models_dir) train the demo checkpoints when they are missing.
TRAINED_FIXTURES = frozenset(
    {"models_dir", "settings", "registry", "absa", "relation", "client", "server", "auth_server"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_dir = Path(__file__).resolve().parent / "browser"
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if fixtures & TRAINED_FIXTURES:
            item.add_marker(pytest.mark.trained)
        if "browser" in fixtures or browser_dir in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
        if "postgres_cluster" in fixtures or "postgresql" in params.values():
            item.add_marker(pytest.mark.postgres)
        if "ray_local" in fixtures:
            item.add_marker(pytest.mark.ray)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch):
    """Set HEADSCOPE_* variables for a CLI run in this process: the CLI reads the settings once
    (get_settings is cached), so the cache is cleared with each change and after the test."""

    def set_env(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_env
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def models_dir(request: pytest.FixtureRequest) -> Path:
    # `make test` runs `headscope prepare` first; this only trains when run outside make.
    if "not trained" in (request.config.getoption("markexpr") or ""):
        # A run without the `trained` tests (`make test-fast`) reached this anyway: a test that asks for a
        # fixture of TRAINED_FIXTURES with request.getfixturevalue, which the collection hook cannot see.
        # Fail it now rather than train for minutes.
        pytest.fail(
            "this test needs the trained demo checkpoints, but the run leaves out the `trained` tests: "
            "mark it @pytest.mark.trained, or use the tiny checkpoints (tiny_absa, tiny_client, ...)"
        )
    prepare_demo_models(MODELS_DIR, progress=False)
    return MODELS_DIR


def _test_settings(models_dir: Path, data_dir: Path) -> Settings:
    return Settings(models_dir=models_dir, data_dir=data_dir, device="cpu", prepare_on_start=False)


def _loaded_registry(settings: Settings) -> ModelRegistry:
    registry = ModelRegistry(settings.models_dir, pick_device("cpu"))
    registry.refresh()
    return registry


def _app_client(settings: Settings):
    """A TestClient over the real app, its lifespan run (the model thread and jobs start and stop)."""
    from fastapi.testclient import TestClient

    from app.web.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def settings(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _test_settings(models_dir, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def registry(settings: Settings) -> ModelRegistry:
    return _loaded_registry(settings)


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
    yield from _app_client(settings)


@pytest.fixture(scope="session")
def server(models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real uvicorn process serving the app, as `headscope serve` runs it; yields its base URL."""
    env = {
        "HEADSCOPE_MODELS_DIR": str(models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("server-data")),
        "HEADSCOPE_DEVICE": "cpu",
    }
    with ServerProcess(env) as running:
        yield running.url


@pytest.fixture(scope="session")
def auth_server(models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real server with accounts on (HEADSCOPE_AUTH_ENABLED=true) and the users of
    browser_support.PASSWORDS; yields its base URL."""
    import subprocess
    import sys

    from browser_support import PASSWORDS  # tests/ is on sys.path (rootdir conftest)

    env = {
        "HEADSCOPE_MODELS_DIR": str(models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("auth-data")),
        "HEADSCOPE_DEVICE": "cpu",
        "HEADSCOPE_AUTH_ENABLED": "true",
    }
    for name, password in PASSWORDS.items():
        subprocess.run(
            [sys.executable, "-m", "app.cli", "user", "add", name, "--password-stdin"],
            input=password + "\n",
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    with ServerProcess(env) as running:
        yield running.url


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding two tiny random checkpoints (tiny_model.write_tiny_checkpoint), one ABSA
    QA-M (tiny_model.TINY_ABSA_ID) and one RE (TINY_RE_ID), in the demo checkpoints' shape: for tests
    that need a model to exist, never what a trained one predicts. Written in about a second."""
    from tiny_model import write_tiny_checkpoint  # tests/ is on sys.path (rootdir conftest)

    folder = tmp_path_factory.mktemp("tiny-models")
    write_tiny_checkpoint(folder, "absa")
    write_tiny_checkpoint(folder, "re")
    return folder


@pytest.fixture(scope="session")
def tiny_settings(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _test_settings(tiny_models_dir, tmp_path_factory.mktemp("tiny-data"))


@pytest.fixture(scope="session")
def tiny_registry(tiny_settings: Settings) -> ModelRegistry:
    return _loaded_registry(tiny_settings)


@pytest.fixture(scope="session")
def tiny_absa(tiny_registry: ModelRegistry):
    """The tiny ABSA checkpoint loaded from its folder, as the registry loads every checkpoint."""
    from tiny_model import TINY_ABSA_ID

    return tiny_registry.get(TINY_ABSA_ID)


@pytest.fixture(scope="session")
def tiny_relation(tiny_registry: ModelRegistry):
    from tiny_model import TINY_RE_ID

    return tiny_registry.get(TINY_RE_ID)


@pytest.fixture(scope="session")
def tiny_client(tiny_settings: Settings):
    """A TestClient over the real app serving the tiny checkpoints (accounts off)."""
    yield from _app_client(tiny_settings)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A real PostgreSQL server in a temp folder for the whole run (`make test` installs Debian's
    postgresql when missing); `.create_database()` gives a fresh database URL."""
    from pgcluster import PostgresCluster, find_bin_dir  # tests/ is on sys.path (rootdir conftest)

    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: "
            "`make postgres` installs Debian's postgresql"
        )
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, one per test module (skips when it is not installed)."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS  # tests/ is on sys.path (rootdir conftest)

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (`make test` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance with two CPU slots, started by the test itself (skips without the Ray extra)."""
    ray = pytest.importorskip("ray", reason="the Ray extra is not installed (pip install headscope[ray])")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()

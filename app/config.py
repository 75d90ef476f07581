"""The one settings object: every host, port, folder and knob comes from here.

Values come from ``HEADSCOPE_*`` environment variables (or a ``.env`` file), so the
Makefile, the Dockerfile, the CLI and the tests all configure the app the same way.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEADSCOPE_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # Checkpoint folders; each sub-folder with a headscope.json is one checkpoint.
    models_dir: Path = Path("models")
    # Where the app writes its own state (database, caches).
    data_dir: Path = Path("data")
    # Optional benchmark data (../shared/data in this repository's workplace). The app
    # runs without it; tests and benchmarks that need it skip when it is unset.
    shared_data: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # On CUDA: true / float16 runs the model in float16, bfloat16 in bfloat16 (ignored on CPU, where both are slow).
    cuda_half: bool | Literal["float16", "bfloat16"] = False
    # How many checkpoints stay loaded at once (least recently used ones are dropped).
    max_loaded_models: int = Field(default=4, ge=1)
    # How many recent inspections keep their attention, so the page can fetch more
    # layers without a second forward pass. 0 disables the cache.
    inspect_cache_size: int = Field(default=64, ge=0)
    # Micro-batching on the model thread (app/web/batcher.py): inspections queued together, or arriving
    # within this many ms while a batch forms, share one padded forward pass of at most
    # inspect_max_batch rows and inspect_max_batch_tokens padded tokens (rows x the longest).
    inspect_batch_window_ms: float = Field(default=2.0, ge=0, le=1000)
    inspect_max_batch: int = Field(default=32, ge=1)
    inspect_max_batch_tokens: int = Field(default=16_384, ge=1)
    # POST /api/inspect bodies above this many bytes: 413 before they are read whole.
    max_inspect_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # torch threads of the model thread (unset: torch's default, one per core).
    torch_threads: int | None = Field(default=None, ge=1)
    # Live inspections on the CPU through ONNX Runtime (app/core/model/onnx_fastpath.py), checked against the plain
    # PyTorch forward before use; "off": always the plain path.
    fast_path: Literal["onnx", "off"] = "onnx"
    # Checkpoint loaded before /api/health reports ready (empty: the first ABSA one).
    preload: str | None = None
    # Train the embedded demo checkpoints at start when they are missing.
    prepare_on_start: bool = True
    # Findings database (SQLAlchemy URL); unset: a SQLite file in data_dir (see database_url_or_default).
    database_url: str | None = None
    # SQLite only: FULL fsyncs the WAL on every commit (survives power loss); NORMAL survives a killed process.
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "FULL"
    # Off (single local user "local", an admin) for `make serve`; on: accounts, sessions, API tokens.
    auth_enabled: bool = False
    # Signs CSRF tokens; unset: generated once and kept in data_dir/secret_key.
    secret_key: str | None = None
    # Size limits for findings (422 above the character limits, 413 above the byte limits).
    max_title_chars: int = Field(default=200, ge=1, le=500)  # the column holds 500
    max_note_chars: int = Field(default=20_000, ge=1)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_import_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Uploaded data (POST /api/analyses "upload"): 413 above this many bytes.
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # With accounts on: /api/inspect for visitors who are not logged in (a public demo server is a choice).
    public_inspect: bool = False
    # With accounts on: background jobs (analyses, ...) one user may have queued or running at once (429 beyond).
    max_jobs_per_user: int = Field(default=3, ge=1)
    # With accounts on: POST /api/inspect requests per minute per client (user, else address; 429 beyond); 0: no limit.
    inspect_rate_per_minute: int = Field(default=120, ge=0)
    # The smallest n a statistic with a CI is ranked on: below it, pages grey it out and say so (docs/concepts.md).
    min_n: int = Field(default=10, ge=1)

    def database_url_or_default(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'headscope.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()

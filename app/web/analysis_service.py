"""Head-analysis jobs for the web (issue 4, points 1 and 7): validate, cache, run in the background.

Threads. Jobs run one at a time on one dedicated job thread (a daemon thread fed by a queue);
the job's model work does not run there but on the app's single model thread
(`app.state.model_executor`, the one every inspection uses), one batch per task:
`analyze(..., runner=...)` hands each batch's forward passes and statistics to that thread and
waits for it. So an inspection is never computed concurrently with analysis work (two torch
computations sharing the 2 cores would each run at half speed and thrash torch's per-thread
OpenMP pool); it queues behind at most one analysis batch (tens of milliseconds on the demo
model) instead of behind a whole job, as it would if the job ran on the model thread as one
task. Only the cheap per-job bookkeeping (loading the data file, the bootstrap, writing JSON)
runs on the job thread itself.

Cache. A result is stored as `<data_dir>/analyses/<key>.json`, key = sha256 of (result version,
checkpoint hash, data sha256, lexicon, pretrained base, settings). The checkpoint hash covers the
folder's weights (*.safetensors), config.json, tokenizer.json and headscope.json. The job id is
the key: a request for a key whose file exists returns the finished result at once, without
recomputing; a request for a key whose job is queued or running returns that job.

Data. `data` names the bundled demo data ("demo-absa", "demo-re"), a file under
HEADSCOPE_SHARED_DATA by its relative path, or "upload:<sha256>" for JSONL posted earlier (or in
the same request as `upload`), stored under `<data_dir>/analyses/uploads/`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.config import Settings
from app.core.checkpoint import CheckpointInfo, file_sha256
from app.core.datasets import Dataset, DatasetError, detect_format, load_dataset
from app.core.heads.analysis import analyze
from app.core.heads.pretrained import load_pretrained_baseline, pretrained_location
from app.core.heads.result import RESULT_VERSION, upgrade_result
from app.core.heads.settings import AnalysisSettings
from app.core.heads.units import AnalysisError, unit_specs
from app.core.sources import load_lexicon
from app.core.demo_data import DEMO_DATASETS, demo_dataset
from app.core.registry import ModelRegistry

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CHECKPOINT_FILES = ("config.json", "tokenizer.json", "headscope.json")
SHARED_LIST_LIMIT = 500


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="checkpoint id (GET /api/models)")
    data: str | None = Field(default=None, max_length=1000,
                             description="demo-absa, demo-re, a path relative to HEADSCOPE_SHARED_DATA, or upload:<sha256>")
    upload: str | None = Field(default=None, description="JSONL text (headscope's own format) to analyse instead of `data`")
    settings: AnalysisSettings = Field(default_factory=AnalysisSettings)


class AnalysisInputError(ValueError):
    """Bad analysis input -> HTTP 422 (or 404 for `status=404`), naming what is accepted."""

    def __init__(self, message: str, field: str, accepted: list[str] | None = None, status: int = 422):
        super().__init__(message)
        self.field, self.accepted, self.status = field, accepted, status


@dataclass
class Job:
    id: str
    model: str
    data: dict[str, Any]
    settings: dict[str, Any]
    status: str = "queued"  # queued, running, done, failed
    phase: str = "queued"
    done: int = 0
    total: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    statistics_started: float | None = None
    finished: float | None = None
    error: str | None = None
    cached: bool = False
    dataset: Dataset | None = None

    def progress(self) -> dict[str, Any]:
        now = time.time()
        eta = None
        if self.status == "running" and self.phase == "statistics" and self.done and self.statistics_started:
            elapsed = now - self.statistics_started
            eta = round(elapsed / self.done * (self.total - self.done), 1)
        end = self.finished or now
        return {"done": self.done, "total": self.total, "phase": self.phase, "eta_s": eta,
                "elapsed_s": round(end - self.started, 2) if self.started else 0.0,
                "fraction": round(self.done / self.total, 4) if self.total else 0.0}


class AnalysisService:
    def __init__(self, settings: Settings, registry: ModelRegistry, model_executor: Executor | None):
        self.settings, self.registry, self.model_executor = settings, registry, model_executor
        self.root = Path(settings.data_dir) / "analyses"
        self.uploads = self.root / "uploads"
        self.jobs: dict[str, Job] = {}
        self.runs = 0  # analyses computed by this process (the cache test counts them)
        self.work_threads: set[str] = set()  # threads that ran analysis model work (all: the model thread)
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._hashes: dict[tuple, str] = {}
        self._pretrained: dict[str, Any] = {}
        self._worker = threading.Thread(target=self._work, name="analysis-jobs", daemon=True)
        self._worker.start()

    # --- inputs ---------------------------------------------------------------------------

    def datasets(self) -> dict[str, Any]:
        """What `data` accepts: the demo datasets, the shared data files, the upload form."""
        demo = [{"name": d.name, "task": d.task, "description": d.description, "kind": "demo"}
                for d in DEMO_DATASETS.values()]
        shared: list[dict[str, Any]] = []
        base = self.settings.shared_data
        if base is not None and Path(base).is_dir():
            for path in sorted(Path(base).rglob("*")):
                if len(shared) >= SHARED_LIST_LIMIT:
                    break
                if path.is_file() and not path.name.startswith("."):
                    fmt = detect_format(path)
                    if fmt and fmt not in ("opinion-lexicon", "semeval2010-key"):
                        shared.append({"name": path.relative_to(base).as_posix(), "format": fmt, "kind": "shared"})
        return {"demo": demo, "shared": shared, "shared_data": str(base) if base else None,
                "upload": "POST /api/analyses with \"upload\": JSONL text (docs: app/core/datasets/user_jsonl.py)"}

    def accepted_data(self) -> list[str]:
        accepted = list(DEMO_DATASETS)
        if self.settings.shared_data:
            accepted.append(f"a file under HEADSCOPE_SHARED_DATA ({self.settings.shared_data}) by relative path")
        else:
            accepted.append("a file under HEADSCOPE_SHARED_DATA by relative path (HEADSCOPE_SHARED_DATA is not set)")
        accepted.append("upload:<sha256> of an earlier upload, or the JSONL text itself in `upload`")
        return accepted

    def store_upload(self, text: str) -> str:
        raw = text.encode("utf-8")
        if len(raw) > MAX_UPLOAD_BYTES:
            raise AnalysisInputError(f"upload is {len(raw)} bytes; at most {MAX_UPLOAD_BYTES}", "upload")
        digest = hashlib.sha256(raw).hexdigest()
        self.uploads.mkdir(parents=True, exist_ok=True)
        path = self.uploads / f"{digest}.jsonl"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(raw)
            os.replace(tmp, path)
        return f"upload:{digest}"

    def resolve_data(self, name: str) -> tuple[Dataset, dict[str, Any]]:
        """(dataset, description {name, kind, path, sha256, format, examples}) or AnalysisInputError."""
        accepted = self.accepted_data()
        if name in DEMO_DATASETS:
            dataset = demo_dataset(name)
            kind = "demo"
        elif name.startswith("upload:"):
            digest = name.split(":", 1)[1]
            path = self.uploads / f"{digest}.jsonl"
            if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest) or not path.is_file():
                raise AnalysisInputError(f"unknown upload {name!r}; accepted: {'; '.join(accepted)}", "data", accepted)
            dataset = self._load(path, "jsonl", name)
            kind = "upload"
        else:
            base = self.settings.shared_data
            relative = Path(name)
            if base is None or relative.is_absolute() or ".." in relative.parts or not name.strip():
                raise AnalysisInputError(f"unknown dataset {name!r}; accepted: {'; '.join(accepted)}", "data", accepted)
            root = Path(base).resolve()
            path = (root / relative).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                raise AnalysisInputError(f"unknown dataset {name!r}: no such file under HEADSCOPE_SHARED_DATA; "
                                         f"accepted: {'; '.join(accepted)}", "data", accepted)
            dataset = self._load(path, None, name)
            kind = "shared"
        sha = file_sha256(Path(dataset.path))
        return dataset, {"name": name, "kind": kind, "sha256": sha, "format": dataset.format,
                         "examples": len(dataset.examples)}

    @staticmethod
    def _load(path: Path, fmt: str | None, name: str) -> Dataset:
        try:
            return load_dataset(path, fmt)
        except DatasetError as exc:
            raise AnalysisInputError(f"dataset {name!r} cannot be read: {exc}", "data") from exc

    def checkpoint_hash(self, info: CheckpointInfo) -> str:
        """sha256 over the checkpoint folder's weights, config, tokenizer and headscope.json (memoised by mtime)."""
        location = Path(info.weights_location)
        if not location.is_dir():
            return hashlib.sha256(info.weights_location.encode()).hexdigest()  # a hub name
        files = sorted(location.glob("*.safetensors")) + [location / n for n in CHECKPOINT_FILES]
        if Path(info.path) != location:
            files.append(Path(info.path) / "headscope.json")
        files = [f for f in files if f.is_file()]
        stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
        with self._lock:
            if stamp in self._hashes:
                return self._hashes[stamp]
        digest = hashlib.sha256()
        for f in files:
            digest.update(f.name.encode() + b"\0" + file_sha256(f).encode() + b"\0")
        value = digest.hexdigest()
        with self._lock:
            self._hashes[stamp] = value
        return value

    def lexicon(self, settings: AnalysisSettings) -> Path | None:
        base = self.settings.shared_data
        if settings.lexicon and base is not None and (Path(base) / "opinion_lexicon").is_dir():
            return Path(base) / "opinion_lexicon"
        return None

    # --- jobs -----------------------------------------------------------------------------

    def start(self, request: AnalysisRequest) -> tuple[Job, bool]:
        """(job, created): validates everything the job needs before queueing it."""
        info = self.registry.info(request.model)  # UnknownModelError -> 404
        if request.upload is not None and request.data is not None:
            raise AnalysisInputError("give either data or upload, not both", "upload")
        if request.upload is not None:
            name = self.store_upload(request.upload)
        elif request.data:
            name = request.data
        else:
            raise AnalysisInputError(f"data is required; accepted: {'; '.join(self.accepted_data())}", "data",
                                     self.accepted_data())
        dataset, data = self.resolve_data(name)
        settings = request.settings
        try:
            specs, pairing = unit_specs(info, list(dataset.examples), name, settings.pairs)
        except AnalysisError as exc:
            raise AnalysisInputError(f"{name} does not fit {info.id} ({info.task}, {info.format}): {exc}", "data") from exc
        total = len(specs) if settings.max_examples is None else min(settings.max_examples, len(specs))
        lexicon = self.lexicon(settings)
        key_parts = {"version": RESULT_VERSION, "checkpoint": self.checkpoint_hash(info), "data": data["sha256"],
                     "data_format": data["format"], "lexicon": str(lexicon) if lexicon else None,
                     "pretrained": pretrained_location(info) if settings.pretrained else None,
                     "settings": settings.model_dump(mode="json")}
        key = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()[:32]
        data = {**data, "pairing": pairing, "pairs": total}
        with self._lock:
            job = self.jobs.get(key)
            if job is not None and job.status in ("queued", "running", "done") and (job.status != "done" or
                                                                                    self.result_path(key).is_file()):
                return job, False
            if self.result_path(key).is_file():
                job = self._finished_job(key, request.model, data, settings.model_dump(mode="json"))
                self.jobs[key] = job
                return job, False
            job = Job(key, info.id, data, settings.model_dump(mode="json"), total=total, dataset=dataset)
            self.jobs[key] = job
        self._queue.put(job)
        return job, True

    def _finished_job(self, key: str, model: str, data: dict, settings: dict) -> Job:
        job = Job(key, model, data, settings, status="done", phase="done", cached=True)
        job.done = job.total = data.get("pairs", 0)
        job.started = job.finished = self.result_path(key).stat().st_mtime
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is not None:
            return job
        path = self.result_path(job_id)
        if _safe_id(job_id) and path.is_file():  # finished by an earlier server process
            result = self.read_result(job_id)
            job = self._finished_job(job_id, result["model"]["id"], result.get("job", {}).get("data", {}),
                                     result.get("job", {}).get("settings", {}))
            with self._lock:
                self.jobs.setdefault(job_id, job)
            return job
        raise AnalysisInputError(f"no analysis {job_id!r}; start one with POST /api/analyses", "id", status=404)

    def result_path(self, job_id: str) -> Path:
        return self.root / f"{job_id}.json"

    def read_result(self, job_id: str) -> dict[str, Any]:
        if not _safe_id(job_id):
            raise AnalysisInputError(f"no analysis {job_id!r}", "id", status=404)
        return upgrade_result(json.loads(self.result_path(job_id).read_text(encoding="utf-8")))

    def describe(self, job: Job, with_result: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"id": job.id, "status": job.status, "model": job.model, "data": job.data,
                                "settings": job.settings, "progress": job.progress(), "cached": job.cached,
                                "error": job.error, "result_url": f"/api/analyses/{job.id}/result.json"}
        if with_result and job.status == "done":
            body["result"] = self.read_result(job.id)
        return body

    def _run_on_model_thread(self, work):
        def tracked():
            self.work_threads.add(threading.current_thread().name)
            return work()

        if self.model_executor is None:
            return tracked()
        return self.model_executor.submit(tracked).result()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                self._run(job)
            except Exception as exc:  # the job fails, the worker lives on
                log.exception("analysis %s failed", job.id)
                job.status, job.error, job.finished = "failed", f"{type(exc).__name__}: {exc}", time.time()
            finally:
                job.dataset = None

    def _run(self, job: Job) -> None:
        job.status, job.phase, job.started = "running", "loading", time.time()
        settings = AnalysisSettings(**job.settings)
        run = self._run_on_model_thread
        loaded = run(lambda: self.registry.get(job.model))
        pretrained = None
        if settings.pretrained:
            pretrained = self._pretrained.get(job.model)
            if pretrained is None or pretrained.device != loaded.device:
                pretrained = run(lambda: load_pretrained_baseline(loaded))
                self._pretrained = {job.model: pretrained}  # keep one: a model's worth of memory

        def progress(done: int, total: int, phase: str) -> None:
            job.done, job.total, job.phase = done, total, phase

        job.phase, job.statistics_started = "statistics", time.time()
        result = analyze(loaded, job.dataset, settings, pretrained=pretrained, lexicon=load_lexicon(self.lexicon(settings)),
                         progress=progress, runner=run).to_json()
        result["analysis_id"] = job.id
        result["job"] = {"data": job.data, "settings": job.settings}
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.result_path(job.id)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, allow_nan=False), encoding="utf-8")
        os.replace(tmp, path)
        self.runs += 1
        job.done = job.total
        job.status, job.phase, job.finished = "done", "done", time.time()


def _safe_id(job_id: str) -> bool:
    return 0 < len(job_id) <= 64 and all(c in "0123456789abcdef" for c in job_id)

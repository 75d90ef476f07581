"""Where job inputs come from, and the fingerprints that make their results cacheable.

Data sources, as both the CLI and the web name them:

* the bundled demo data by name ("demo-absa", "demo-re");
* a file under the shared benchmark folder (HEADSCOPE_SHARED_DATA) by its relative path;
* an upload, "upload:<sha256>", stored earlier under the app's uploads folder;
* on the command line only, any file path.

Names in errors are the names the user gave (and accepted names are relative to the shared
folder), never the server's absolute paths.

Fingerprints: a checkpoint's covers its weights (*.safetensors), config.json, tokenizer.json and
headscope.json; data's is the file's sha256; a cache key hashes a job kind's key parts.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from app.core.data.demo import DEMO_DATASETS, DEMO_OPINION_WORDS, demo_dataset, demo_file
from app.core.data.files import write_bytes_atomically
from app.core.data.readers import (
    FORMATS,
    Dataset,
    DatasetError,
    OpinionLexicon,
    detect_format,
    load_dataset,
    load_opinion_lexicon,
)
from app.core.model.checkpoint import CheckpointInfo, file_sha256

CHECKPOINT_FILES = ("config.json", "tokenizer.json", "headscope.json")
SHARED_LIST_LIMIT = 500
LEXICON_FOLDER = "opinion_lexicon"  # the Hu & Liu lexicon's folder in the shared benchmark data
NOT_ANALYSABLE = ("opinion-lexicon", "semeval2010-key")  # formats that hold no labelled examples


class DataSourceError(ValueError):
    """An unknown or unreadable data source; `accepted` lists what would be accepted."""

    def __init__(self, message: str, accepted: list[str] | None = None):
        super().__init__(message)
        self.accepted = accepted or []


def accepted_sources(shared_data: Path | None) -> list[str]:
    """What a data source may be, in words (no server paths)."""
    shared = (
        "a file under HEADSCOPE_SHARED_DATA by its relative path (GET /api/analyses/datasets lists them)"
        if shared_data
        else "a file under HEADSCOPE_SHARED_DATA by relative path (HEADSCOPE_SHARED_DATA is not set)"
    )
    return [*DEMO_DATASETS, shared, "upload:<sha256> of an earlier upload, or the JSONL text itself in `upload`"]


def shared_datasets(shared_data: Path | None) -> list[dict[str, str]]:
    """The analysable files under the shared folder: [{name (relative), format, task (where the format says)}]."""
    found: list[dict[str, str]] = []
    if shared_data is None or not Path(shared_data).is_dir():
        return found
    for path in sorted(Path(shared_data).rglob("*")):
        if len(found) >= SHARED_LIST_LIMIT:
            break
        if path.is_file() and not path.name.startswith("."):
            fmt = detect_format(path)
            if fmt and fmt not in NOT_ANALYSABLE:
                name, task = path.relative_to(shared_data).as_posix(), FORMATS[fmt].task
                found.append({"name": name, "format": fmt, "kind": "shared", **({"task": task} if task else {})})
    return found


def source_kind(name: str) -> str:
    """ "demo", "upload" or "shared" for a web data name."""
    if name in DEMO_DATASETS:
        return "demo"
    return "upload" if name.startswith("upload:") else "shared"


def load_data_source(
    name: str,
    *,
    shared_data: Path | None,
    uploads: Path | None = None,
    data_format: str | None = None,
    allow_paths: bool = False,
) -> Dataset:
    """The dataset a source name stands for; DataSourceError naming `name` as given otherwise.

    allow_paths: also accept any readable file path (the command line's own files).
    """
    accepted = accepted_sources(shared_data)
    if name in DEMO_DATASETS and not (allow_paths and Path(name).exists()):
        return demo_dataset(name)
    if name.startswith("upload:"):
        digest = name.split(":", 1)[1]
        path = uploads / f"{digest}.jsonl" if uploads is not None and _is_sha256(digest) else None
        if path is None or not path.is_file():
            raise DataSourceError(f"unknown upload {name!r}; accepted: {'; '.join(accepted)}", accepted)
        return _read(path, "jsonl", name)
    if allow_paths and Path(name).is_file():
        return _read(Path(name), data_format, name)
    path = shared_file(name, shared_data)
    if path is None:
        raise DataSourceError(
            f"unknown dataset {name!r}: no such file under HEADSCOPE_SHARED_DATA; accepted: {'; '.join(accepted)}",
            accepted,
        )
    return _read(path, data_format, name)


def shared_file(name: str, shared_data: Path | None) -> Path | None:
    """The file `name` names under the shared folder, or None (also for absolute paths and escapes with ..)."""
    relative = Path(name)
    if shared_data is None or not name.strip() or relative.is_absolute() or ".." in relative.parts:
        return None
    root = Path(shared_data).resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _read(path: Path, data_format: str | None, name: str) -> Dataset:
    try:
        return load_dataset(path, data_format)
    except DatasetError as exc:
        # DatasetError names the file by its path: say it with the name the user gave.
        message = str(exc).replace(str(path), name)
        raise DataSourceError(f"dataset {name!r} cannot be read: {message}") from exc


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def store_upload(uploads: Path, text: str) -> str:
    """Keep uploaded JSONL under its sha256 (atomically; the same text twice is stored once); its source name."""
    raw = text.encode("utf-8")
    digest = hashlib.sha256(raw).hexdigest()
    uploads.mkdir(parents=True, exist_ok=True)
    path = uploads / f"{digest}.jsonl"
    if not path.exists():
        write_bytes_atomically(path, raw)
    return f"upload:{digest}"


_checkpoint_hashes: dict[tuple, str] = {}
_data_hashes: dict[tuple, str] = {}
_hash_lock = threading.Lock()


def default_lexicon_path(shared_data: Path | None, data_name: str | None = None) -> Path | None:
    """The shared benchmark data's Hu & Liu lexicon folder, when there is one; else, for the demo ABSA data
    (`data_name` "demo-absa"), the opinion words shipped with it (app/demo_data/opinion_words), so the
    opinion-based robustness tests run on the demo data out of the box."""
    if shared_data is not None and (Path(shared_data) / LEXICON_FOLDER).is_dir():
        return Path(shared_data) / LEXICON_FOLDER
    if data_name is not None and DEMO_DATASETS.get(data_name) is not None and DEMO_DATASETS[data_name].task == "absa":
        return demo_file(DEMO_OPINION_WORDS)
    return None


def default_training(data_name: str) -> Dataset | None:
    """The training data of a run that names none: the demo data is its own (the demo checkpoints were
    trained on it), so the tests that mine the training file (adddiff, q4-rule-mask) run on it; else None."""
    return demo_dataset(data_name) if data_name in DEMO_DATASETS else None


def load_lexicon(path: Path | None) -> OpinionLexicon | None:
    return load_opinion_lexicon(path) if path is not None else None


def data_fingerprint(dataset: Dataset) -> str | None:
    """sha256 of the dataset's file (None when it has no file); memoised by size and mtime, since a job's
    request and its run both need it."""
    path = Path(dataset.path)
    if not path.is_file():
        return None
    stat = path.stat()
    stamp = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        if stamp in _data_hashes:
            return _data_hashes[stamp]
    digest = file_sha256(path)
    with _hash_lock:
        _data_hashes[stamp] = digest
    return digest


def checkpoint_fingerprint(info: CheckpointInfo) -> str:
    """sha256 over the checkpoint's weights, config, tokenizer and headscope.json (memoised by size and mtime)."""
    location = Path(info.weights_location)
    if not location.is_dir():
        return hashlib.sha256(info.weights_location.encode()).hexdigest()  # a hub name
    files = sorted(location.glob("*.safetensors")) + [location / n for n in CHECKPOINT_FILES]
    if Path(info.path) != location:
        files.append(Path(info.path) / "headscope.json")
    files = [f for f in files if f.is_file()]
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    with _hash_lock:
        if stamp in _checkpoint_hashes:
            return _checkpoint_hashes[stamp]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + file_sha256(f).encode() + b"\0")
    with _hash_lock:
        _checkpoint_hashes[stamp] = digest.hexdigest()
    return digest.hexdigest()


def cache_key(parts: dict[str, Any]) -> str:
    """A job's id from what determines its result (32 hex digits)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]

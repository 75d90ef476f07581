"""Which weights a finding was made with, and whether the server still has them."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path

# Same names app/core/model/checkpoint.py loads (plain strings here so the store does not import torch).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")

_cache: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def weights_sha256(location: str | Path) -> str | None:
    """sha256 of the checkpoint's weights file (of the shard index for sharded weights); None when
    the weights are not a local folder (a hub name). Cached on (path, size, mtime): hashing 90 MB
    takes ~0.2 s and findings are listed often; a retrained checkpoint changes size or mtime."""
    folder = Path(location)
    for name in WEIGHT_FILES:
        path = folder / name
        try:
            stat = path.stat()
        except OSError:
            continue
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with _lock:
            if key in _cache:
                return _cache[key]
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        with _lock:
            _cache[key] = digest.hexdigest()
        return _cache[key]
    return None


def checkpoint_status(model_id: str, stored_sha256: str | None, current: Mapping[str, str | None]) -> str:
    """ "available" (same weights), "changed" (the id exists with other weights) or "missing".

    `current` maps the server's model ids to their weights hash (None when it cannot be computed,
    which counts as the same weights: there is nothing to compare)."""
    if model_id not in current:
        return "missing"
    now = current[model_id]
    if now is None or stored_sha256 is None or now == stored_sha256:
        return "available"
    return "changed"

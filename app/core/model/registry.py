"""The checkpoints a server knows: listed from the models folder, loaded on demand."""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from pathlib import Path

import torch

from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint, load_checkpoint, scan_models_dir
from app.core.model.memory import release_freed_memory

log = logging.getLogger(__name__)


class UnknownModelError(KeyError):
    def __init__(self, model_id: str, known: list[str]):
        super().__init__(model_id)
        self.model_id, self.known = model_id, known

    def __str__(self) -> str:
        return f"unknown model {self.model_id!r}; known models: {', '.join(self.known) or '(none)'}"


class ModelRegistry:
    """Lists checkpoints without loading them; keeps the most recently used ones loaded."""

    def __init__(self, models_dir: Path, device: torch.device, half: bool | str = False, max_loaded: int = 4):
        self.models_dir, self.device, self.half, self.max_loaded = models_dir, device, half, max_loaded
        self._infos: dict[str, CheckpointInfo] = {}
        self._loaded: OrderedDict[str, LoadedCheckpoint] = OrderedDict()
        self._lock = threading.Lock()

    def refresh(self) -> list[CheckpointInfo]:
        infos = scan_models_dir(self.models_dir)
        with self._lock:
            self._infos = {info.id: info for info in infos}
            for stale in [k for k in self._loaded if k not in self._infos]:
                del self._loaded[stale]
        return infos

    def adopt(self, loaded: LoadedCheckpoint) -> None:
        """Hold a checkpoint loaded elsewhere (an in-memory model of a notebook), known by its id like a listed one."""
        with self._lock:
            self._infos[loaded.info.id] = loaded.info
            self._loaded[loaded.info.id] = loaded

    @property
    def infos(self) -> list[CheckpointInfo]:
        return list(self._infos.values())

    def info(self, model_id: str) -> CheckpointInfo:
        try:
            return self._infos[model_id]
        except KeyError:
            raise UnknownModelError(model_id, sorted(self._infos)) from None

    def is_loaded(self, model_id: str) -> bool:
        return model_id in self._loaded

    def default_id(self, task: str) -> str | None:
        """The demo checkpoint of a task when present, else the first one of that task."""
        ids = [i.id for i in self._infos.values() if i.task == task]
        preferred = [i for i in ids if i.startswith("demo-")]
        return (preferred or ids)[0] if ids else None

    def get(self, model_id: str) -> LoadedCheckpoint:
        info = self.info(model_id)
        with self._lock:
            if model_id in self._loaded:
                self._loaded.move_to_end(model_id)
                return self._loaded[model_id]
            log.info("loading checkpoint %s from %s on %s", model_id, info.weights_location, self.device)
            loaded = load_checkpoint(info, self.device, self.half)
            self._loaded[model_id] = loaded
            evicted = []
            while len(self._loaded) > self.max_loaded:
                evicted.append(self._loaded.popitem(last=False)[0])
        if evicted:
            self._free(evicted)
        return loaded

    def _free(self, evicted: list[str]) -> None:
        """Drop the least recently used checkpoints for good: collected now, their CUDA memory handed back."""
        log.info("unloading checkpoint(s) %s (HEADSCOPE_MAX_LOADED_MODELS=%d)", ", ".join(evicted), self.max_loaded)
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        release_freed_memory()

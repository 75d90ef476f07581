"""HEADSCOPE_MAX_LOADED_MODELS: the registry keeps at most that many checkpoints and frees the least recently used."""

from __future__ import annotations

import weakref

from app.config import Settings
from app.core.model.checkpoint import pick_device
from app.core.model.registry import ModelRegistry


def test_least_recently_used_checkpoint_is_freed(models_dir, monkeypatch):
    monkeypatch.setenv("HEADSCOPE_MAX_LOADED_MODELS", "2")
    registry = ModelRegistry(
        models_dir, pick_device("cpu"), max_loaded=Settings(models_dir=models_dir).max_loaded_models
    )
    registry.refresh()
    first, second, third = [info.id for info in registry.infos][:3]
    model = weakref.ref(registry.get(first).model)
    registry.get(second)
    registry.get(first)  # used again: now the second is the least recently used
    registry.get(third)
    assert [registry.is_loaded(i) for i in (first, second, third)] == [True, False, True]
    registry.get(second)
    assert not registry.is_loaded(first)
    assert model() is None  # gone for good, not only out of the registry

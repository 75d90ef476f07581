"""Checkpoints for the Python API: a folder, an id registered in the models folder, or a model already in memory.

Every form ends as the core's `LoadedCheckpoint` (app.core.model.checkpoint), the object the server and
the command line run; the folder and registry forms load it exactly as they do (safetensors only, eager
attention, eval mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from app.config import get_settings
from app.core.model.checkpoint import (
    ABSA_FORMATS,
    METADATA_FILE,
    RE_FORMATS,
    CheckpointError,
    CheckpointInfo,
    LoadedCheckpoint,
    load_checkpoint,
    pick_device,
    read_checkpoint_info,
)
from app.core.model.registry import ModelRegistry

# A relative HEADSCOPE_MODELS_DIR ("models") read from a notebook under docs/ would miss the checkout's
# models folder: an id is also looked up there.
CHECKOUT_MODELS = Path(__file__).resolve().parents[1] / "models"


@dataclass
class Checkpoint:
    """A loaded checkpoint: `loaded` is the core's object; the rest says what it is."""

    loaded: LoadedCheckpoint

    @property
    def info(self) -> CheckpointInfo:
        return self.loaded.info

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def task(self) -> str:
        return self.info.task

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    @property
    def model(self) -> Any:
        return self.loaded.model

    @property
    def tokenizer(self) -> Any:
        return self.loaded.tokenizer

    def __repr__(self) -> str:
        info = self.info
        return (
            f"Checkpoint({info.id!r}, task={info.task!r}, format={info.format!r}, labels={list(info.labels)}, "
            f"{info.num_layers} layers x {info.num_heads} heads, device={self.loaded.device})"
        )


class OneCheckpoint(ModelRegistry):
    """A registry holding one loaded checkpoint, for the services written against the server's registry."""

    def __init__(self, loaded: LoadedCheckpoint) -> None:
        super().__init__(loaded.info.path, loaded.device)
        self.adopt(loaded)

    def refresh(self) -> list[CheckpointInfo]:
        return self.infos


def load(
    source: Any,
    tokenizer: Any = None,
    *,
    task: str | None = None,
    format: str | None = None,
    labels: list[str] | None = None,
    id: str | None = None,
    models_dir: str | Path | None = None,
    device: str | None = None,
) -> Checkpoint:
    """A checkpoint from a folder (with headscope.json), a registered id, or an in-memory model.

    source: a folder path; an id of the models folder (HEADSCOPE_MODELS_DIR, e.g. "demo-re"); or a
    transformers `PreTrainedModel` for sequence classification, with its (fast) `tokenizer` and the `task`
    ("absa" or "re"). For an in-memory model `format` defaults to "qa-m" (ABSA) / "re-markers" (RE) and
    `labels` to the model's id2label; the model is switched to eval mode and eager attention (the only
    attention implementation that returns attention weights) and stays on its device.
    device: "cpu", "cuda" or "auto" for folders and ids (default: HEADSCOPE_DEVICE).
    """
    if isinstance(source, Checkpoint):
        return source
    if isinstance(source, LoadedCheckpoint):
        return Checkpoint(source)
    if not isinstance(source, (str, Path)):
        return Checkpoint(_in_memory(source, tokenizer, task, format, labels, id))
    if tokenizer is not None or task is not None:
        raise ValueError("tokenizer and task are for an in-memory model; a folder or id says them in headscope.json")
    if device is not None and device not in DEVICES:
        raise ValueError(f"device must be one of {list(DEVICES)}, got {device!r}")
    try:
        where = pick_device(device or get_settings().device)
    except CheckpointError as exc:  # named as the user gave it: the argument, or the setting
        raise CheckpointError(f"device={device!r}, but CUDA is not available here" if device else str(exc)) from None
    folder = Path(source).expanduser()
    if _looks_like_path(str(source)) and not folder.is_dir():
        raise CheckpointError(
            f"{folder} is {'a file' if folder.exists() else 'not there'}: give a checkpoint folder (with "
            f"{METADATA_FILE}), an id of the models folder, or an in-memory model with its tokenizer"
        )
    if (folder / METADATA_FILE).is_file():
        return Checkpoint(load_checkpoint(read_checkpoint_info(folder), where, get_settings().cuda_half))
    if folder.is_dir():
        raise CheckpointError(
            f"{folder} has no {METADATA_FILE}: add one (docs/how-to/own-checkpoint.md), or load the model "
            "yourself and pass it with its tokenizer and task=..."
        )
    return Checkpoint(_registered(str(source), models_dir, where))


DEVICES = ("cpu", "cuda", "auto")
# the model classes that predict a label from logits: transformers' sequence classifiers and our entity-pooling one
CLASSIFIER_SUFFIXES = ("ForSequenceClassification", "ForEntityStartClassification")


def _looks_like_path(source: str) -> bool:
    """A source written as a path (a separator, ~ or a leading dot), never a bare id of the models folder."""
    return "/" in source or "\\" in source or source.startswith(("~", "."))


def _registered(model_id: str, models_dir: str | Path | None, device: torch.device) -> LoadedCheckpoint:
    configured = Path(models_dir) if models_dir is not None else get_settings().models_dir
    folders = [configured] if models_dir is not None or configured.is_absolute() else [configured, CHECKOUT_MODELS]
    registry = None
    for folder in folders:
        registry = ModelRegistry(folder, device, half=get_settings().cuda_half)
        if any(info.id == model_id for info in registry.refresh()):
            return registry.get(model_id)
    assert registry is not None
    return registry.get(model_id)  # UnknownModelError naming the known ids


def _in_memory(
    model: Any, tokenizer: Any, task: str | None, fmt: str | None, labels: list[str] | None, model_id: str | None
) -> LoadedCheckpoint:
    config = getattr(model, "config", None)
    if config is None or not isinstance(model, torch.nn.Module):
        raise TypeError(f"cannot load {type(model).__name__}: give a folder, a registered id or a PreTrainedModel")
    if not hasattr(config, "num_labels") or not type(model).__name__.endswith(CLASSIFIER_SUFFIXES):
        raise TypeError(
            f"{type(model).__name__} has no classification head: load it with "
            "AutoModelForSequenceClassification (headscope reads the prediction from its logits)"
        )
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise ValueError("an in-memory model needs its fast tokenizer (character offsets): load(model, tokenizer, ...)")
    if task not in ("absa", "re"):
        raise ValueError(f"task must be 'absa' (review + aspect) or 're' (sentence with two entities), got {task!r}")
    fmt = fmt or ("qa-m" if task == "absa" else "re-markers")
    allowed = ABSA_FORMATS if task == "absa" else RE_FORMATS
    if fmt not in allowed:
        raise ValueError(f"format for task {task} must be one of {list(allowed)}, got {fmt!r}")
    id2label = getattr(config, "id2label", None) or {}
    names = list(labels) if labels else [id2label[k] for k in sorted(id2label, key=int)]
    if len(names) != config.num_labels:
        raise ValueError(f"labels: {len(names)} names for a classifier with {config.num_labels} outputs")
    switch = getattr(model, "set_attn_implementation", None)
    if switch is not None:
        switch("eager")
    else:
        config._attn_implementation = "eager"
    model.eval()
    metadata = {"task": task, "format": fmt, "labels": names}
    info = CheckpointInfo(
        id=model_id or str(getattr(config, "name_or_path", "") or "in-memory"),
        path=Path("."),
        task=task,
        format=fmt,
        labels=tuple(names),
        num_layers=int(config.num_hidden_layers),
        num_heads=int(config.num_attention_heads),
        max_length=int(getattr(config, "max_position_embeddings", 512)),
        model_type=str(getattr(config, "model_type", "unknown")),
        metadata=metadata,
    )
    device = next(model.parameters()).device
    return LoadedCheckpoint(info=info, model=model, tokenizer=tokenizer, device=device)

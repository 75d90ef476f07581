"""The pretrained (not fine-tuned) base model of a checkpoint: the reference for per-head baselines
and for how much fine-tuning changed each head."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import torch

from app.core.model.checkpoint import LOAD_DTYPE, CheckpointError, CheckpointInfo, LoadedCheckpoint, quiet_transformers


def pretrained_location(checkpoint: LoadedCheckpoint | CheckpointInfo) -> str:
    """The base model the checkpoint was fine-tuned from: the training record's base path, else the embedded MiniLM."""
    from app.core.model.embedded import embedded_base_model

    info = checkpoint.info if isinstance(checkpoint, LoadedCheckpoint) else checkpoint
    base = (info.metadata.get("training") or {}).get("base_path")
    if base and Path(base).is_dir():
        return str(base)
    return embedded_base_model()


def load_pretrained_baseline(
    checkpoint: LoadedCheckpoint, location: str | None = None, seed: int = 0
) -> LoadedCheckpoint:
    """The pretrained (not fine-tuned) base model as a sequence classifier, with the checkpoint's tokenizer.

    Its classifier head is untrained (seeded, so runs repeat); the token embeddings are resized
    to the checkpoint's tokenizer when it added tokens (RE entity markers; the new rows get the
    mean embedding, transformers' default). Eager attention, on the checkpoint's device.
    """
    from transformers import AutoModelForSequenceClassification

    quiet_transformers()
    location = location or pretrained_location(checkpoint)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                location,
                attn_implementation="eager",
                use_safetensors=True,
                num_labels=len(checkpoint.info.labels),
                dtype=LOAD_DTYPE,
            )
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"cannot load the pretrained base model from {location}: {exc}") from exc
        vocabulary = len(checkpoint.tokenizer)
        if vocabulary > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(vocabulary)
    model.eval()
    dtype = next(checkpoint.model.parameters()).dtype
    if dtype in (torch.float16, torch.bfloat16):
        model.to(dtype)
    model.to(checkpoint.device)
    info = checkpoint.info
    return LoadedCheckpoint(info=info, model=model, tokenizer=checkpoint.tokenizer, device=checkpoint.device)


class KeptBaseline:
    """The pretrained base of the last checkpoint asked for, kept for the next request on the same checkpoint:
    one at a time (each is a model's worth of memory), loaded again when the checkpoint has moved to another
    device. Safe to share between threads."""

    def __init__(self) -> None:
        self._kept: dict[str, LoadedCheckpoint] = {}
        self._lock = threading.Lock()

    def of(
        self,
        checkpoint: LoadedCheckpoint,
        runner: Callable[[Callable[[], LoadedCheckpoint]], LoadedCheckpoint] | None = None,
    ) -> LoadedCheckpoint:
        """The checkpoint's pretrained base, loaded when none fits: here, or through `runner(load)` (a job's
        runner puts it on the model thread)."""
        with self._lock:
            kept = self._kept.get(checkpoint.info.id)
        if kept is None or kept.device != checkpoint.device:
            kept = (
                runner(lambda: load_pretrained_baseline(checkpoint)) if runner else load_pretrained_baseline(checkpoint)
            )
            with self._lock:
                self._kept = {checkpoint.info.id: kept}
        return kept

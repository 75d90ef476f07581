"""How many inputs a pass puts through the model at once when the user leaves it open (`batch_size` None).

On a CPU the settings' own default (a batch larger than that buys nothing there). On CUDA the device does a batch of
hundreds of pairs in about the time of a few, and a pass of small batches leaves it waiting on the host: as many as
`GPU_MAX_BATCH` pairs, fewer where their attention would take more than `MEMORY_SHARE` of the device's free memory.
A pass holds two batches' attention at once (one observed while the next is forwarded, pipeline.py), each
[B, L, H, T, T] in the model's dtype, stacked once, and the float32 copies the statistics make: `BYTES_PER_WEIGHT`
per weight of one input, times the maps held per weight (a reference model's beside it, norm-based attention's
weights and norms). Only the attention passes take this batch; what must not depend on the device (an attack's
steps, a shard's cut, head importance's gradient passes) takes `given_batch`.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import torch
from pydantic import Field

from app.core.model.checkpoint import LoadedCheckpoint

GPU_MAX_BATCH = 512
MEMORY_SHARE = 0.25
# two batches alive, each ~16 bytes per weight in float16 (the output 2, stacked 2, three float32 copies 12), ~24
# in float32 (HEADSCOPE_CUDA_HALF unset): 32 covers both
BYTES_PER_WEIGHT = 32


def fitting_batch(layers: int, heads: int, length: int, free_bytes: int, maps: int = 1) -> int:
    """The largest batch (1..GPU_MAX_BATCH) whose attention of `length`-token inputs, of `maps` maps per weight, stays
    within MEMORY_SHARE of `free_bytes`."""
    per_input = maps * layers * heads * length * length * BYTES_PER_WEIGHT
    return max(1, min(GPU_MAX_BATCH, int(free_bytes * MEMORY_SHARE) // per_input))


def pass_batch_size(
    requested: int | None, checkpoint: LoadedCheckpoint, length: int, cpu_default: int, maps: int = 1
) -> int:
    """`requested` where the user gave one; else `cpu_default` on a CPU, and on CUDA the `fitting_batch` of the
    device's free memory for inputs of up to `length` tokens."""
    if requested is not None:
        return requested
    if checkpoint.device.type != "cuda":
        return cpu_default
    free, _total = torch.cuda.mem_get_info(checkpoint.device)
    # memory torch's caching allocator holds but no tensor uses is free to this pass too: without it a job after a
    # big batch would get a smaller batch than the same job on a fresh process
    free += torch.cuda.memory_reserved(checkpoint.device) - torch.cuda.memory_allocated(checkpoint.device)
    info = checkpoint.info
    return fitting_batch(info.num_layers, info.num_heads, length, free, maps)


class BatchSettings(Protocol):
    batch_size: int | None

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


Settings = TypeVar("Settings", bound=BatchSettings)


def with_batch_size(settings: Settings, size: int) -> Settings:
    """`settings` with `size` as their batch size (`pass_batch_size` for the passes, `given_batch` for what must not
    depend on the device): what a run hands on."""
    return settings if size == settings.batch_size else settings.model_copy(update={"batch_size": size})


def batch_size_of(settings: BatchSettings) -> int:
    """The batch size of settings a run has resolved (`with_batch_size`); an open one here is a bug of the caller."""
    if settings.batch_size is None:
        raise ValueError("batch_size left open: resolve it with with_batch_size before the passes run")
    return settings.batch_size


def given_batch(settings: BatchSettings, cpu_default: int) -> int:
    """The batch size as the user gave it, the CPU default when left open: for what must not depend on the device
    (an attack's steps, a shard's cut, the gradient passes of head importance)."""
    return settings.batch_size if settings.batch_size is not None else cpu_default


def batch_size_field(what: str, cpu_default: int) -> Any:
    """The `batch_size` setting of a run's settings model: open by default (this module resolves it), 1..512."""
    return Field(
        default=None,
        ge=1,
        le=GPU_MAX_BATCH,
        description=f"{what} per forward pass (default: {cpu_default} on a CPU; on CUDA up to {GPU_MAX_BATCH}, as "
        "many as a quarter of the free device memory holds)",
    )

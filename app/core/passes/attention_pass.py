"""One attention pass over a dataset: encode, pad, run in batches, hand each batch to probes.

Analyses, robustness suites, reports and attribution all stream units through a checkpoint and
look at what came out batch by batch. `attention_pass` does the streaming once: it encodes the
items of one batch, pads them, runs the checkpoint (and, when given, a reference model such as the
pretrained base on the same inputs) with attentions, and calls every probe's `observe` with a
`PassBatch`; no attention outlives the next batch. A probe keeps what it needs (running means,
top-k, per-example scores) and finishes into its own section of a result.

Threads. Each batch's model work — the forward passes, and encoding and every probe's `observe`
where they do not run on helper threads — is one call of `runner`; the web gives a runner that
executes it on the app's single model thread, so a live inspection waits for at most one batch.
The CLI runs it here (`run_here`). Where cores sit idle beside torch's threads (`helpers`), the
next batch is encoded, and the probes that only read a batch observe it, on helper threads beside
the forward (pipeline.py); probes that run the model (`runs_model`) stay in the runner's work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import torch

from app.core.inputs.batching import pad_batch
from app.core.inputs.encoding import EncodedInput
from app.core.model.attention import forward_with_attention
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.norm_attention import forward_with_norm_attention, row_normalised
from app.core.passes.pipeline import ProbeStage, idle_cores, observe_beside

Item = TypeVar("Item")
Work = TypeVar("Work")
Runner = Callable[[Callable[[], Any]], Any]  # runs one unit of model work and returns its result
Progress = Callable[[int, int, str], None]  # (done, total, phase)


def run_here(work: Callable[[], Work]) -> Work:
    """The runner that runs model work on the calling thread."""
    return work()


class Encoded(Protocol):
    """What a pass needs of an encoded unit: its tokenised input."""

    encoded: EncodedInput


class Stopwatch:
    """Seconds spent per named part, summed over calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, since: float) -> float:
        """Add the time since `since` to `name`; returns now (the next part's start)."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - since
        return now


@dataclass
class PassBatch(Generic[Item]):
    """One padded batch as the probes see it.

    indices: each unit's position in the pass's item list; units: the encoded units (padding rows
    excluded: items that could not be encoded are skipped); inputs: the padded model inputs;
    logits [B, C]; attention [B, L, H, T, T] (padded keys carry 0, padded query rows are junk: use
    `valid`); reference_attention: the reference model's on the same inputs, or None; valid [B, T]:
    the real tokens. `derived` memoises values several probes compute from the batch (see `shared`).
    """

    indices: list[int]
    units: Sequence[Item]
    inputs: dict[str, torch.Tensor]
    logits: torch.Tensor
    attention: torch.Tensor
    reference_attention: torch.Tensor | None
    valid: torch.Tensor
    derived: dict[str, Any] = field(default_factory=dict)
    # a pass with attention_kind="norm": `attention` (and reference_attention) hold norm-based attention, each
    # row divided by its sum; these the attention weights of the same forward
    weights: torch.Tensor | None = None
    reference_weights: torch.Tensor | None = None
    columns: Any = None  # the batch as columns (inputs.unit_batch.UnitBatch) when the pass had `encode_batch`

    @property
    def length(self) -> int:
        return int(self.attention.shape[-1])

    @property
    def device(self) -> torch.device:
        return self.attention.device

    def shared(self, name: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per batch, whichever probe asks first (e.g. the batch's statistics)."""
        if name not in self.derived:
            self.derived[name] = compute()
        return self.derived[name]


class BatchEncoder(Protocol):
    """Encodes a chunk of items as columns; `alone`: nothing else of the pass runs meanwhile (a chunk the forward
    waits for), so the encoder may spread over every core."""

    def __call__(self, items: Sequence[Any], *, alone: bool = False) -> EncodedBatch: ...


class EncodedBatch(Protocol):
    """A chunk of items encoded at once as columns (app.core.inputs.unit_batch.UnitBatch): `kept` the positions
    in the chunk of the items that could be encoded, `units` theirs (built when read), `columns` their tokens."""

    kept: list[int]

    @property
    def units(self) -> Sequence[Any]: ...

    @property
    def columns(self) -> Any: ...


class Probe(Protocol):
    """Observes every batch of a pass; `timing` names the part its observe time is added to. A probe that runs
    the model itself (forwards, hooks) says so with a class attribute `runs_model = True`: it then observes on
    the forward's thread (pipeline.observe_beside)."""

    timing: str

    def observe(self, batch: PassBatch) -> None: ...


@dataclass
class ReadyChunk:
    """A chunk of items ready for the forward: `kept` the positions in the chunk of the items that could be
    encoded, `units` theirs, `inputs` their padded model inputs on the checkpoint's device (None: none could be
    encoded), `columns` the chunk as columns when the pass encodes columns (`EncodedBatch`)."""

    kept: list[int]
    units: Sequence[Any]
    inputs: dict[str, torch.Tensor] | None
    columns: Any = None


@dataclass
class PassSummary:
    """What the pass itself counted: items seen, items skipped (could not be encoded)."""

    items: int
    skipped: int

    @property
    def observed(self) -> int:
        return self.items - self.skipped


def batch_bounds(
    items: Sequence[Item], batch_size: int, group: Callable[[Item], Hashable] | None = None
) -> list[tuple[int, int]]:
    """[start, stop) of each batch: `batch_size` items, or fewer so that no group of consecutive items with the
    same `group(item)` is split (a group longer than a batch gets a batch of its own)."""
    if group is None:
        return [(start, min(start + batch_size, len(items))) for start in range(0, len(items), batch_size)]
    runs, start = [], 0
    for i in range(1, len(items) + 1):
        if i == len(items) or group(items[i]) != group(items[start]):
            runs.append((start, i))
            start = i
    bounds: list[tuple[int, int]] = []
    for run_start, run_stop in runs:
        if bounds and run_stop - bounds[-1][0] <= batch_size:
            bounds[-1] = (bounds[-1][0], run_stop)
        else:
            bounds.append((run_start, run_stop))
    return bounds


def forward_pass(
    model: Any, inputs: dict[str, torch.Tensor], attention_kind: str = "weights"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(logits, the attention probes read, the weights when that attention is norm-based, else None)."""
    if attention_kind == "norm":
        logits, weights, norm = forward_with_norm_attention(model, inputs)
        return logits, row_normalised(norm), weights
    logits, attention = forward_with_attention(model, inputs)
    return logits, attention, None


def attention_pass(
    checkpoint: LoadedCheckpoint,
    items: Sequence[Item],
    encode: Callable[[Item], Encoded | None],
    probes: Sequence[Probe],
    *,
    reference: LoadedCheckpoint | None = None,
    batch_size: int = 16,
    runner: Runner = run_here,
    progress: Progress | None = None,
    phase: str = "pass",
    stopwatch: Stopwatch | None = None,
    group: Callable[[Item], Hashable] | None = None,
    offset: int = 0,
    helpers: int | None = None,
    attention_kind: str = "weights",
    encode_many: Callable[[Sequence[Item]], Sequence[Encoded | None]] | None = None,
    encode_batch: BatchEncoder | None = None,
) -> PassSummary:
    """Stream `items` through `checkpoint` in batches of `batch_size` and let every probe observe them.

    encode(item) -> an encoded unit (anything with `.encoded`), or None to skip the item. Encoding,
    the forward pass(es) and the probes' observe of one batch run as one call of `runner`.
    progress(done, total, phase) after every batch. Time goes to `stopwatch`: "forward" (the checkpoint's
    forward, and the encoding and padding where they run on this thread), "reference_forward", each probe's
    `timing`, and "encode_wait" (the pass waiting for a batch encoded on the helper: the first batch, and any the
    tokenizer is slower on). group: keep items with the same key in one batch (e.g. a source and its variants,
    which a probe compares). offset: the index of items[0] in the whole data (a shard's pass: `PassBatch.indices`
    count from there).
    helpers: the cores idle beside torch's threads that the pass may run helper threads on (pipeline.py; default
    `idle_cores` of the checkpoint's device; 0 for a shard, one of several workers sharing the cores): with
    one or more, the next batch is encoded on a helper while this one runs (a GPU pass, where tokenising on the
    CPU would otherwise leave the device waiting), outside `runner`; with two or more (or one, where the first
    batches' timings say it pays) the probes observe each batch on a helper while the next is forwarded.
    encode_many(items) -> `encode` of each, in one go (one tokenizer call for a batch); used when given.
    attention_kind: "weights", or "norm": probes read norm-based attention normalised per row, the weights
    beside it (`PassBatch.weights`), from the same forward.
    encode_batch(items, alone=) -> the items as columns (`EncodedBatch`); used before `encode_many` when given:
    the batch's inputs come from the columns, units are built only for probes that read them, and the probes
    find the columns in `PassBatch.columns`. A chunk nothing else of the pass runs beside is encoded `alone`: the
    first chunk of a pass that encodes ahead (the forward waits for it), every chunk of one that does not.
    """
    stopwatch = stopwatch or Stopwatch()
    pad_id = checkpoint.tokenizer.pad_token_id

    def encode_chunk(start: int, stop: int, alone: bool = False) -> ReadyChunk:
        """The chunk encoded and its model inputs padded: what a GPU data loader's worker does beside the forward."""
        chunk = items[start:stop]
        if encode_batch is not None:
            columns = encode_batch(chunk, alone=alone)
            inputs = columns.columns.model_inputs(pad_id, checkpoint.device) if columns.kept else None
            return ReadyChunk(list(columns.kept), columns.units, inputs, columns)
        units = encode_many(chunk) if encode_many is not None else [encode(item) for item in chunk]
        kept = [(i, unit) for i, unit in enumerate(units) if unit is not None]
        inputs = pad_batch([unit.encoded for _, unit in kept], pad_id, checkpoint.device) if kept else None
        return ReadyChunk([i for i, _ in kept], [unit for _, unit in kept], inputs)

    def one_batch(start: int, stop: int, ready: ReadyChunk | None = None) -> int:
        with torch.inference_mode():
            tick = started = time.perf_counter()
            # not encoded ahead: nothing else of the pass runs while this thread encodes
            ready = encode_chunk(start, stop, alone=True) if ready is None else ready
            if ready.inputs is None:
                return stop - start
            inputs = ready.inputs
            logits, attention, weights = forward_pass(checkpoint.model, inputs, attention_kind)
            tick = stopwatch.add("forward", tick)
            reference_attention = reference_weights = None
            if reference is not None:
                _, reference_attention, reference_weights = forward_pass(reference.model, inputs, attention_kind)
                tick = stopwatch.add("reference_forward", tick)
            indices = [offset + start + i for i in ready.kept]
            batch = PassBatch(
                indices, ready.units, inputs, logits, attention, reference_attention, inputs["attention_mask"].bool()
            )
            batch.columns = ready.columns
            batch.weights, batch.reference_weights = weights, reference_weights
            stage.take(batch, tick - started)
            return stop - start - len(ready.kept)

    def observe(batch: PassBatch) -> None:
        tick = time.perf_counter()
        for probe in probes:
            probe.observe(batch)
            tick = stopwatch.add(probe.timing, tick)

    skipped = 0
    bounds = batch_bounds(items, batch_size, group)
    helpers = idle_cores(checkpoint.device) if helpers is None else helpers
    stage = ProbeStage(observe, helpers, observe_beside(probes), checkpoint.device)
    prefetch = helpers > 0 and len(bounds) > 1
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="encode") if prefetch else nullcontext() as pool:
            # the first chunk is not timed for the probe stage's choice: encoded alone, it may take every core
            ahead = pool.submit(encode_chunk, *bounds[0], alone=True) if pool is not None else None
            for n, (start, stop) in enumerate(bounds):
                ready = None
                if ahead is not None:  # this batch, encoded and padded while the previous batch ran
                    assert pool is not None  # ahead is only set with a pool
                    waiting = time.perf_counter()
                    ready = ahead.result()
                    stopwatch.add("encode_wait", waiting)
                    following = partial(encode_chunk, *bounds[n + 1]) if n + 1 < len(bounds) else None
                    ahead = pool.submit(stage.timed_encoding, following) if following is not None else None
                skipped += runner(partial(one_batch, start, stop, ready))
                if progress is not None:
                    progress(stop, len(items), phase)
    except BaseException:
        stage.finish(failing=True)
        raise
    stage.finish()
    return PassSummary(len(items), skipped)

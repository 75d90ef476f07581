"""Score sources and their variants in one attention pass, and measure how far each head moved per pair.

Items are the sources followed by each source's variants. The probe keeps a source's query rows
until its variants have passed, and otherwise only the predictions and one [L, H] change per pair
and query set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import torch

from app.core.inputs.batching import pad_batch
from app.core.inputs.units import UnitSpec, encode_unit, gold_label
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import PassBatch, Progress, Runner, Stopwatch, attention_pass, run_here
from app.core.passes.knockout import knocked_logits, knockout_keep
from app.core.robustness.moved import QUERY_SETS, QueryRows, query_rows, rows_change
from app.core.robustness.variants import Variant


@dataclass(frozen=True)
class SuiteItem:
    """A source (variant None) or one of its variants, as the pass sees it."""

    source: int
    variant: int | None
    spec: UnitSpec


@dataclass
class Scores:
    """Predicted label index per source and per variant (None: could not be encoded), gold indices,
    and per variant and query set the [L, H] attention change from its source."""

    source_predictions: list[int | None]
    variant_predictions: list[int | None]
    source_gold: list[int | None]
    variant_gold: list[int | None]
    change: dict[str, dict[int, torch.Tensor]] = field(default_factory=dict)


def suite_items(sources: Sequence[UnitSpec], variants: Sequence[Variant]) -> list[SuiteItem]:
    """Each source, then its variants (in their order), source by source."""
    by_source: dict[int, list[int]] = {}
    for index, variant in enumerate(variants):
        by_source.setdefault(variant.source, []).append(index)
    items = []
    for i, spec in enumerate(sources):
        items.append(SuiteItem(i, None, spec))
        items.extend(SuiteItem(i, j, variants[j].spec) for j in by_source.get(i, []))
    return items


class ScoringProbe:
    """Predictions of every item; each variant's per-head change from its source.

    A source's query rows wait (QueryRows: a few rows, not its whole attention) until its last
    variant has been seen, so batches stay full whatever the number of variants per source.
    """

    timing = "scoring"

    def __init__(self, task: str, items: Sequence[SuiteItem], sources: int, variants: int) -> None:
        self.task, self.items = task, items
        self.sources: list[int | None] = [None] * sources
        self.variants: list[int | None] = [None] * variants
        self.change: dict[str, dict[int, torch.Tensor]] = {name: {} for name in QUERY_SETS}
        self.waiting: dict[int, tuple[QueryRows, int]] = {}  # source -> (its rows, variants still to come)
        self.expected = {i: 0 for i in range(sources)}
        for item in items:
            if item.variant is not None:
                self.expected[item.source] += 1

    def observe(self, batch: PassBatch) -> None:
        predicted = batch.logits.argmax(-1).tolist()
        for row, index in enumerate(batch.indices):
            item = self.items[index]
            unit = batch.units[row]
            n = len(unit.encoded.input_ids)
            if item.variant is None:
                self.sources[item.source] = predicted[row]
                if self.expected[item.source]:
                    rows = query_rows(batch.attention[row, :, :, :n, :n], unit.encoded, self.task)
                    self.waiting[item.source] = (rows, self.expected[item.source])
                continue
            self.variants[item.variant] = predicted[row]
            self._compare(
                item.source, item.variant, query_rows(batch.attention[row, :, :, :n, :n], unit.encoded, self.task)
            )

    def _compare(self, source: int, variant: int, rows: QueryRows) -> None:
        waiting = self.waiting.get(source)
        if waiting is None:  # the source could not be encoded
            return
        source_rows, left = waiting
        for name, value in rows_change(source_rows, rows).items():
            self.change[name][variant] = value
        if left > 1:
            self.waiting[source] = (source_rows, left - 1)
        else:
            del self.waiting[source]


def score_suite(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    variants: Sequence[Variant],
    *,
    max_length: int,
    batch_size: int = 16,
    runner: Runner = run_here,
    progress: Progress | None = None,
    stopwatch: Stopwatch | None = None,
    helpers: int | None = None,
) -> Scores:
    """Predictions for every source and variant, and the per-head change of every variant from its source.
    helpers: the idle cores the pass may use (default `idle_cores`; a shard among several workers: 0)."""
    items = suite_items(sources, variants)
    probe = ScoringProbe(checkpoint.info.task, items, len(sources), len(variants))
    attention_pass(
        checkpoint,
        items,
        lambda item: encode_unit(checkpoint, item.spec, None, max_length),
        [probe],
        batch_size=batch_size,
        runner=runner,
        progress=progress,
        phase="scoring",
        stopwatch=stopwatch,
        helpers=helpers,
    )
    return Scores(
        probe.sources,
        probe.variants,
        [gold_label(checkpoint, s) for s in sources],
        [gold_label(checkpoint, v.spec) for v in variants],
        probe.change,
    )


def masked_predictions(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    mask: torch.Tensor,
    *,
    max_length: int,
    batch_size: int = 16,
    runner: Runner = run_here,
) -> list[int | None]:
    """Predicted label indices with the heads `mask` [L, H] zeroes knocked out (0: removed, 1: kept; the knock-out
    map's implementation, app.core.passes.knockout); None where a spec cannot be encoded.

    The knock-out is installed inside each batch's work (on the runner's thread), so nothing else that
    runs on the model between batches sees it.
    """
    predictions: list[int | None] = [None] * len(specs)
    keep = knockout_keep(mask)
    pad_id = checkpoint.tokenizer.pad_token_id

    def one_batch(start: int) -> None:
        encoded = [
            (i, encode_unit(checkpoint, specs[i], None, max_length))
            for i in range(start, min(start + batch_size, len(specs)))
        ]
        units = [(i, u) for i, u in encoded if u is not None]
        if not units:
            return
        batch = pad_batch([u.encoded for _, u in units], pad_id, checkpoint.device)
        logits = knocked_logits(checkpoint, batch, keep)[0]
        for (i, _), label in zip(units, logits.argmax(-1).tolist()):
            predictions[i] = label

    for start in range(0, len(specs), batch_size):
        runner(partial(one_batch, start))
    return predictions

"""Score sources and their variants in one attention pass, and measure how far each head moved per pair.

Items are the sources followed by each source's variants; a source and its variants always share a
batch (attention_pass's `group`), so the probe compares their attention while it is in memory and
keeps only the predictions and one [L, H] change per pair and query set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from app.core.attention_pass import PassBatch, Progress, Runner, Stopwatch, attention_pass, run_here
from app.core.checkpoint import LoadedCheckpoint
from app.core.heads.importance import masked_logits
from app.core.heads.units import UnitSpec, encode_unit, gold_label
from app.core.inspection import pad_batch
from app.core.robustness.moved import QUERY_SETS, pair_change
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
    timing = "scoring"

    def __init__(self, task: str, items: Sequence[SuiteItem], sources: int, variants: int) -> None:
        self.task, self.items = task, items
        self.sources: list[int | None] = [None] * sources
        self.variants: list[int | None] = [None] * variants
        self.change: dict[str, dict[int, torch.Tensor]] = {name: {} for name in QUERY_SETS}

    def observe(self, batch: PassBatch) -> None:
        predicted = batch.logits.argmax(-1).tolist()
        rows = {}
        for row, index in enumerate(batch.indices):
            item = self.items[index]
            rows[(item.source, item.variant)] = row
            if item.variant is None:
                self.sources[item.source] = predicted[row]
            else:
                self.variants[item.variant] = predicted[row]
        for (source, variant), row in rows.items():
            origin = rows.get((source, None))
            if variant is None or origin is None:
                continue
            for name, value in self._pair(batch, origin, row).items():
                self.change[name][variant] = value

    def _pair(self, batch: PassBatch, origin: int, row: int) -> dict[str, torch.Tensor]:
        first, second = batch.units[origin].encoded, batch.units[row].encoded
        n, m = len(first.input_ids), len(second.input_ids)
        return pair_change(batch.attention[origin, :, :, :n, :n], batch.attention[row, :, :, :m, :m], first, second,
                           self.task)


def score_suite(checkpoint: LoadedCheckpoint, sources: Sequence[UnitSpec], variants: Sequence[Variant], *,
                max_length: int, batch_size: int = 16, runner: Runner = run_here, progress: Progress | None = None,
                stopwatch: Stopwatch | None = None) -> Scores:
    """Predictions for every source and variant, and the per-head change of every variant from its source."""
    items = suite_items(sources, variants)
    probe = ScoringProbe(checkpoint.info.task, items, len(sources), len(variants))
    attention_pass(checkpoint, items, lambda item: encode_unit(checkpoint, item.spec, None, max_length), [probe],
                   batch_size=batch_size, runner=runner, progress=progress, phase="scoring", stopwatch=stopwatch,
                   group=lambda item: item.source)
    return Scores(probe.sources, probe.variants, [gold_label(checkpoint, s) for s in sources],
                  [gold_label(checkpoint, v.spec) for v in variants], probe.change)


def masked_predictions(checkpoint: LoadedCheckpoint, specs: Sequence[UnitSpec], mask: torch.Tensor, *,
                       max_length: int, batch_size: int = 16, runner: Runner = run_here) -> list[int | None]:
    """Predicted label indices with heads gated by `mask` [L, H] (0: masked); None where a spec cannot be encoded.

    The mask is installed inside each batch's work (on the runner's thread), so nothing else that
    runs on the model between batches sees it.
    """
    predictions: list[int | None] = [None] * len(specs)
    pad_id = checkpoint.tokenizer.pad_token_id

    def one_batch(start: int) -> None:
        units = [(i, encode_unit(checkpoint, specs[i], None, max_length))
                 for i in range(start, min(start + batch_size, len(specs)))]
        units = [(i, u) for i, u in units if u is not None]
        if not units:
            return
        with torch.inference_mode():
            logits = masked_logits(checkpoint.model, pad_batch([u.encoded for _, u in units], pad_id,
                                                               checkpoint.device), mask.to(checkpoint.device))
        for (i, _), label in zip(units, logits.argmax(-1).tolist()):
            predictions[i] = label

    for start in range(0, len(specs), batch_size):
        runner(lambda start=start: one_batch(start))
    return predictions

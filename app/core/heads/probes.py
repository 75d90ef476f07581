"""The head analysis as probes over one attention pass (app.core.passes.attention_pass).

Each probe observes every padded batch and keeps only what its section of the result needs:

* StatisticsProbe: every head statistic per example (batched.py) for the bootstrap CIs, the
  no-op contrast (the [SEP] mass split by whether the aspect is present) and which opinion words
  the data supplied;
* RuleBaselinesProbe: the same statistics on the uniform and positional baseline maps (from the token masks,
  the maps never built: baselines.RuleMaps);
* PretrainedBaselineProbe: the same statistics on the reference (pretrained) model's attention;
* InterpretabilityProbe: Stevens & Su's rate, on the checkpoint's attention or the reference's;
* FinetuneChangeProbe: how far each head's rows moved from the pretrained model's (JS divergence);
* TypicalExamplesProbe: per statistic and head, the highest-scoring examples;
* HeadMapProbe: heads x heads Jensen-Shannon distances on the first examples.

Probes that need the same derived tensors (token masks, the batch's statistics) get them through
`PassBatch.shared`, so each is computed once per batch whatever the set of probes.

`merge(other)`: each probe takes in another probe of the same kind that observed the pairs after its
own (a later shard of the data, app/core/passes/sharding.py), leaving what one probe over both would hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch

from app.core.heads.baselines import RuleMaps
from app.core.heads.batched import batch_masks, batch_statistics, statistics_of
from app.core.heads.interpretability import InterpretabilityAccumulator, interpretability_words
from app.core.heads.token_masks import column_masks, interpretability_columns
from app.core.passes.attention_pass import PassBatch
from app.core.passes.inspection import to_host
from app.core.stats.streaming import (
    JensenShannonAccumulator,
    MeanAccumulator,
    NoOpContrast,
    StatisticAccumulator,
    Summary,
    TopExamples,
    head_js_distances,
    row_js_divergence,
)

NOOP = "noop_contrast"  # the no-op contrast's statistic name
SEP = "query_sep_mass"  # the per-example statistic the no-op contrast splits
FINETUNE = "finetune_js"  # the typical-examples name of the fine-tuned vs pretrained divergence


# --- what several probes derive from a batch (computed once per batch) --------------------------


def token_masks(batch: PassBatch, task: str) -> dict[str, torch.Tensor]:
    """name -> [B, T] token sets of the batch (batched.batch_masks), from its columns when it has them."""

    def compute() -> dict[str, torch.Tensor]:
        if batch.columns is not None:
            return column_masks(task, batch.columns, batch.device)
        return batch_masks(task, batch.units, batch.length, batch.device)

    return batch.shared("masks", compute)


def statistics(batch: PassBatch, task: str) -> dict[str, torch.Tensor]:
    """name -> [B, L, H]: every statistic of the checkpoint's attention."""
    return batch.shared("statistics", lambda: batch_statistics(task, batch.attention, token_masks(batch, task)))


def host_statistics(batch: PassBatch, task: str) -> dict[str, torch.Tensor]:
    """`statistics` on the host for the accumulators: computed on the attention's device, and from CUDA
    brought back in one copy through pinned memory (only per-head results leave the device)."""

    def compute() -> dict[str, torch.Tensor]:
        scores = statistics(batch, task)
        if batch.device.type != "cuda" or not scores:
            return scores
        names = list(scores)
        host = to_host(torch.stack([scores[name].float() for name in names]))
        return dict(zip(names, host.unbind(0)))

    return batch.shared("statistics_host", compute)


def finetune_divergence(batch: PassBatch, task: str) -> torch.Tensor:
    """[B, L, H]: mean JS divergence of each head's rows from the reference model's."""
    return batch.shared(
        "finetune_js",
        lambda: row_js_divergence(batch.attention, reference_attention(batch), token_masks(batch, task)["valid"]),
    )


def reference_attention(batch: PassBatch) -> torch.Tensor:
    """The reference model's attention of a batch, for the probes that compare with it: they run only in a
    pass with a reference model (with_pretrained), where every batch has it."""
    assert batch.reference_attention is not None, "a reference probe in a pass without a reference model"
    return batch.reference_attention


def presence_rows(batch: PassBatch, task: str) -> dict[bool, list[int]]:
    """Rows whose aspect is present (True) / absent (False); rows the data cannot tell are in neither."""
    if task != "absa":
        return {True: [], False: []}
    specs = batch.columns.specs if batch.columns is not None else [unit.spec for unit in batch.units]
    present = [spec.present for spec in specs]
    return {flag: [row for row, p in enumerate(present) if p is flag] for flag in (True, False)}


def opinion_sources(batch: PassBatch) -> list[str]:
    """Where each unit's opinion words came from ("gold" / "lexicon"), for the units that have some."""
    if batch.columns is not None:
        has = batch.columns.masks["opinion"].any(-1) if "opinion" in batch.columns.masks else ()
        return [source for source, found in zip(batch.columns.opinion_source, has) if source and found]
    return [unit.opinion_source for unit in batch.units if unit.opinion_source and unit.opinion]


class StatisticMeans:
    """Mean of every statistic over examples, and of the [SEP] mass split by aspect presence."""

    def __init__(self) -> None:
        self.means = MeanAccumulator()
        self.sep = {True: MeanAccumulator(), False: MeanAccumulator()}

    def add(self, scores: dict[str, torch.Tensor], rows: dict[bool, list[int]]) -> None:
        self.means.add_all(scores)
        for flag, chosen in rows.items():
            if chosen:
                self.sep[flag].add_batch("sep", scores[SEP][chosen])

    def merge(self, other: StatisticMeans) -> None:
        self.means.merge(other.means)
        for flag, means in other.sep.items():
            self.sep[flag].merge(means)

    def mean(self, name: str) -> torch.Tensor | None:
        """The mean of a statistic; for NOOP, absent minus present [SEP] mass (None without both)."""
        if name != NOOP:
            return self.means.mean(name)
        absent, present = self.sep[False].mean("sep"), self.sep[True].mean("sep")
        return None if absent is None or present is None else absent - present


# --- the probes ----------------------------------------------------------------------------------


class StatisticsProbe:
    timing = "statistics_pass"

    def __init__(self, task: str) -> None:
        self.task = task
        self.scores = StatisticAccumulator()
        self.noop = NoOpContrast()
        self.opinion_sources: dict[str, int] = {}

    def observe(self, batch: PassBatch) -> None:
        scores = host_statistics(batch, self.task)
        self.scores.add_all(scores)
        rows = presence_rows(batch, self.task)
        known = sorted(rows[True] + rows[False])
        if known:
            self.noop.add(scores[SEP][known], torch.tensor([r in rows[True] for r in known]))
        for source in opinion_sources(batch):
            self.opinion_sources[source] = self.opinion_sources.get(source, 0) + 1

    def merge(self, other: StatisticsProbe) -> None:
        self.scores.merge(other.scores)
        self.noop.merge(other.noop)
        for source, count in other.opinion_sources.items():
            self.opinion_sources[source] = self.opinion_sources.get(source, 0) + count

    def summaries(self, bootstrap: int, seed: int) -> dict[str, Summary]:
        """name -> mean, 95% bootstrap CI and count; the no-op contrast when both groups exist."""
        found = {name: self.scores.summary(name, bootstrap, seed) for name in self.scores.names}
        absent, present = self.noop.counts
        if absent and present:
            found[NOOP] = self.noop.summary(bootstrap, seed)
        return found


def rule_maps(batch: PassBatch, task: str) -> RuleMaps:
    """The uniform map then the positional rules (POSITIONAL_BASELINES order) of every example, as rows and
    pointers from its token masks (baselines.RuleMaps: the [B, 1 + P, T, T] maps are never built)."""

    def compute() -> RuleMaps:
        masks = token_masks(batch, task)
        return RuleMaps(masks["valid"], masks["cls"], masks["sep"])

    return batch.shared("rule_maps", compute)


class RuleBaselinesProbe:
    """The statistics of attention maps that follow a fixed rule (uniform, positional) on each input."""

    timing = "baselines"

    def __init__(self, task: str) -> None:
        self.task = task
        self.rules = StatisticMeans()

    def observe(self, batch: PassBatch) -> None:
        scores = statistics_of(self.task, rule_maps(batch, self.task), token_masks(batch, self.task))
        self.rules.add({name: value[:, 0] for name, value in scores.items()}, presence_rows(batch, self.task))

    def merge(self, other: RuleBaselinesProbe) -> None:
        self.rules.merge(other.rules)


class PretrainedBaselineProbe:
    """The statistics of the reference (pretrained) model's attention on the same inputs."""

    timing = "pretrained_pass"

    def __init__(self, task: str) -> None:
        self.task = task
        self.pretrained = StatisticMeans()

    def observe(self, batch: PassBatch) -> None:
        scores = batch_statistics(self.task, reference_attention(batch), token_masks(batch, self.task))
        self.pretrained.add(scores, presence_rows(batch, self.task))

    def merge(self, other: PretrainedBaselineProbe) -> None:
        self.pretrained.merge(other.pretrained)


class Means(Protocol):
    """What baseline_table reads of its baselines: the mean of a statistic, None when it has none."""

    def mean(self, name: str) -> torch.Tensor | None: ...


def baseline_table(names: Sequence[str], rules: Means, pretrained: Means | None) -> dict[str, dict[str, Any]]:
    """statistic -> {uniform: float, positional: [P], pretrained: [L, H] (when run)}."""
    table: dict[str, dict[str, Any]] = {}
    for name in names:
        rule_means = rules.mean(name)
        # the rule baselines are scored on every batch and statistic the named ones come from
        assert rule_means is not None, f"no rule baseline for {name}"
        entry: dict[str, Any] = {"uniform": float(rule_means[0]), "positional": rule_means[1:]}
        reference = pretrained.mean(name) if pretrained is not None else None
        if reference is not None:
            entry["pretrained"] = reference
        table[name] = entry
    return table


class InterpretabilityProbe:
    """Stevens & Su's interpretability rate on the checkpoint's attention, or (reference=True) the reference's."""

    def __init__(self, task: str, reference: bool = False) -> None:
        self.spans = ("e1", "e2") if task == "re" else ("aspect_term",)
        self.reference = reference
        self.timing = "pretrained_pass" if reference else "statistics_pass"
        self.rate = InterpretabilityAccumulator()

    def observe(self, batch: PassBatch) -> None:
        attention = reference_attention(batch) if self.reference else batch.attention
        if batch.columns is not None:
            columns = batch.shared(
                "interpretability_columns", lambda: interpretability_columns(batch.columns, self.spans)
            )
            self.rate.add_columns(attention, *columns)
            return
        words = batch.shared(
            "interpretability_words", lambda: [interpretability_words(u.encoded, self.spans) for u in batch.units]
        )
        word_ids, gold_words, excluded_words = zip(*words)
        self.rate.add_batch(attention, word_ids, gold_words, excluded_words)

    def merge(self, other: InterpretabilityProbe) -> None:
        self.rate.merge(other.rate)


class FinetuneChangeProbe:
    timing = "finetune_js"

    def __init__(self, task: str) -> None:
        self.task = task
        self.change = StatisticAccumulator()

    def observe(self, batch: PassBatch) -> None:
        self.change.add("js", finetune_divergence(batch, self.task))

    def merge(self, other: FinetuneChangeProbe) -> None:
        self.change.merge(other.change)

    def summary(self, bootstrap: int, seed: int) -> Summary | None:
        return self.change.summary("js", bootstrap, seed) if self.change.count("js") else None


class TypicalExamplesProbe:
    """Per statistic (and the fine-tune change, with a reference model) and head, the top-k examples."""

    timing = "typical"

    def __init__(self, task: str, k: int, finetune: bool) -> None:
        self.task, self.finetune = task, finetune
        self.top = TopExamples(k)

    def observe(self, batch: PassBatch) -> None:
        self.top.add_all(host_statistics(batch, self.task), batch.indices)
        if self.finetune:
            self.top.add(FINETUNE, finetune_divergence(batch, self.task), batch.indices)

    def merge(self, other: TypicalExamplesProbe) -> None:
        """Also merges the agreement's typical examples, which share this probe's `top`."""
        self.top.merge(other.top)

    def head(self, name: str, layer: int, head: int) -> list[tuple[int, float]]:
        return self.top.head(SEP if name == NOOP else name, layer, head)

    def referenced(self) -> set[int]:
        """Every example index some head keeps as typical."""
        return {i for index in self.top.index.values() for i in index.flatten().tolist()}


class HeadMapProbe:
    """Heads x heads Jensen-Shannon distances, averaged over the first `sample` examples.

    kept: None, or (a shard's probe) each example's distances too, so that merging shards averages
    over the first `sample` examples of the whole data, not of each shard.
    """

    timing = "head_map"

    def __init__(self, sample: int, keep: bool = False) -> None:
        self.sample = sample
        self.distances = JensenShannonAccumulator()
        self.kept: list[torch.Tensor] | None = [] if keep else None

    def observe(self, batch: PassBatch) -> None:
        room = self.sample - self.distances.count
        lengths = batch.valid[: max(0, room)].sum(-1).tolist()
        for row, n in enumerate(lengths):
            self._add(head_js_distances(batch.attention[row, :, :, :n, :n].float()))

    def merge(self, other: HeadMapProbe) -> None:
        if other.kept is None:
            raise ValueError("only a shard's head map (HeadMapProbe(sample, keep=True)) can be merged")
        for distances in other.kept[: max(0, self.sample - self.distances.count)]:
            self._add(distances)

    def _add(self, distances: torch.Tensor) -> None:
        self.distances.add_distances(distances)
        if self.kept is not None:
            self.kept.append(distances)

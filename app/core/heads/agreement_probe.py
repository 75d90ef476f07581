"""Agreement with attribution over a dataset: a probe of the analysis's attention pass.

Per pair, with q = the tokens the classifier reads (tokens.py "readout": [CLS], or the entity-start
markers), every head's attention row from q is compared with

* rollout_agreement: the attention rollout from q (graph.py), always (no extra forward pass);
* ig_agreement: |integrated gradients| of the predicted label's logit (gradients.py), with `ig`
  on, for the first `ig_limit` pairs: `ig_steps` interpolated rows per pair, forward and backward,

as the Spearman rank correlation over the pair's content tokens (agreement.py), a [L, H] score per
pair that the analysis summarises with bootstrap CIs like its other statistics. Baselines, on the
same pairs and the same attribution: the uniform map and Clark et al.'s positional maps (their row
from q), and the pretrained model's same head. With IG, the interpretability rate is also computed
with |IG| in place of the last layer's [CLS] attention (interpretability.py, same top-3 rule).

Timing: the rollout agreement runs as part of the statistics pass ("statistics_pass"); IG is timed
on its own ("ig") so the result can report IG pairs/s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from app.core.attribution import (
    content_mask,
    entity_start_ids,
    head_rows,
    integrated_gradients,
    query_tokens,
    query_weights,
    rollout_rows,
    spearman,
)
from app.core.heads.interpretability import InterpretabilityAccumulator, interpretability_words
from app.core.heads.probes import StatisticMeans, baseline_table, rule_maps
from app.core.heads.token_masks import readout_weights
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import PassBatch
from app.core.stats.streaming import StatisticAccumulator, Summary, TopExamples

ROLLOUT = "rollout_agreement"
IG = "ig_agreement"
STATISTICS = (ROLLOUT, IG)


@dataclass
class BatchTokens:
    """A batch's content tokens [B, T], readout query weights [B, T] and every head's row from them [B, L, H, T]."""

    content: torch.Tensor
    weights: torch.Tensor
    rows: torch.Tensor


class AgreementProbe:
    """Rollout agreement of every head on every pair; keeps the scores and baselines of IGProbe's too."""

    timing = "statistics_pass"

    def __init__(self, checkpoint: LoadedCheckpoint, typical: TopExamples | None = None) -> None:
        self.checkpoint: LoadedCheckpoint | None = checkpoint  # None once a shard sends the probe back
        self.task = checkpoint.info.task
        self.start_ids = entity_start_ids(checkpoint.info, checkpoint.tokenizer)
        self.typical = typical
        self.scores = StatisticAccumulator()
        self.rules, self.pretrained = StatisticMeans(), StatisticMeans()
        self.ig: IGProbe | None = None  # set by IGProbe

    def tokens(self, batch: PassBatch) -> BatchTokens:
        def compute() -> BatchTokens:
            if batch.columns is not None:
                content = torch.from_numpy(batch.columns.columns.content).to(batch.device)
                weights = readout_weights(batch.columns, self.start_ids, batch.device)
                return BatchTokens(content, weights, head_rows(batch.attention, weights))
            length = batch.length
            content = torch.stack([content_mask(u.encoded, length) for u in batch.units]).to(batch.device)
            weights = torch.stack(
                [
                    query_weights(query_tokens(u.encoded, "readout", self.task, self.start_ids), length)
                    for u in batch.units
                ]
            ).to(batch.device)
            return BatchTokens(content, weights, head_rows(batch.attention, weights))

        return batch.shared("agreement_tokens", compute)

    def observe(self, batch: PassBatch) -> None:
        tokens = self.tokens(batch)
        self.add(ROLLOUT, batch, tokens, rollout_rows(batch.attention, tokens.weights))

    def add(
        self, name: str, batch: PassBatch, tokens: BatchTokens, scores: torch.Tensor, chosen: list[int] | None = None
    ) -> None:
        """Score the heads, the rule baselines and the reference model's heads against `scores` [B', T].

        All of them are one stack of rows [B', L * H + 1 + P (+ L * H), T] ranked and correlated in one
        `spearman` call: the target is ranked once per batch, and each row's value is the one it has alone."""
        pick = slice(None) if chosen is None else chosen
        heads = tokens.rows[pick]  # [B', L, H, T]
        layers, width = heads.shape[1:3]
        rule_rows = batch.shared("agreement_rule_rows", lambda: rule_maps(batch, self.task).query_rows(tokens.weights))[
            pick
        ]  # [B', 1 + P, T]
        stacked = [heads.flatten(1, 2), rule_rows]
        if batch.reference_attention is not None:
            stacked.append(head_rows(batch.reference_attention[pick], tokens.weights[pick]).flatten(1, 2))
        every = spearman(torch.cat(stacked, 1), scores[:, None, :], tokens.content[pick][:, None, :])
        value = every[:, : layers * width].unflatten(1, (layers, width))  # [B', L, H]
        self.scores.add(name, value)
        if self.typical is not None:
            self.typical.add(name, value, batch.indices if chosen is None else [batch.indices[i] for i in chosen])
        rules = every[:, layers * width : layers * width + rule_rows.shape[1]]
        self.rules.add({name: rules[:, None, :]}, {})  # one "layer" whose heads are the rules
        if batch.reference_attention is not None:
            reference = every[:, layers * width + rule_rows.shape[1] :].unflatten(1, (layers, width))
            self.pretrained.add({name: reference}, {})

    def summaries(self, bootstrap: int, seed: int) -> dict[str, Summary]:
        return {name: self.scores.summary(name, bootstrap, seed) for name in self.scores.names}

    def merge(self, other: AgreementProbe) -> None:
        """A later shard's agreement (its typical examples are merged with the analysis's typical probe)."""
        self.scores.merge(other.scores)
        self.rules.merge(other.rules)
        self.pretrained.merge(other.pretrained)

    def baselines(self) -> dict[str, dict[str, Any]]:
        """statistic -> {uniform, positional [P], pretrained [L, H]} in probes.baseline_table's shape."""
        pretrained = self.pretrained if self.pretrained.means.total else None
        return baseline_table(self.scores.names, _Flattened(self.rules), pretrained)


class IGProbe:
    """IG agreement on the first `limit` pairs (None: all), scored through the agreement probe."""

    timing = "ig"
    runs_model = True  # its IG forwards hook the embeddings: on the forward's thread (passes/pipeline.py)

    def __init__(self, agreement: AgreementProbe, steps: int, limit: int | None = None) -> None:
        self.agreement, self.steps, self.limit = agreement, steps, limit
        agreement.ig = self
        self.record = IGRecord(agreement.task)

    def observe(self, batch: PassBatch) -> None:
        room = len(batch.units) if self.limit is None else max(0, self.limit - self.record.examples)
        chosen = list(range(min(room, len(batch.units))))
        if not chosen:
            return
        started = time.perf_counter()
        tokens = self.agreement.tokens(batch)
        checkpoint = self.agreement.checkpoint
        assert checkpoint is not None, "IG on a probe sent back by its shard"  # shards clear it after their pass
        magnitude = self.record.observe(checkpoint, batch, chosen, ~tokens.content[chosen], self.steps)
        self.agreement.add(IG, batch, tokens, magnitude, chosen)
        self.record.seconds += time.perf_counter() - started

    def merge(self, other: IGProbe) -> None:
        self.record.merge(other.record)


class _Flattened:
    """The rule means kept as [1, 1 + P] (one layer of rule "heads") read as probes.baseline_table wants: [1 + P]."""

    def __init__(self, means: StatisticMeans) -> None:
        self.means = means

    def mean(self, name: str) -> torch.Tensor | None:
        value = self.means.mean(name)
        return None if value is None else value[0]


class IGRecord:
    """What IG leaves besides the agreement: completeness gaps, its time, the IG interpretability rate."""

    def __init__(self, task: str) -> None:
        self.spans = ("e1", "e2") if task == "re" else ("aspect_term",)
        self.examples = 0
        self.seconds = 0.0
        self.relative_gaps: list[torch.Tensor] = []
        self.absolute_gaps: list[torch.Tensor] = []
        self.rate = InterpretabilityAccumulator()

    def observe(
        self, checkpoint: LoadedCheckpoint, batch: PassBatch, chosen: list[int], keep: torch.Tensor, steps: int
    ) -> torch.Tensor:
        """|IG| [B', T] of the predicted label's logit for the chosen rows; records gaps and the IG rate."""
        inputs = {name: value[chosen] for name, value in batch.inputs.items()}
        targets = batch.logits[chosen].argmax(-1)
        found = integrated_gradients(checkpoint.model, inputs, keep, targets, checkpoint.tokenizer.pad_token_id, steps)
        gaps = found.completeness
        self.absolute_gaps.append(gaps.gap.abs())
        self.relative_gaps.append(gaps.gap.abs() / gaps.output_difference.abs().clamp_min(1e-12))
        self.examples += len(chosen)
        magnitude = found.scores.abs().to(batch.device)
        self._add_rate(batch, chosen, magnitude)
        return magnitude

    def merge(self, other: IGRecord) -> None:
        self.examples += other.examples
        self.seconds += other.seconds
        self.relative_gaps += other.relative_gaps
        self.absolute_gaps += other.absolute_gaps
        self.rate.merge(other.rate)

    def _add_rate(self, batch: PassBatch, chosen: list[int], magnitude: torch.Tensor) -> None:
        """Stevens & Su's top-3 rate with |IG| standing in for the last layer's [CLS] row (one "head")."""
        length = magnitude.shape[-1]
        as_attention = torch.zeros(len(chosen), 1, 1, length, length)
        as_attention[:, 0, 0, 0, :] = magnitude.float().cpu()
        words = [interpretability_words(batch.units[i].encoded, self.spans) for i in chosen]
        word_ids, gold_words, excluded_words = zip(*words)
        self.rate.add_batch(as_attention, word_ids, gold_words, excluded_words)

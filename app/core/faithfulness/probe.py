"""Faithfulness over a dataset: a probe of the one attention pass (app.core.passes.attention_pass).

For each of the first `limit` pairs the pass hands it (the erasures cost ~10 rows per source and
pair, so a limit is part of the setting), the probe reads the pair's attention from the batch,
ranks its erasable tokens by every source (sources.py) from the readout query, and scores the
rankings by erasure exactly as for one live input (evaluate.py: deduplicated batched forwards on the
model's device). The explained label is the one the model predicts for the pair. Kept per pair:
the AOPC of comprehensiveness and sufficiency and their normalised forms, [L, H] for the per-head
sources and one number for the others; dataset.py turns them into means with bootstrap CIs.

Attention flow runs on the first `flow_limit` scored pairs of at most FLOW_MAX_TOKENS tokens (settings.py says
why it has its own bound); on the other pairs its figures are NaN, so its summary and its paired differences
(paired.py) cover the pairs it was computed on, and say how many.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from app.core.attribution import FLOW_MAX_TOKENS, content_mask, entity_start_ids, query_tokens
from app.core.faithfulness import metrics
from app.core.faithfulness.erasure import erasable_mask, replacement_id
from app.core.faithfulness.evaluate import occlusion_scores, per_k_scores
from app.core.faithfulness.forwards import ErasedProbabilities
from app.core.faithfulness.settings import DATASET_METHODS, DEFAULT_FLOW_LIMIT
from app.core.faithfulness.sources import PER_HEAD, source_scores
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import PassBatch

PLAUSIBLE_K = 3  # the interpretability rate's top-k (app.core.heads.interpretability)
FIGURES = ("aopc_comprehensiveness", "aopc_sufficiency", "normalised_comprehensiveness", "normalised_sufficiency")


@dataclass
class PairFigures:
    """Per figure (FIGURES) and source: [N] or [N, L, H] once stacked."""

    values: dict[str, dict[str, list[torch.Tensor]]] = field(default_factory=dict)
    indices: list[int] = field(default_factory=list)

    def add(self, index: int, found: dict[str, dict[str, torch.Tensor]]) -> None:
        self.indices.append(index)
        for figure, by_source in found.items():
            for source, value in by_source.items():
                self.values.setdefault(figure, {}).setdefault(source, []).append(value)

    def stacked(self, figure: str, source: str) -> torch.Tensor:
        return torch.stack(self.values[figure][source])


class FaithfulnessProbe:
    """Comprehensiveness and sufficiency of every source on the first `limit` pairs of the pass."""

    timing = "faithfulness"
    runs_model = True  # erasure, gradient and norm forwards with hooks: on the forward's thread (passes/pipeline.py)

    def __init__(
        self,
        checkpoint: LoadedCheckpoint,
        limit: int,
        methods: Sequence[str] = DATASET_METHODS,
        k_percents: Sequence[float] = metrics.K_PERCENTS,
        erasure: str = "remove",
        erase_targets: bool = False,
        ig_steps: int = 16,
        random_draws: int = 4,
        seed: int = 0,
        flow_limit: int = DEFAULT_FLOW_LIMIT,
    ) -> None:
        self.checkpoint, self.limit = checkpoint, limit
        self.methods = tuple(m for m in methods if m != "flow" or flow_limit > 0)
        self.k_percents, self.erasure, self.erase_targets = tuple(k_percents), erasure, erase_targets
        self.ig_steps, self.random_draws, self.seed = ig_steps, random_draws, seed
        self.flow_limit, self.flow_pairs = flow_limit, 0
        self.replacement = replacement_id(checkpoint.tokenizer, erasure)
        self.start_ids = entity_start_ids(checkpoint.info, checkpoint.tokenizer)
        self.figures = PairFigures()
        self.plausible: list[torch.Tensor] = []  # per pair with gold opinion tokens: [L, H] top-3 hits
        self.skipped = 0  # pairs with no erasable token
        self.seconds = 0.0
        self.source_seconds: dict[str, float] = {}  # per method, over every pair it ran on

    def observe(self, batch: PassBatch) -> None:
        started = time.perf_counter()
        for row, (index, unit) in enumerate(zip(batch.indices, batch.units)):
            if len(self.figures.indices) + self.skipped >= self.limit:
                break
            found = self.one_pair(index, unit.encoded, batch, row, getattr(unit, "opinion", None) or [])
            if found is None:
                self.skipped += 1
            else:
                self.figures.add(index, found)
        self.seconds += time.perf_counter() - started

    def one_pair(
        self, index: int, encoded, batch: PassBatch, row: int, opinion: Sequence[int] = ()
    ) -> dict[str, dict[str, torch.Tensor]] | None:
        loaded, info = self.checkpoint, self.checkpoint.info
        erasable = erasable_mask(encoded, info.task, info.format, self.erase_targets)
        if not bool(erasable.any()):
            return None
        n = len(encoded.input_ids)
        weights = batch.weights if batch.weights is not None else batch.attention  # the weights, not a norm pass's
        attention = weights[row, :, :, :n, :n].float()
        target = int(batch.logits[row].argmax())
        inputs = encoded.model_inputs(loaded.device)
        query = query_tokens(encoded, "readout", info.task, self.start_ids)
        with_flow = "flow" in self.methods and self.flow_pairs < self.flow_limit and n <= FLOW_MAX_TOKENS
        methods = self.methods if with_flow else tuple(m for m in self.methods if m != "flow")
        found = source_scores(
            loaded,
            inputs,
            attention,
            query,
            ~content_mask(encoded),
            target,
            methods,
            self.ig_steps,
            self.random_draws,
            self.seed + index,
        )
        self.flow_pairs += with_flow
        for method, ms in found.timings_ms.items():
            self.source_seconds[method] = self.source_seconds.get(method, 0.0) + ms / 1000
        if opinion and "attention" in self.methods:
            self.plausible.append(self._opinion_hits(found.names, found.scores, content_mask(encoded), opinion))
        probability = ErasedProbabilities(loaded, inputs, target, self.replacement)
        full = float(probability(torch.zeros(1, n, dtype=torch.bool))[0])
        counts = metrics.token_counts(self.k_percents, int(erasable.sum()))
        per_k = per_k_scores(found.scores, erasable, counts, probability, full)
        occlusion = occlusion_scores(erasable, probability, full)
        reference = per_k_scores(torch.stack([occlusion, -occlusion]), erasable, counts, probability, full)
        aopcs = {name: metrics.aopc(values) for name, values in per_k.items()}
        limits = metrics.bounds({name: torch.cat([aopcs[name], metrics.aopc(reference[name])]) for name in aopcs})
        scaled = metrics.normalised(aopcs, limits)
        figures = self._by_source(found.names, aopcs, scaled, info.num_layers, info.num_heads)
        if "flow" in self.methods and not with_flow:
            for by_source in figures.values():
                by_source["flow"] = torch.tensor(float("nan"))  # not computed on this pair
        return figures

    def _opinion_hits(
        self, names: list[str], scores: torch.Tensor, content: torch.Tensor, opinion: Sequence[int]
    ) -> torch.Tensor:
        """[L, H]: 1 where the head's PLAUSIBLE_K most attended content tokens hold a gold opinion token (Stevens &
        Su's interpretability rule, per head instead of the last layer's mean)."""
        rows = [i for i, name in enumerate(names) if name.startswith("attention:")]
        ranked = scores[rows].masked_fill(~content, float("-inf"))
        top = ranked.topk(min(PLAUSIBLE_K, int(content.sum())), dim=-1).indices
        hits = torch.isin(top, torch.tensor(list(opinion))).any(-1).float()
        info = self.checkpoint.info
        return hits.view(info.num_layers, info.num_heads)

    @staticmethod
    def _by_source(
        names: list[str], aopcs: dict[str, torch.Tensor], scaled: dict[str, torch.Tensor], layers: int, heads: int
    ) -> dict[str, dict[str, torch.Tensor]]:
        """figure -> source -> value ([L, H] for a per-head source, a scalar otherwise; random: its draws' mean)."""
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            key = name.split(":")[0] if ":" in name else name.split(".")[0]
            groups.setdefault(key, []).append(i)
        out: dict[str, dict[str, torch.Tensor]] = {}
        for metric in metrics.METRICS:
            for prefix, values in (("aopc", aopcs[metric]), ("normalised", scaled[metric])):
                figure = out.setdefault(f"{prefix}_{metric}", {})
                for source, rows in groups.items():
                    picked = values[rows].float()
                    figure[source] = picked.view(layers, heads) if source in PER_HEAD else picked.mean()
        return out

    def merge(self, other: FaithfulnessProbe) -> None:
        """A later shard's pairs, in data order."""
        for index, position in zip(other.figures.indices, range(len(other.figures.indices))):
            found = {
                figure: {source: values[position] for source, values in by_source.items()}
                for figure, by_source in other.figures.values.items()
            }
            self.figures.add(index, found)
        self.skipped += other.skipped
        self.plausible += other.plausible
        self.seconds += other.seconds
        self.flow_pairs += other.flow_pairs
        for method, seconds in other.source_seconds.items():
            self.source_seconds[method] = self.source_seconds.get(method, 0.0) + seconds

"""Faithfulness of every explanation source for one live input (app.core.passes.inspection's Inspection).

The explained label is the one the attribution explains by default: the predicted label, or for a
QA-B / NLI-B checkpoint the "yes" of the shown polarity's auxiliary sentence. For every source
(sources.py) and k (metrics.py) the input is erased twice (the top-ranked tokens; all erasable
tokens but them), and all erased rows of all sources run as deduplicated batched forwards on the
model's device (forwards.py). Then the leave-one-out ranking and its reverse bound the normalised
AOPC (a second, small round of forwards).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.attribution import IG_DEFAULT_STEPS, content_mask, entity_start_ids, query_tokens
from app.core.faithfulness import metrics
from app.core.faithfulness.erasure import DEFAULT_ERASURE, erasable_mask, replacement_id
from app.core.faithfulness.forwards import ErasedProbabilities
from app.core.faithfulness.sources import DEFAULT_RANDOM_DRAWS, METHODS, REFERENCE, check_methods, source_scores
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.passes.inspection import Inspection
from app.core.stats.rounding import to_json

B_FORMATS = ("qa-b", "nli-b")


@dataclass(frozen=True)
class FaithfulnessRequest:
    methods: tuple[str, ...] = METHODS
    k_percents: tuple[float, ...] = metrics.K_PERCENTS
    erasure: str = DEFAULT_ERASURE
    erase_targets: bool = False
    query: str = "readout"
    ig_steps: int = IG_DEFAULT_STEPS
    random_draws: int = DEFAULT_RANDOM_DRAWS
    seed: int = 0


@dataclass
class SourceResult:
    """One ranking's figures: per k, and their AOPC and normalised AOPC."""

    comprehensiveness: list[float]
    sufficiency: list[float]
    aopc: dict[str, float]
    normalised: dict[str, float]


@dataclass
class FaithfulnessReport:
    label: str
    probability: float  # p(label | whole input)
    erasure: str
    erase_targets: bool
    query: str
    query_tokens: list[int]
    erasable: list[int]
    k_percents: list[float]
    k_tokens: list[int]
    sources: dict[str, SourceResult]  # head_mean, rollout, ..., random (mean of its draws), occlusion
    heads: dict[
        str, dict[str, list[list[float]]]
    ]  # "attention" / "norm_attention" -> "aopc_comprehensiveness", ... -> [L][H]
    bounds: dict[str, tuple[float, float]]
    rows: dict[str, int]  # erased rows asked for and rows run (distinct)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def check_request(request: FaithfulnessRequest, length: int) -> None:
    bad = [k for k in request.k_percents if not 0 < k <= 100]
    if bad or not request.k_percents:
        raise InputError(
            f"k must be percentages of the erasable tokens in (0, 100]; got {list(request.k_percents)}",
            field="k",
        )
    check_methods(request.methods, length)


def explained_label(loaded: LoadedCheckpoint, inspection: Inspection) -> tuple[str, int]:
    """The label whose probability the erasures move, and its index in the model's output."""
    info = loaded.info
    labels = list(info.labels)
    if info.task == "absa" and info.format in B_FORMATS:
        yes = "yes" if "yes" in labels else labels[-1]
        return yes, labels.index(yes)
    return inspection.prediction.label, labels.index(inspection.prediction.label)


def evaluate_input(
    loaded: LoadedCheckpoint, inspection: Inspection, request: FaithfulnessRequest
) -> FaithfulnessReport:
    """Comprehensiveness, sufficiency and AOPC of every requested source on one inspected input (model thread)."""
    info, encoded = loaded.info, inspection.encoded
    check_request(request, len(encoded.input_ids))
    replacement = replacement_id(loaded.tokenizer, request.erasure)
    erasable = erasable_mask(encoded, info.task, info.format, request.erase_targets)
    if not bool(erasable.any()):
        raise InputError("the input has no token that may be erased (erase_targets: also the aspect/entities)", "text")
    query = query_tokens(encoded, request.query, info.task, entity_start_ids(info, loaded.tokenizer))
    label, target = explained_label(loaded, inspection)
    inputs = encoded.model_inputs(loaded.device)
    found = source_scores(
        loaded,
        inputs,
        inspection.attention,
        query,
        ~content_mask(encoded),
        target,
        request.methods,
        request.ig_steps,
        request.random_draws,
        request.seed,
    )
    started = time.perf_counter()
    probability = ErasedProbabilities(loaded, inputs, target, replacement)
    full = float(probability(torch.zeros(1, erasable.shape[0], dtype=torch.bool))[0])
    counts = metrics.token_counts(request.k_percents, int(erasable.sum()))
    per_k = per_k_scores(found.scores, erasable, counts, probability, full)
    occlusion = occlusion_scores(erasable, probability, full)
    reference = per_k_scores(torch.stack([occlusion, -occlusion]), erasable, counts, probability, full)
    timings = {**found.timings_ms, "erasure_forwards": (time.perf_counter() - started) * 1000}
    return _report(
        loaded, request, label, full, query, erasable, counts, found.names, per_k, reference, probability, timings
    )


def per_k_scores(
    scores: torch.Tensor, erasable: torch.Tensor, counts: Sequence[int], probability: ErasedProbabilities, full: float
) -> dict[str, torch.Tensor]:
    """metric -> [S, K] for rankings scores [S, T]."""
    erased = metrics.erasures(metrics.top_sets(scores, erasable, counts), erasable)  # [S, K, 2, T]
    return metrics.scores_from_probabilities(full, probability(erased))


def occlusion_scores(erasable: torch.Tensor, probability: ErasedProbabilities, full: float) -> torch.Tensor:
    """[T]: p(x) - p(x without token t) for each erasable token (0 elsewhere, where it is never ranked)."""
    positions = erasable.nonzero().flatten()
    rows = torch.zeros(len(positions), erasable.shape[0], dtype=torch.bool)
    rows[torch.arange(len(positions)), positions] = True
    scores = torch.zeros(erasable.shape[0], dtype=torch.float64)
    scores[positions] = full - probability(rows)
    return scores


def _report(
    loaded: LoadedCheckpoint,
    request: FaithfulnessRequest,
    label: str,
    full: float,
    query: list[int],
    erasable: torch.Tensor,
    counts: list[int],
    names: list[str],
    per_k: dict[str, torch.Tensor],
    reference: dict[str, torch.Tensor],
    probability: ErasedProbabilities,
    timings: dict[str, float],
) -> FaithfulnessReport:
    aopcs = {name: metrics.aopc(values) for name, values in per_k.items()}  # [S]
    reference_aopcs = {name: metrics.aopc(values) for name, values in reference.items()}  # [2]
    limits = metrics.bounds({name: torch.cat([aopcs[name], reference_aopcs[name]]) for name in aopcs})
    scaled = metrics.normalised(aopcs, limits)
    layers, heads = loaded.info.num_layers, loaded.info.num_heads
    sources: dict[str, SourceResult] = {}
    grouped: dict[str, list[int]] = {}
    per_head: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if ":" in name:  # "<method>:<layer>.<head>", in layer-major order
            per_head.setdefault(name.split(":")[0], []).append(i)
        else:  # the random draws ("random.<i>") become one source: their mean
            grouped.setdefault(name.split(".")[0], []).append(i)
    for name, rows in grouped.items():
        sources[name] = _result(per_k, aopcs, scaled, rows)
    reference_scaled = metrics.normalised(reference_aopcs, limits)
    sources[REFERENCE] = _result(reference, reference_aopcs, reference_scaled, [0])
    head_maps: dict[str, dict[str, list[list[float]]]] = {}
    for method, rows in per_head.items():
        head_maps[method] = {}
        for name in metrics.METRICS:
            head_maps[method][f"aopc_{name}"] = aopcs[name][rows].view(layers, heads).tolist()
            head_maps[method][f"normalised_{name}"] = scaled[name][rows].view(layers, heads).tolist()
    return FaithfulnessReport(
        label,
        full,
        request.erasure,
        request.erase_targets,
        request.query,
        query,
        erasable.nonzero().flatten().tolist(),
        list(request.k_percents),
        counts,
        sources,
        head_maps,
        limits,
        {"asked": probability.rows_asked, "run": probability.rows_run},
        timings,
    )


def _result(
    per_k: dict[str, torch.Tensor], aopcs: dict[str, torch.Tensor], scaled: dict[str, torch.Tensor], rows: list[int]
) -> SourceResult:
    def mean(values: torch.Tensor) -> Any:
        return values[rows].mean(0).tolist()

    return SourceResult(
        mean(per_k["comprehensiveness"]),
        mean(per_k["sufficiency"]),
        {name: float(mean(aopcs[name])) for name in metrics.METRICS},
        {name: float(mean(scaled[name])) for name in metrics.METRICS},
    )

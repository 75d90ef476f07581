"""From what the probes kept to the typed sections of the analysis result (result.py)."""

from __future__ import annotations

from typing import Any

import torch

from app.core.heads.agreement_probe import STATISTICS as AGREEMENT_STATISTICS
from app.core.heads.baselines import POSITIONAL_BASELINES
from app.core.heads.labels import DEFAULT_RULE, LabelRule, label_evidence, label_heads, no_label_reason
from app.core.heads.probes import (
    FINETUNE,
    NOOP,
    FinetuneChangeProbe,
    HeadMapProbe,
    InterpretabilityProbe,
    StatisticsProbe,
    TypicalExamplesProbe,
)
from app.core.heads.result import (
    Baselines,
    FinetuneChange,
    HeadChange,
    HeadMap,
    HeadResult,
    HeadStatistic,
    Interpretability,
    best_of,
    margin_of,
)
from app.core.stats.streaming import NoOpContrast, Summary, classical_mds

FINETUNE_DEFINITION = (
    "per head, the mean over examples of the mean over the example's real (non-padding) query tokens "
    "of the Jensen-Shannon divergence (base 2, in [0, 1]) between the fine-tuned and the pretrained "
    "model's attention rows on the same input; 95% bootstrap CI over examples in each head entry's "
    "finetune_change"
)
INTERPRETABILITY_DEFINITION = (
    "share of examples whose gold words lie in the top-3 words of the last layer's [CLS] "
    "attention summed over heads (word level, [CLS]/[SEP] excluded); Stevens & Su 2020"
)


def head_labels(
    summaries: dict[str, Summary], baselines: dict[str, dict[str, Any]], rule: LabelRule
) -> tuple[dict, dict]:
    """((layer, head) -> labels, (layer, head) -> label -> statistics that earned it).

    Statistics measured on fewer than `rule.min_examples` examples are reported but label nothing.
    """
    lows = {name: s.low for name, s in summaries.items() if s.count >= rule.min_examples}
    return (label_heads(lows, baselines, rule) if lows else {}), label_evidence(lows, baselines, rule)


def head_statistic(
    summary: Summary,
    baseline: dict[str, Any],
    typical: list,
    layer: int,
    head: int,
    name: str = "",
    rule: LabelRule = DEFAULT_RULE,
) -> HeadStatistic:
    positional = baseline["positional"]
    best_rule = int(torch.nan_to_num(positional, nan=float("-inf")).argmax())
    pretrained = float(baseline["pretrained"][layer, head]) if "pretrained" in baseline else None
    values = Baselines(
        uniform=baseline["uniform"],
        positional=float(positional[best_rule]),
        positional_rule=POSITIONAL_BASELINES[best_rule],
        pretrained=pretrained,
        best=None,
    )
    values.best = best_of({k: _finite(v) for k, v in vars(values).items() if k != "positional_rule"})
    low, score = float(summary.low[layer, head]), float(summary.mean[layer, head])
    return HeadStatistic(
        score=score,
        ci=(low, float(summary.high[layer, head])),
        n=summary.count,
        baselines=values,
        margin=margin_of((_finite(low),), values.best),
        typical=typical,
        no_label=no_label_reason(name, score, low, summary.count, values.best, rule) if name else None,
    )


def _finite(value: float | None) -> float | None:
    """None for a missing or non-finite number (what JSON shows as null), so it takes no part in a max."""
    return None if value is None or not torch.isfinite(torch.tensor(value)) else value


def head_rows(
    layers: int,
    heads: int,
    summaries: dict[str, Summary],
    baselines: dict[str, dict[str, Any]],
    labels: dict,
    evidence: dict,
    typical: TypicalExamplesProbe,
    change: Summary | None,
    rule: LabelRule = DEFAULT_RULE,
) -> list[HeadResult]:
    rows = []
    for layer in range(layers):
        for head in range(heads):
            per_statistic = {
                name: head_statistic(s, baselines[name], _typical(typical, name, layer, head), layer, head, name, rule)
                for name, s in summaries.items()
            }
            row = HeadResult(layer, head, labels.get((layer, head), []), evidence.get((layer, head), {}), per_statistic)
            if change is not None:
                row.finetune_change = HeadChange(
                    float(change.mean[layer, head]),
                    (float(change.low[layer, head]), float(change.high[layer, head])),
                    change.count,
                    _typical(typical, FINETUNE, layer, head),
                )
            rows.append(row)
    return rows


def _typical(typical: TypicalExamplesProbe, name: str, layer: int, head: int) -> list[tuple[int, float]]:
    return [(index, score) for index, score in typical.head(name, layer, head)]


def labelled_heads(rows: list[HeadResult]) -> dict[str, list[list[int]]]:
    """label -> [[layer, head], ...] in head order."""
    labelled: dict[str, list[list[int]]] = {}
    for row in rows:
        for label in row.labels:
            labelled.setdefault(label, []).append([row.layer, row.head])
    return labelled


def interpretability(
    task: str, own: InterpretabilityProbe, pretrained: InterpretabilityProbe | None
) -> Interpretability:
    rate = own.rate.to_json()
    reference = pretrained.rate if pretrained is not None else None
    return Interpretability(
        rate=rate["rate"],
        random=rate["random"],
        pretrained=reference.rate if reference is not None else None,
        best_head=rate["best_head"],
        pretrained_best_head=reference.to_json()["best_head"] if reference is not None and reference.count else None,
        examples=rate["examples"],
        k=rate["k"],
        gold="e1 + e2 words" if task == "re" else "aspect-term words",
        definition=INTERPRETABILITY_DEFINITION,
    )


def finetune_change(
    probe: FinetuneChangeProbe | None, summary: Summary | None, pretrained: str | None
) -> FinetuneChange | None:
    if probe is None or summary is None:
        return None
    assert pretrained is not None, "a fine-tune change without a pretrained model"  # the probe runs only with one
    return FinetuneChange(
        js=summary.mean, examples=summary.count, pretrained=pretrained, definition=FINETUNE_DEFINITION
    )


def head_map(probe: HeadMapProbe) -> HeadMap | None:
    if not probe.distances.count:
        return None
    matrix = probe.distances.matrix()
    return HeadMap(
        examples=probe.distances.count,
        index="layer * num_heads + head",
        js_distance=matrix,
        mds=classical_mds(matrix.numpy()).tolist(),
    )


def support(
    task: str, pairing: str, statistics: StatisticsProbe, summaries: dict[str, Summary], has_lexicon: bool
) -> dict[str, Any]:
    """Per statistic family: how many examples carried it and which data the score rests on."""

    def count(name: str) -> int:
        return summaries[name].count if name in summaries else 0

    if task == "re":
        return {
            "entity": {"examples": count("entity_mass"), "source": "gold e1/e2 spans"},
            "cls-entity": {"examples": count("cls_entity_mass"), "source": "gold e1/e2 spans"},
            "generic": {"examples": count("entropy"), "source": "every input"},
        }
    return {
        "aspect": {"examples": count("aspect_mass"), "source": _ASPECT_SOURCES[pairing]},
        "aspect-sentiment": {
            "examples": count("opinion_mass"),
            "source": _opinion_source(statistics.opinion_sources, has_lexicon),
        },
        "opposite-aspect": {
            "examples": count("other_aspect_mass"),
            "source": "other aspects of the same sentence"
            if count("other_aspect_mass")
            else "absent: no sentence with a second located aspect",
        },
        "no-op": _noop_support(statistics.noop),
        "phrase": {
            "examples": count("phrase_context_mass"),
            "source": "aspect term + up to 3 words each side, stopping at punctuation (statistics.phrase_window)",
        },
        "generic": {"examples": count("entropy"), "source": "every input"},
    }


_ASPECT_SOURCES = {
    "terms": "gold aspect-term spans",
    "triplets": "gold ASTE aspect spans",
    "categories": "terms the data links to the category, else the category name found as a word in the review",
    "targets": "the location target's mentions (SentiHood's LOCATION1 / LOCATION2)",
}


def _opinion_source(sources: dict[str, int], has_lexicon: bool) -> str:
    if sources.get("gold"):
        return "gold ASTE opinion spans"
    if sources.get("lexicon"):
        return "opinion-lexicon words of the review (no gold opinions in this data)"
    return (
        "absent: no gold opinions and no lexicon word in the reviews"
        if has_lexicon
        else "absent: no gold opinions in this data and no --lexicon given"
    )


def _noop_support(noop: NoOpContrast) -> dict[str, Any]:
    absent, present = noop.counts
    return {
        "examples": absent + present,
        "absent": absent,
        "present": present,
        "source": "category pairs labelled none (absent) against the others"
        if absent and present
        else "absent: needs category data with pairs whose aspect is absent (label none) and present",
    }


STATISTIC_RANGES = {
    "entropy": (0.0, None),
    NOOP: (-1.0, 1.0),  # None: ln(sequence length); others [0, 1]
    **{name: (-1.0, 1.0) for name in AGREEMENT_STATISTICS},
}  # rank correlations


def statistic_range(name: str) -> tuple[float, float | None]:
    return STATISTIC_RANGES.get(name, (0.0, 1.0))

"""The head labelling rule: the one place where a head gets a label.

Rule. A head (layer, head) gets label X when, for at least one statistic S that supports X
(LABEL_STATISTICS), the lower bound of S's 95% bootstrap confidence interval over examples
beats the best baseline of S by the margin:

    low_S(head)  >  best + max(ABSOLUTE_MARGIN, RELATIVE_MARGIN * best)

    with best = max(0, uniform, best positional rule, pretrained(head) when given)

* uniform / positional: the statistic's mean over the same examples when the attention is the
  uniform map or one of Clark et al.'s positional maps (baselines.py); the best positional
  baseline is the maximum over the rules (prev, self, next, cls, sep).
* pretrained(head): the mean of S for the same (layer, head) of the pretrained, not fine-tuned,
  base model on the same examples (per head, not a maximum over heads).
* the floor at 0 means a contrast (the no-op statistic can be negative) must be positive.
* MIN_EXAMPLES = 20: a statistic measured on fewer examples labels nothing (it is still reported
  with its interval): a bootstrap over a handful of examples gives intervals too narrow to trust,
  e.g. four examples whose aspect is the argmax give the interval [1, 1].
* ABSOLUTE_MARGIN = 0.05 and RELATIVE_MARGIN = 0.25: a score that lives in [0, 1] must clear
  the best baseline by 0.05 and by a quarter of it, e.g. a uniform aspect mass of 0.10 needs a
  lower bound above 0.15, a positional top-1 of 0.40 needs a lower bound above 0.50.

Labels are independent, so a head may carry several (e.g. aspect and aspect-sentiment).
Labels and their statistics (names as produced by statistics.absa_statistics /
relation_statistics; "noop_contrast" is streaming.NoOpContrast's summary):

    aspect            aspect_mass, aspect_top1
    aspect-sentiment  opinion_mass, opinion_top1, term_opinion_mass
    opposite-aspect   other_aspect_mass, term_other_aspect_mass
    no-op             noop_contrast
    phrase            phrase_context_mass (mass on the phrase around the term, term excluded)
    entity            entity_mass, entity_top1
    cls-entity        cls_entity_mass
    attribution       ig_agreement (the head's attention from the readout token ranks tokens as
                      integrated gradients do; app.core.heads.agreement_probe)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

ABSOLUTE_MARGIN = 0.05
RELATIVE_MARGIN = 0.25
MIN_EXAMPLES = 20

LABEL_STATISTICS: dict[str, tuple[str, ...]] = {
    "aspect": ("aspect_mass", "aspect_top1"),
    "aspect-sentiment": ("opinion_mass", "opinion_top1", "term_opinion_mass"),
    "opposite-aspect": ("other_aspect_mass", "term_other_aspect_mass"),
    "no-op": ("noop_contrast",),
    "phrase": ("phrase_context_mass",),
    "entity": ("entity_mass", "entity_top1"),
    "cls-entity": ("cls_entity_mass",),
    "attribution": ("ig_agreement",),
}

Baseline = float | torch.Tensor


@dataclass(frozen=True)
class LabelRule:
    absolute_margin: float = ABSOLUTE_MARGIN
    relative_margin: float = RELATIVE_MARGIN
    min_examples: int = MIN_EXAMPLES

    def threshold(self, best: torch.Tensor) -> torch.Tensor:
        return best + torch.clamp(self.relative_margin * best, min=self.absolute_margin)


DEFAULT_RULE = LabelRule()


def best_baseline(baselines: Mapping[str, Baseline], shape: tuple[int, ...]) -> torch.Tensor:
    """Element-wise best baseline [L, H], floored at 0; NaN baselines are ignored.

    A value is a float, a per-head tensor of exactly `shape` (e.g. the pretrained model), or any
    other tensor, reduced to its maximum (e.g. the positional rules' means [P]).
    """
    best = torch.zeros(shape)
    for value in baselines.values():
        value = torch.as_tensor(value, dtype=torch.float32).cpu()
        if tuple(value.shape) != tuple(shape):
            finite = value[~torch.isnan(value)]
            if finite.numel() == 0:
                continue
            value = finite.max().expand(shape)
        best = torch.fmax(best, value)
    return best


def beats_baselines(
    low: torch.Tensor, baselines: Mapping[str, Baseline], rule: LabelRule = DEFAULT_RULE
) -> torch.Tensor:
    """bool [L, H]: the lower bound clears the best baseline by the rule's margin (NaN never does)."""
    low = low.float().cpu()
    threshold = rule.threshold(best_baseline(baselines, tuple(low.shape)))
    return torch.nan_to_num(low, nan=float("-inf")) > threshold


def label_heads(
    lows: Mapping[str, torch.Tensor],
    baselines: Mapping[str, Mapping[str, Baseline]],
    rule: LabelRule = DEFAULT_RULE,
    label_statistics: Mapping[str, tuple[str, ...]] = LABEL_STATISTICS,
) -> dict[tuple[int, int], list[str]]:
    """(layer, head) -> sorted labels, for every head (an empty list when none).

    lows: statistic -> lower CI bound [L, H] (statistics absent here are simply not used);
    baselines: statistic -> {baseline name -> value} (see best_baseline).
    """
    evidence = label_evidence(lows, baselines, rule, label_statistics)
    shape = next(iter(lows.values())).shape if lows else (0, 0)
    labels: dict[tuple[int, int], list[str]] = {(l, h): [] for l in range(shape[0]) for h in range(shape[1])}
    for (layer, head), found in evidence.items():
        labels[(layer, head)] = sorted(found)
    return labels


def label_evidence(
    lows: Mapping[str, torch.Tensor],
    baselines: Mapping[str, Mapping[str, Baseline]],
    rule: LabelRule = DEFAULT_RULE,
    label_statistics: Mapping[str, tuple[str, ...]] = LABEL_STATISTICS,
) -> dict[tuple[int, int], dict[str, list[str]]]:
    """(layer, head) -> label -> the statistics that earned it (only heads with a label)."""
    out: dict[tuple[int, int], dict[str, list[str]]] = {}
    for label, statistics in label_statistics.items():
        for statistic in statistics:
            if statistic not in lows:
                continue
            winners = beats_baselines(lows[statistic], baselines.get(statistic, {}), rule)
            for layer, head in winners.nonzero().tolist():
                out.setdefault((layer, head), {}).setdefault(label, []).append(statistic)
    return out


def no_label_reason(
    statistic: str, score: float, low: float, n: int, best: float | None, rule: LabelRule = DEFAULT_RULE
) -> str | None:
    """Why a head that scores above its best baseline on `statistic` gets no label from it: which rule,
    which number, how many examples. None when the statistic supports no label, the score is not above
    the best baseline, or the rule is met (the head has the label)."""
    label = next((name for name, stats in LABEL_STATISTICS.items() if statistic in stats), None)
    floor = max(0.0, best) if best is not None else 0.0
    if label is None or not math.isfinite(score) or score <= floor:
        return None
    threshold = floor + max(rule.absolute_margin, rule.relative_margin * floor)
    if n < rule.min_examples:
        return (
            f"no {label} label from {statistic}: measured on {n} examples, fewer than the {rule.min_examples} "
            f"a label needs (score {score:.3f} vs best baseline {floor:.3f})"
        )
    if not (math.isfinite(low) and low > threshold):
        return (
            f"no {label} label from {statistic}: the lower 95% bound {low:.3f} does not clear {threshold:.3f} "
            f"(best baseline {floor:.3f} + margin {threshold - floor:.3f}; n = {n})"
        )
    return None


def describe_rule(rule: LabelRule = DEFAULT_RULE) -> dict[str, Any]:
    """The rule as data, for result files."""
    return {
        "test": "lower 95% bootstrap bound > best + max(absolute_margin, relative_margin * best)",
        "best": "max(0, uniform, best positional rule, pretrained same head)",
        "absolute_margin": rule.absolute_margin,
        "relative_margin": rule.relative_margin,
        "min_examples": rule.min_examples,
        "labels": {label: list(stats) for label, stats in LABEL_STATISTICS.items()},
    }

"""From scores to the per-test reports: accuracy, flips, ARS, debiased accuracy, the heads that moved, example rows."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from app.core.inputs.units import UnitSpec, example_record
from app.core.model.head_mask import mask_without, random_heads
from app.core.robustness.metrics import flip_table, moved_heads, rate
from app.core.robustness.moved import QUERY_SETS
from app.core.robustness.result import Ablated, TestReport
from app.core.robustness.scoring import Scores
from app.core.robustness.settings import RobustnessSettings
from app.core.robustness.variants import Variant


@dataclass(frozen=True)
class SuiteTest:
    """What the report needs to know of a test besides its variants."""

    name: str
    family: str = "random"  # e.g. random, adversarial, counterfactual, selection-bias, semantic-bias, aspect
    description: str = ""
    debiasing: bool = False  # a shortcut probe: report accuracy on the sources its variant gets wrong


def test_report(
    info: SuiteTest,
    sources: Sequence[UnitSpec],
    variants: Sequence[Variant],
    indices: Sequence[int],
    scores: Scores,
    labels: Sequence[str],
    settings: RobustnessSettings,
    task: str,
) -> TestReport:
    """The report of one test over its variants (`indices` into `variants`)."""
    scored = [
        j
        for j in indices
        if scores.variant_predictions[j] is not None and scores.source_predictions[variants[j].source] is not None
    ]
    origin = sorted({variants[j].source for j in scored})
    right = _correct(scores.source_predictions, scores.source_gold)
    variant_right = _correct(scores.variant_predictions, scores.variant_gold)
    b, seed = settings.bootstrap, settings.seed
    broken = [j for j in scored if right[variants[j].source] and not variant_right[j]]
    held = [j for j in scored if right[variants[j].source] and variant_right[j]]
    return TestReport(
        test=info.name,
        family=info.family,
        description=info.description,
        sources=len(origin),
        variants=len(scored),
        skipped=len(indices) - len(scored),
        source_accuracy=rate([r for r in (right[i] for i in origin) if r is not None], b, seed),
        variant_accuracy=rate([r for r in (variant_right[j] for j in scored) if r is not None], b, seed),
        flip_rate=rate(
            [scores.variant_predictions[j] != scores.source_predictions[variants[j].source] for j in scored], b, seed
        ),
        flips=flip_table(_predictions(scores, variants, scored), labels),
        broken=len(broken),
        held=len(held),
        aspect_robustness=_ars(origin, scored, variants, right, variant_right, b, seed) if task == "absa" else None,
        debiased_accuracy=_debiased(origin, scored, variants, right, variant_right, b, seed)
        if info.debiasing
        else None,
        kept_source_label=_kept(scored, variants, scores, b, seed),
        moved={
            name: moved_heads(
                [scores.change[name][j] for j in broken if j in scores.change[name]],
                [scores.change[name][j] for j in held if j in scores.change[name]],
                b,
                seed,
                settings.top_heads,
            )
            for name in QUERY_SETS
        },
        details=_details(variants, scored),
        examples=_examples(sources, variants, broken, scored, scores, labels, settings.examples_kept),
    )


def _predictions(scores: Scores, variants: Sequence[Variant], scored: Sequence[int]) -> list[tuple[int, int]]:
    """(source prediction, variant prediction) of each scored variant (scored: both predictions exist)."""
    pairs = []
    for j in scored:
        before, after = scores.source_predictions[variants[j].source], scores.variant_predictions[j]
        assert before is not None and after is not None  # what makes a variant scored
        pairs.append((before, after))
    return pairs


def _correct(predictions: Sequence[int | None], gold: Sequence[int | None]) -> list[bool | None]:
    return [None if p is None or g is None else p == g for p, g in zip(predictions, gold)]


def _ars(origin, scored, variants, right, variant_right, bootstrap: int, seed: int):
    per_source: dict[int, list[bool]] = {i: [] for i in origin}
    for j in scored:
        per_source[variants[j].source].append(bool(variant_right[j]))
    return rate([bool(right[i]) and all(per_source[i]) for i in origin if right[i] is not None], bootstrap, seed)


def _debiased(origin, scored, variants, right, variant_right, bootstrap: int, seed: int):
    fooled = {variants[j].source for j in scored if variant_right[j] is False}
    return rate([bool(right[i]) for i in origin if i in fooled and right[i] is not None], bootstrap, seed)


def _kept(scored, variants, scores: Scores, bootstrap: int, seed: int):
    """For variants whose gold label changed (RevTgt, counterfactuals): how often the old answer stays."""
    changed = [j for j in scored if variants[j].label_changed and scores.source_gold[variants[j].source] is not None]
    if not changed:
        return None
    return rate(
        [scores.variant_predictions[j] == scores.source_gold[variants[j].source] for j in changed], bootstrap, seed
    )


def _details(variants: Sequence[Variant], scored: Sequence[int]) -> dict[str, Any]:
    """Numbers the variants carry (e.g. an attack's queries, words changed): their means."""
    sums: dict[str, list[float]] = {}
    for j in scored:
        for key, value in variants[j].details.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sums.setdefault(key, []).append(float(value))
    return {f"mean_{key}": sum(values) / len(values) for key, values in sums.items()}


def _examples(sources, variants, broken, scored, scores: Scores, labels, keep: int) -> list[dict[str, Any]]:
    """Example rows (broken pairs first): source and variant as the compare view opens them."""
    chosen = list(broken) + [j for j in scored if j not in set(broken)]
    rows = []
    for j in chosen[:keep]:
        v = variants[j]
        rows.append(
            {
                "variant": j,
                "source": example_record(sources[v.source]),
                "edited": example_record(v.spec),
                "edited_spans": [list(s) for s in v.edited],
                "label_changed": v.label_changed,
                "source_prediction": labels[scores.source_predictions[v.source]],
                "variant_prediction": labels[scores.variant_predictions[j]],
                "broken": j in set(broken),
            }
        )
    return rows


def ablated_report(
    report: TestReport,
    sources: Sequence[UnitSpec],
    variants: Sequence[Variant],
    indices: Sequence[int],
    scores: Scores,
    shape: tuple[int, int],
    predict: Callable[[torch.Tensor, Sequence[UnitSpec]], list],
    settings: RobustnessSettings,
) -> Ablated | None:
    """The test again with its top moved heads (focus query set) masked, and with as many random heads masked:
    variant accuracy, and flips between the masked model's source and variant predictions."""
    moved = report.moved.get("focus") or report.moved.get("cls")
    if moved is None or not moved.top:
        return None
    heads = [(h["layer"], h["head"]) for h in moved.top]
    drawn = random_heads(shape, len(heads), heads, random.Random(settings.seed))
    specs = [variants[j].spec for j in indices]
    origin = sorted({variants[j].source for j in indices})  # each source once, whatever its number of variants
    gold = [scores.variant_gold[j] for j in indices]
    figures = []
    for chosen in (heads, drawn):
        mask = mask_without(shape, chosen)
        predicted = predict(mask, specs)
        by_source = dict(zip(origin, predict(mask, [sources[i] for i in origin])))
        before = [by_source[variants[j].source] for j in indices]
        kept = [k for k, p in enumerate(predicted) if p is not None and gold[k] is not None and before[k] is not None]
        figures.append(
            (
                rate([predicted[k] == gold[k] for k in kept], settings.bootstrap, settings.seed),
                rate([predicted[k] != before[k] for k in kept], settings.bootstrap, settings.seed),
            )
        )
    return Ablated([list(h) for h in heads], *figures[0], [list(h) for h in drawn], *figures[1])

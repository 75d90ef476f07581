"""A set's task metrics from its predictions: the benchmark's own (app.core.data.benchmark_metrics) plus accuracy and
macro-F1 (scikit-learn), and the headline pair the report compares across models and perspectives.

Headline (accuracy, F1) by kind of checkpoint:
* ABSA categories (QA-M / NLI-M): 3-way sentiment accuracy and aspect-detection F1, as the README reports;
* ABSA terms: accuracy and macro-F1 over positive / neutral / negative (conflict terms left out);
* SemEval-2010 relation labels: accuracy and the official macro-F1 (9 relations, direction counted);
* otherwise (QA-B / NLI-B yes/no pairs, other relation labels): accuracy and macro-F1 over the labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.core.data.benchmark_metrics import benchmark_figures, is_semeval2010_labels, label_metrics
from app.core.data.prepared import split_sentihood_aspect
from app.core.inputs.encoding import B_FORMAT_POLARITIES
from app.core.inputs.units import CATEGORY_FORMATS, UnitSpec, sentihood_aspects
from app.core.model.checkpoint import CheckpointInfo

SCORED_KINDS = ("absa-categories", "sentihood")  # the benchmarks whose figures read each label's probability
# the count each headline accuracy rests on, where it is not every input (3-way accuracy leaves out the pairs whose
# gold is none or conflict, SentiHood's sentiment accuracy the absent aspects)
ACCURACY_COUNTS = {"accuracy_3way": "n_3way", "accuracy_4way": "n_4way", "sentiment_accuracy": "n_sentiment"}
HEADLINES = {
    "absa-categories": ("accuracy_3way", "aspect_f1", "3-way sentiment accuracy", "aspect-detection F1"),
    "sentihood": ("sentiment_accuracy", "aspect_f1", "sentiment accuracy (positive/negative)", "aspect F1"),
    "absa-terms": ("accuracy", "macro_f1", "accuracy", "macro-F1 (pos/neu/neg)"),
    "semeval2010": ("accuracy", "macro_f1", "accuracy", "official macro-F1"),
    "labels": ("accuracy", "macro_f1", "accuracy", "macro-F1"),
}


def benchmark_kind(info: CheckpointInfo) -> str:
    if sentihood_aspects(info):
        return "sentihood"
    if info.task == "absa" and info.format in ("qa-m", "nli-m"):
        return "absa-categories"
    if info.task == "absa" and info.format == "term":
        return "absa-terms"
    if info.task == "re" and is_semeval2010_labels(info.labels):
        return "semeval2010"
    return "labels"


def gold_names(info: CheckpointInfo, specs: Sequence[UnitSpec]) -> list[str]:
    """Each pair's gold label in the model's label space (QA-B / NLI-B: yes when its auxiliary sentence names
    the gold polarity, as encode_unit builds it)."""
    if info.task == "absa" and info.format in ("qa-b", "nli-b"):
        return ["yes" if s.polarity in B_FORMAT_POLARITIES else "no" for s in specs]
    return [s.polarity or "" for s in specs]


def gold_indices(info: CheckpointInfo, specs: Sequence[UnitSpec]) -> np.ndarray:
    """Gold class per pair; -1 where the model has no such label (it can only be wrong there)."""
    index = {label: i for i, label in enumerate(info.labels)}
    return np.array([index.get(g, -1) for g in gold_names(info, specs)], dtype=np.int64)


def set_metrics(info: CheckpointInfo, specs: Sequence[UnitSpec], probabilities: np.ndarray) -> dict[str, Any]:
    """Benchmark metrics, accuracy / macro-F1 and the headline of one labelled set."""
    kind = benchmark_kind(info)
    golds = gold_names(info, specs)
    predicted = [info.labels[i] for i in probabilities.argmax(-1)]
    scores = [dict(zip(info.labels, row)) for row in probabilities.tolist()] if kind in SCORED_KINDS else None
    named = [split_sentihood_aspect(s.aspect or "") for s in specs] if kind == "sentihood" else []
    groups = [f"{s.sentence_id}/{target}" for s, (_, target) in zip(specs, named)]  # SentiHood: (sentence, target)
    term_labels = tuple(label for label in info.labels if label != "conflict")
    metrics: dict[str, Any] = {}
    if kind != "labels":
        metrics = benchmark_figures(kind, golds, predicted, scores, groups, [a for a, _ in named], term_labels)
        metrics.pop("per_relation", None)
    generic: dict[str, Any] = {
        **label_metrics(golds, predicted),
        "unknown_gold": sum(g not in info.labels for g in golds),
    }
    metrics = {**generic, **metrics} if kind != "labels" else generic
    accuracy_key, f1_key, accuracy_name, f1_name = HEADLINES[kind]
    metrics["headline"] = {
        "accuracy": metrics.get(accuracy_key),
        "f1": metrics.get(f1_key),
        "accuracy_name": accuracy_name,
        "f1_name": f1_name,
        # which generic figures the headline already is, so a page never prints the same number twice
        "accuracy_key": accuracy_key,
        "f1_key": f1_key,
        "accuracy_n": metrics.get(ACCURACY_COUNTS.get(accuracy_key, "n")),
    }
    return metrics


def category_subset(specs: Sequence[UnitSpec], categories: Sequence[str]) -> list[int]:
    """Positions of the category pairs whose aspect is one of `categories` (a shift set's shared ones)."""
    wanted = set(categories)
    return [i for i, s in enumerate(specs) if s.aspect in wanted]


def is_category_model(info: CheckpointInfo) -> bool:
    return info.task == "absa" and info.format in CATEGORY_FORMATS

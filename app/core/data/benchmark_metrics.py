"""The benchmarks' own metrics, as pure functions of gold and predicted labels.

Labels are strings. ABSA labels are the polarities "positive", "neutral", "negative",
"conflict" and "none" (the aspect is absent), the order of Sun et al. 2019's code and of
app.core.data.demo.ABSA_LABELS. Where a metric restricts the prediction to fewer classes
(3-way, binary), Sun et al. take the best-scoring allowed class; pass `scores` (one
{label: probability} dict per item) for that, else a prediction outside the allowed classes
simply counts as wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, SupportsFloat

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

NONE = "none"
POS, NEU, NEG, CONFLICT = "positive", "neutral", "negative", "conflict"
SENTIMENTS_4 = (POS, NEU, NEG, CONFLICT)
SENTIMENTS_3 = (POS, NEU, NEG)
SENTIMENTS_2 = (POS, NEG)


def _round(x: SupportsFloat | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _prf(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _check(gold: Sequence[Any], predicted: Sequence[Any], scores: Sequence[Any] | None = None) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if scores is not None and len(scores) != len(gold):
        raise ValueError(f"{len(gold)} gold labels but {len(scores)} score rows")


def _restricted(predicted: str, score: Mapping[str, float] | None, allowed: Sequence[str]) -> str:
    """The prediction when only `allowed` classes may be answered (Sun et al.: argmax over them)."""
    if predicted in allowed or score is None:
        return predicted
    return max(allowed, key=lambda label: score.get(label, float("-inf")))


def _accuracy(
    gold: Sequence[str], predicted: Sequence[str], scores: Sequence[Mapping[str, float]] | None, allowed: Sequence[str]
) -> tuple[float | None, int]:
    total = correct = 0
    for i, g in enumerate(gold):
        if g not in allowed:
            continue
        total += 1
        correct += _restricted(predicted[i], scores[i] if scores is not None else None, allowed) == g
    return (correct / total if total else None), total


def absa_category_metrics(
    gold: Sequence[str],
    predicted: Sequence[str],
    scores: Sequence[Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """SemEval-2014 Task 4 aspect categories, as Sun et al. 2019 (NAACL, "Utilizing BERT for
    Aspect-Based Sentiment Analysis via Constructing Auxiliary Sentence") report them.

    One item per sentence × category, "none" where the sentence does not speak of the category.

    - Aspect detection (their Table 4, "Aspect"): precision, recall and F1 of "the category is
      present" (any label but none), micro-averaged over all sentence × category pairs: P = |pred ∩
      gold| / |pred|, R = |pred ∩ gold| / |gold| (their `semeval_PRF`). The polarity does not matter.
    - Sentiment (their "Sentiment" columns, `semeval_Acc`), over the pairs whose gold category is present:
      4-way: positive/neutral/negative/conflict, every gold-present pair;
      3-way: gold conflict pairs dropped, the prediction restricted to positive/neutral/negative;
      binary: only gold positive/negative pairs, the prediction restricted to positive/negative.
    """
    _check(gold, predicted, scores)
    in_gold = sum(g != NONE for g in gold)
    in_pred = sum(p != NONE for p in predicted)
    both = sum(g != NONE and p != NONE for g, p in zip(gold, predicted))
    p, r, f = _prf(both, in_pred, in_gold)
    acc4, n4 = _accuracy(gold, predicted, scores, SENTIMENTS_4)
    acc3, n3 = _accuracy(gold, predicted, scores, SENTIMENTS_3)
    acc2, n2 = _accuracy(gold, predicted, scores, SENTIMENTS_2)
    return {
        "aspect_precision": _round(p),
        "aspect_recall": _round(r),
        "aspect_f1": _round(f),
        "accuracy_4way": _round(acc4),
        "accuracy_3way": _round(acc3),
        "accuracy_binary": _round(acc2),
        "n_pairs": len(gold),
        "n_4way": n4,
        "n_3way": n3,
        "n_binary": n2,
    }


def macro_f1(gold: Sequence[Hashable], predicted: Sequence[Hashable], labels: Sequence[Hashable]) -> float | None:
    """Unweighted mean of the per-label F1 over `labels`, a label never predicted nor gold scoring 0 (sklearn's
    f1_score(average="macro", zero_division=0)); None without labels."""
    if not labels:
        return None
    return float(f1_score(list(gold), list(predicted), labels=list(labels), average="macro", zero_division=0))


def label_metrics(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> dict[str, Any]:
    """Accuracy and macro-F1 over the labels that occur in gold or predictions, n: the plain classification
    figures (a checkpoint's dev set while training, a labelled set with no benchmark metrics of its own)."""
    _check(gold, predicted)
    known = sorted(set(gold) | set(predicted), key=str)
    return {
        "accuracy": _round(accuracy_score(list(gold), list(predicted))) if gold else None,
        "macro_f1": _round(macro_f1(gold, predicted, known)),
        "n": len(gold),
    }


def absa_term_metrics(
    gold: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str] = SENTIMENTS_3,
) -> dict[str, Any]:
    """Aspect-term polarity (SemEval-2014 terms, MAMS-ATSA): accuracy and macro-F1.

    The figures the ATSA literature reports (e.g. Tang et al. 2016; Song et al. 2019, AEN-BERT;
    Jiang et al. 2019, MAMS): accuracy over all terms and the macro-averaged F1 over the three
    polarities positive/neutral/negative. Terms whose gold polarity is not in `labels` (conflict)
    are left out, as those papers do.
    """
    _check(gold, predicted)
    kept = [(g, p) for g, p in zip(gold, predicted) if g in labels]
    g_kept = [g for g, _ in kept]
    p_kept = [p for _, p in kept]
    accuracy = sum(g == p for g, p in kept) / len(kept) if kept else None
    return {
        "accuracy": _round(accuracy),
        "macro_f1": _round(macro_f1(g_kept, p_kept, labels) if kept else None),
        "n": len(kept),
        "dropped": len(gold) - len(kept),
    }


def sentihood_metrics(
    gold: Sequence[str],
    predicted: Sequence[str],
    groups: Sequence[str],
    scores: Sequence[Mapping[str, float]] | None = None,
    aspects: Sequence[str] | None = None,
) -> dict[str, Any]:
    """SentiHood (Saeidi et al. 2016) as Sun et al. 2019 report it (their Table 3).

    One item per (sentence, target) × aspect; `groups` names the (sentence, target) of each item;
    labels "positive", "negative" or "none".

    - aspect_strict_accuracy (`sentihood_strict_acc`): share of (sentence, target) groups whose
      every aspect label (none included) is right.
    - aspect_f1 (`sentihood_macro_F1`, after Ma et al. 2018): per group with at least one gold
      aspect, P = |pred ∩ gold| / |pred| and R = |pred ∩ gold| / |gold| over the present aspects
      (0 when they share none); P and R are averaged over those groups, F1 = 2PR / (P + R).
    - sentiment_accuracy (`sentihood_AUC_Acc`): over the items whose gold aspect is present,
      the prediction restricted to positive/negative.
    - with `scores` and each item's aspect (`aspects`), the two AUCs of `sentihood_AUC_Acc`, each the mean
      over the aspects of a ROC AUC: aspect_auc, presence (gold not none) scored by 1 - P(none);
      sentiment_auc, over the items whose gold aspect is present, negative scored by
      P(negative) / (P(positive) + P(negative)). An aspect whose items are all one class is left out.
    """
    _check(gold, predicted, scores)
    if len(groups) != len(gold):
        raise ValueError(f"{len(gold)} gold labels but {len(groups)} groups")
    by_group: dict[str, list[int]] = {}
    for i, group in enumerate(groups):
        by_group.setdefault(group, []).append(i)
    strict = sum(all(gold[i] == predicted[i] for i in idx) for idx in by_group.values())
    p_sum = r_sum = 0.0
    counted = 0
    for idx in by_group.values():
        g = {i for i in idx if gold[i] != NONE}
        if not g:
            continue
        s = {i for i in idx if predicted[i] != NONE}
        both = len(g & s)
        p_sum += both / len(s) if both else 0.0
        r_sum += both / len(g) if both else 0.0
        counted += 1
    p = p_sum / counted if counted else 0.0
    r = r_sum / counted if counted else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    acc, n = _accuracy(gold, predicted, scores, SENTIMENTS_2)
    found = {
        "aspect_strict_accuracy": _round(strict / len(by_group) if by_group else None),
        "aspect_precision": _round(p),
        "aspect_recall": _round(r),
        "aspect_f1": _round(f),
        "sentiment_accuracy": _round(acc),
        "n_groups": len(by_group),
        "n_sentiment": n,
    }
    if scores is not None and aspects is not None:
        found.update(_sentihood_aucs(gold, scores, aspects))
    return found


def _sentihood_aucs(
    gold: Sequence[str], scores: Sequence[Mapping[str, float]], aspects: Sequence[str]
) -> dict[str, float | None]:
    from sklearn.metrics import roc_auc_score

    if len(aspects) != len(gold):
        raise ValueError(f"{len(gold)} gold labels but {len(aspects)} aspects")

    def mean_auc(rows: dict[str, tuple[list[int], list[float]]]) -> float | None:
        aucs = [roc_auc_score(y, score) for y, score in rows.values() if 0 < sum(y) < len(y)]
        return _round(float(np.mean(aucs))) if aucs else None

    presence: dict[str, tuple[list[int], list[float]]] = {}
    polarity: dict[str, tuple[list[int], list[float]]] = {}
    for g, score, aspect in zip(gold, scores, aspects):
        y, s = presence.setdefault(aspect, ([], []))
        y.append(int(g != NONE))
        s.append(1.0 - score.get(NONE, 0.0))
        if g in SENTIMENTS_2:
            y, s = polarity.setdefault(aspect, ([], []))
            both = score.get("positive", 0.0) + score.get("negative", 0.0)
            y.append(int(g == "negative"))
            s.append(score.get("negative", 0.0) / both if both else 0.5)
    return {"aspect_auc": mean_auc(presence), "sentiment_auc": mean_auc(polarity)}


def relation_type(label: str) -> tuple[str, str | None]:
    """'Cause-Effect(e1,e2)' -> ('Cause-Effect', 'e1,e2'); 'Other' -> ('Other', None)."""
    if label.endswith(")") and "(" in label:
        name, _, direction = label[:-1].partition("(")
        return name, direction
    return label, None


def semeval2010_metrics(gold: Sequence[str], predicted: Sequence[str], other: str = "Other") -> dict[str, Any]:
    """SemEval-2010 Task 8's official score (Hendrickx et al. 2010; semeval2010_task8_scorer-v1.2.pl,
    "(9+1)-WAY EVALUATION TAKING DIRECTIONALITY INTO ACCOUNT -- OFFICIAL").

    Labels are the 19 directed ones, e.g. "Cause-Effect(e1,e2)", and "Other". For each of the 9
    relation types R: a prediction is correct only when both type and direction match the gold
    label; P_R = correct_R / (predictions of type R, either direction), R_R = correct_R / (gold
    labels of type R, either direction), so a right type with the wrong direction is a false
    positive and a false negative of R. F1_R = 2 P_R R_R / (P_R + R_R). The official score is the
    macro-F1: the mean of the 9 F1_R ("9 individual F-scores ... the average of these scores is
    taken", the task's README), Other excluded. Types that occur in neither gold nor predictions
    (only possible on a small slice; the official test set has all 9) are left out of the mean. Accuracy is over all
    examples (direction counts).
    """
    _check(gold, predicted)
    correct: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    types: set[str] = set()
    for g, p in zip(gold, predicted):
        g_type, p_type = relation_type(g)[0], relation_type(p)[0]
        types.update({g_type, p_type})
        n_gold[g_type] += 1
        n_pred[p_type] += 1
        correct[g_type] += g == p
    per_type = {}
    for name in sorted(types - {other}):
        precision, recall, f1 = _prf(correct[name], n_pred[name], n_gold[name])
        per_type[name] = {
            "precision": _round(precision),
            "recall": _round(recall),
            "f1": _round(f1),
            "correct": correct[name],
            "predicted": n_pred[name],
            "gold": n_gold[name],
        }
    f1s = [_prf(correct[t], n_pred[t], n_gold[t])[2] for t in per_type]
    ps = [_prf(correct[t], n_pred[t], n_gold[t])[0] for t in per_type]
    rs = [_prf(correct[t], n_pred[t], n_gold[t])[1] for t in per_type]
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else None
    return {
        "macro_f1": _round(np.mean(f1s) if f1s else None),
        "macro_precision": _round(np.mean(ps) if ps else None),
        "macro_recall": _round(np.mean(rs) if rs else None),
        "accuracy": _round(accuracy),
        "n": len(gold),
        "per_relation": per_type,
    }


def is_semeval2010_labels(labels: Sequence[str]) -> bool:
    """True when the label set is SemEval-2010 Task 8's (directed "Type(e1,e2)" labels plus Other)."""
    from app.core.data.readers.vocab import SEMEVAL2010_LABELS

    return set(labels) <= set(SEMEVAL2010_LABELS) and any(relation_type(x)[1] for x in labels)


def benchmark_figures(
    kind: str,
    gold: Sequence[str],
    predicted: Sequence[str],
    scores: Sequence[Mapping[str, float]] | None = None,
    groups: Sequence[str] | None = None,
    aspects: Sequence[str] | None = None,
    term_labels: Sequence[str] = SENTIMENTS_3,
) -> dict[str, Any]:
    """The figures of one benchmark `kind`: "sentihood" (over `groups`, AUCs by `aspects`), "absa-categories",
    "absa-terms" (macro-F1 over `term_labels`), "semeval2010", else accuracy and macro-F1 over the labels."""
    if kind == "sentihood":
        assert groups is not None, "SentiHood's figures are over (sentence, target) groups"
        return sentihood_metrics(gold, predicted, groups, scores, aspects)
    if kind == "absa-categories":
        return absa_category_metrics(gold, predicted, scores)
    if kind == "absa-terms":
        return absa_term_metrics(gold, predicted, term_labels)
    if kind == "semeval2010":
        return semeval2010_metrics(gold, predicted)
    return label_metrics(gold, predicted)

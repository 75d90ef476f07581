"""The benchmarks' metrics on hand-made predictions whose scores are worked out by hand."""

import pytest

from app.core.data.benchmark_metrics import (
    absa_category_metrics,
    absa_term_metrics,
    label_metrics,
    macro_f1,
    semeval2010_metrics,
    sentihood_metrics,
)
from app.core.data.prepared import absa_categories, absa_terms, relations
from app.core.data.readers import AbsaSentence, AspectCategory, AspectTerm, RelationExample
from app.core.data.readers.examples import char_span


def test_semeval2014_categories_detection_and_sentiment():
    # Two sentences × 3 categories.
    gold = ["positive", "none", "conflict", "negative", "neutral", "none"]
    pred = ["positive", "negative", "none", "negative", "positive", "none"]
    m = absa_category_metrics(gold, pred)
    # Detection: gold present at 0, 2, 3, 4 (4); predicted present at 0, 1, 3, 4 (4); both at 0, 3, 4.
    assert m["aspect_precision"] == pytest.approx(3 / 4)
    assert m["aspect_recall"] == pytest.approx(3 / 4)
    assert m["aspect_f1"] == pytest.approx(3 / 4)
    # 4-way over gold-present pairs 0, 2, 3, 4: right at 0 and 3.
    assert (m["accuracy_4way"], m["n_4way"]) == (0.5, 4)
    # 3-way drops the gold conflict pair: 0, 3, 4 -> 2 of 3.
    assert (m["accuracy_3way"], m["n_3way"]) == (pytest.approx(0.6667, abs=1e-4), 3)
    # Binary keeps gold positive/negative: 0, 3 -> both right.
    assert (m["accuracy_binary"], m["n_binary"]) == (1.0, 2)


def test_restricted_predictions_take_the_best_allowed_class_when_scores_are_given():
    gold = ["positive", "negative"]
    pred = ["conflict", "neutral"]  # outside the binary classes
    scores = [
        {"positive": 0.3, "neutral": 0.1, "negative": 0.2, "conflict": 0.4, "none": 0.0},
        {"positive": 0.1, "neutral": 0.5, "negative": 0.3, "conflict": 0.1, "none": 0.0},
    ]
    assert absa_category_metrics(gold, pred)["accuracy_binary"] == 0.0
    with_scores = absa_category_metrics(gold, pred, scores)
    assert with_scores["accuracy_binary"] == 1.0  # positive > negative, then negative > positive
    assert with_scores["accuracy_3way"] == 0.5  # positive is the best of pos/neu/neg; neutral stays wrong
    assert with_scores["accuracy_4way"] == 0.0


def test_no_predicted_aspects_gives_zero_precision_not_an_error():
    m = absa_category_metrics(["positive", "none"], ["none", "none"])
    assert (m["aspect_precision"], m["aspect_recall"], m["aspect_f1"]) == (0.0, 0.0, 0.0)


def test_aspect_terms_accuracy_and_macro_f1():
    gold = ["positive", "positive", "negative", "neutral", "conflict"]
    pred = ["positive", "negative", "negative", "positive", "positive"]
    m = absa_term_metrics(gold, pred)
    assert (m["n"], m["dropped"]) == (4, 1)  # the conflict term is left out
    assert m["accuracy"] == 0.5
    # F1: positive tp1 fp1 fn1 -> 1/2; neutral 0; negative tp1 fp1 -> 2/3.
    assert m["macro_f1"] == pytest.approx((0.5 + 0 + 2 / 3) / 3, abs=1e-4)


def test_sentihood_aspect_f1_strict_accuracy_and_sentiment():
    # Two (sentence, target) groups × 4 aspects.
    groups = ["s1"] * 4 + ["s2"] * 4
    gold = ["positive", "none", "negative", "none", "none", "none", "none", "none"]
    pred = ["positive", "positive", "none", "none", "none", "none", "none", "none"]
    m = sentihood_metrics(gold, pred, groups)
    # Only s1 has gold aspects: pred {0, 1}, gold {0, 2}: P = R = 1/2.
    assert (m["aspect_precision"], m["aspect_recall"], m["aspect_f1"]) == (0.5, 0.5, 0.5)
    assert m["aspect_strict_accuracy"] == 0.5  # s2 all right, s1 not
    assert (m["sentiment_accuracy"], m["n_sentiment"]) == (0.5, 2)


def test_semeval2010_direction_must_match_and_other_is_excluded():
    gold = ["Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Component-Whole(e1,e2)", "Other", "Other"]
    pred = ["Cause-Effect(e1,e2)", "Cause-Effect(e1,e2)", "Other", "Component-Whole(e2,e1)", "Other"]
    m = semeval2010_metrics(gold, pred)
    ce, cw = m["per_relation"]["Cause-Effect"], m["per_relation"]["Component-Whole"]
    # Cause-Effect: 2 predicted, 2 gold, 1 right (the wrong direction counts against both P and R).
    assert (ce["precision"], ce["recall"], ce["f1"]) == (0.5, 0.5, 0.5)
    # Component-Whole: 1 predicted (wrong, its gold is Other), 1 gold (missed).
    assert (cw["precision"], cw["recall"], cw["f1"]) == (0.0, 0.0, 0.0)
    assert "Other" not in m["per_relation"]
    assert m["macro_f1"] == 0.25  # mean of the per-relation F1s, not F1 of the mean P/R
    assert m["accuracy"] == 0.4


def test_semeval2010_macro_f1_is_the_mean_of_per_relation_f1():
    gold = ["Message-Topic(e1,e2)"] * 4 + ["Entity-Origin(e1,e2)"]
    pred = ["Message-Topic(e1,e2)"] * 2 + ["Other"] * 2 + ["Entity-Origin(e1,e2)"]
    m = semeval2010_metrics(gold, pred)
    # Message-Topic P 1, R 1/2, F1 2/3; Entity-Origin F1 1.
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1) / 2, abs=1e-4)
    assert m["macro_precision"] == 1.0 and m["macro_recall"] == 0.75


def _sentence(sid, text, categories=(), terms=()):
    return AbsaSentence(sid, text, tuple(terms), tuple(AspectCategory(c, p) for c, p in categories))


def test_category_units_fill_absent_categories_with_none_and_b_formats_decode_by_yes():
    sentences = [
        _sentence("1", "Great food.", [("food", "positive")]),
        _sentence("2", "Rude staff, fine prices.", [("service", "negative"), ("price", "neutral")]),
    ]
    m = absa_categories(sentences, "qa-m")
    assert m.metadata["categories"] == ["food", "service", "price"]
    assert m.golds == ["positive", "none", "none", "none", "negative", "neutral"]
    b = absa_categories(sentences, "nli-b")
    assert b.labels == ("no", "yes") and b.per_unit == 5
    yes_for = lambda polarity: [[0.9, 0.1] if p != polarity else [0.2, 0.8] for p in b.metadata["polarities"]]  # noqa: E731
    rows = [
        row for polarity in ("positive", "none", "none", "none", "negative", "conflict") for row in yes_for(polarity)
    ]
    predicted, scores = b.decode(rows)
    assert predicted == ["positive", "none", "none", "none", "negative", "conflict"]
    metrics = b.metrics(predicted, scores)
    # Gold present: positive, negative, neutral; the neutral unit is predicted conflict, and restricted
    # to three classes its scores tie (0.1 each), so the first, positive, is taken: still wrong.
    assert metrics["accuracy_4way"] == metrics["accuracy_3way"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["aspect_f1"] == 1.0


def test_term_and_relation_units():
    s = _sentence(
        "1",
        "The pasta was great but the waiter was rude.",
        terms=[AspectTerm("pasta", 4, 9, "positive"), AspectTerm("waiter", 28, 34, "conflict")],
    )
    terms = absa_terms([s])
    assert terms.golds == ["positive"] and terms.metadata["dropped_terms"] == 1
    text = "The storm caused floods."
    rel = relations(
        [RelationExample("r1", text, char_span(text, 4, 9), char_span(text, 17, 23), "Cause-Effect(e1,e2)")]
    )
    assert len(rel.labels) == 19 and rel.added_tokens == ("<e1>", "</e1>", "<e2>", "</e2>")


def test_sentihood_units_group_by_sentence_and_target():
    from app.core.data.prepared import SENTIHOOD_LABELS, prepare
    from app.core.data.readers import load_dataset

    data = load_dataset("tests/fixtures/datasets/sentihood.json")
    units = prepare("absa", "qa-m", data.examples)
    assert units.labels == SENTIHOOD_LABELS and len(units.golds) == 4 * len(set(units.groups))
    # Predict gold everywhere: every SentiHood metric is perfect.
    rows = [[1.0 if label == gold else 0.0 for label in SENTIHOOD_LABELS] for gold in units.golds]
    metrics = units.metrics(*units.decode(rows))
    assert metrics["benchmark"].startswith("sentihood")
    assert metrics["aspect_f1"] == metrics["aspect_strict_accuracy"] == metrics["sentiment_accuracy"] == 1.0


def test_sentihood_aucs_are_per_aspect_roc_aucs_averaged():
    """Sun et al.'s aspect AUC (presence scored by 1 - P(none)) and sentiment AUC (negative scored by
    P(negative) / (P(positive) + P(negative)), gold-present items only), each averaged over the aspects."""
    from sklearn.metrics import roc_auc_score

    aspects = ["price", "safety"] * 4
    gold = ["positive", "none", "negative", "negative", "none", "positive", "negative", "none"]
    p_none = [0.1, 0.7, 0.3, 0.2, 0.6, 0.8, 0.4, 0.1]
    p_negative = [0.2, 0.1, 0.5, 0.7, 0.3, 0.05, 0.1, 0.6]
    scores = [{"none": n, "negative": g, "positive": 1 - n - g} for n, g in zip(p_none, p_negative)]
    m = sentihood_metrics(gold, ["none"] * 8, [str(i // 2) for i in range(8)], scores, aspects)
    presence = [
        roc_auc_score([int(gold[i] != "none") for i in idx], [1 - p_none[i] for i in idx])
        for idx in ([0, 2, 4, 6], [1, 3, 5, 7])
    ]
    assert m["aspect_auc"] == pytest.approx(sum(presence) / 2, abs=1e-4)
    price = [0, 2, 6]  # the items whose gold aspect is present, by aspect
    safety = [3, 5]
    sentiment = [
        roc_auc_score([int(gold[i] == "negative") for i in idx], [p_negative[i] / (1 - p_none[i]) for i in idx])
        for idx in (price, safety)
    ]
    assert m["sentiment_auc"] == pytest.approx(sum(sentiment) / 2, abs=1e-4)
    assert "aspect_auc" not in sentihood_metrics(gold, ["none"] * 8, [str(i // 2) for i in range(8)], scores)


def test_label_metrics_on_known_predictions():
    metrics = label_metrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0])
    assert metrics["accuracy"] == pytest.approx(4 / 6, abs=1e-4) and metrics["n"] == 6
    # F1 per class: 0 -> 1/2, 1 -> 4/5, 2 -> 2/3
    assert metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3, abs=1e-4)
    assert label_metrics([], []) == {"accuracy": None, "macro_f1": None, "n": 0}


def test_macro_f1_counts_a_label_nobody_used_as_zero():
    # "conflict" neither gold nor predicted: F1 0 within the mean over the labels asked for, as sklearn's
    assert macro_f1(["positive", "negative"], ["positive", "positive"], ["positive", "negative", "conflict"]) == (
        pytest.approx((2 / 3 + 0 + 0) / 3)
    )

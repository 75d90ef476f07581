"""The report over seed groups (app/core/report/seed_summary.py) against hand-computed values: mean, sample SD,
min–max and per-seed values per group; the paired difference per shared seed with its 95% t-interval over n
seeds; reliability bins and mean ROC curves over the members. Per-checkpoint results are built by hand in the
shape run_report gives them."""

from __future__ import annotations

import math

import pytest

from app.core.model.seed_groups import SeedGroup
from app.core.report.seed_summary import seed_summary, t_interval, tpr_at

T_975_2 = 4.302652729749464  # Student's t, 97.5% quantile, 2 degrees of freedom (tables: 4.303)


def checkpoint(model, accuracy, adversarial, ece, bins, roc):
    row = {
        "model": model,
        "task": "absa",
        "method": "vanilla",
        "accuracy_name": "accuracy",
        "f1_name": "macro-F1",
        "in_distribution": accuracy,
        "in_distribution_f1": None,
        "shift": None,
        "shift_f1": None,
        "adversarial": adversarial,
        "ece": ece,
        "ece_scaled": None,
        "auroc": None,
        "interpretability": None,
        "interpretability_random": None,
        "interpretability_pretrained": None,
    }
    reliability = [
        {"low": 0.0, "high": 0.5, "count": bins[0][0], "accuracy": bins[0][1], "confidence": None},
        {"low": 0.5, "high": 1.0, "count": bins[1][0], "accuracy": bins[1][1], "confidence": None},
    ]
    model_section = {
        "id": model,
        "calibration": {
            "temperature": 1.0,
            "in_distribution": {"name": "test", "ece": ece, "ece_scaled": None, "reliability": reliability},
            "shift": [],
        },
        "anomaly": {"sets": [{"name": "ood", "auroc": 0.5, "roc": {"fpr": roc[0], "tpr": roc[1]}}]},
    }
    return row, model_section


A = SeedGroup("vanilla", ((13, "vanilla"), (14, "vanilla-seed14"), (15, "vanilla-seed15")))
B = SeedGroup("roast", ((13, "roast-seed13"), (14, "roast-seed14"), (15, "roast-seed15")))
CHANCE = ([0.0, 1.0], [0.0, 1.0])
FIGURES = {  # model: accuracy, adversarial, ece, reliability bins (count, accuracy), ROC
    "vanilla": (0.80, 0.40, 0.10, ((0, None), (10, 0.8)), CHANCE),
    "vanilla-seed14": (0.82, 0.42, 0.20, ((2, 0.5), (8, 0.9)), CHANCE),
    "vanilla-seed15": (0.84, 0.44, 0.30, ((4, 0.25), (6, 1.0)), ([0.0, 0.5, 0.5, 1.0], [0.0, 0.2, 0.8, 1.0])),
    "roast-seed13": (0.83, 0.50, 0.10, ((0, None), (10, 0.8)), CHANCE),
    "roast-seed14": (0.86, 0.53, 0.10, ((0, None), (10, 0.8)), CHANCE),
    "roast-seed15": (0.85, 0.55, 0.10, ((0, None), (10, 0.8)), CHANCE),
    "single": (0.70, None, 0.05, ((0, None), (10, 0.7)), CHANCE),
}


@pytest.fixture
def summary():
    built = [checkpoint(m, *f) for m, f in FIGURES.items()]
    result = {"summary": {"rows": [r for r, _ in built]}, "models": [s for _, s in built]}
    return seed_summary(result, [A, B, "single"])


def test_each_group_has_its_mean_spread_and_per_seed_values(summary):
    vanilla, roast, single = summary["entries"]
    assert [e["label"] for e in summary["entries"]] == ["vanilla@13,14,15", "roast@13,14,15", "single"]
    assert vanilla["group"] and not single["group"]
    accuracy = vanilla["figures"]["in_distribution"]
    assert accuracy["mean"] == pytest.approx(0.82) and accuracy["sd"] == pytest.approx(0.02)
    assert (accuracy["min"], accuracy["max"], accuracy["n"]) == (0.80, 0.84, 3)
    assert [(v["seed"], v["model"], v["value"]) for v in accuracy["values"]] == [
        (13, "vanilla", 0.80),
        (14, "vanilla-seed14", 0.82),
        (15, "vanilla-seed15", 0.84),
    ]
    # 0.83, 0.86, 0.85: mean 0.84667, SD sqrt((0.01667^2 + 0.01333^2 + 0.00333^2) / 2) = 0.015275
    assert roast["figures"]["in_distribution"]["sd"] == pytest.approx(0.0152753, 1e-5)
    # a figure no member has: no mean, n 0; one checkpoint: its value, no SD
    assert vanilla["figures"]["shift"] | {"values": []} == {
        "mean": None,
        "sd": None,
        "min": None,
        "max": None,
        "n": 0,
        "values": [],
    }
    assert single["figures"]["in_distribution"]["mean"] == 0.70 and single["figures"]["in_distribution"]["sd"] is None


def test_two_groups_sharing_seeds_are_compared_seed_by_seed(summary):
    (paired,) = summary["paired"]  # the single checkpoint is in no comparison
    assert (paired["a"], paired["b"], paired["seeds"]) == ("vanilla@13,14,15", "roast@13,14,15", [13, 14, 15])
    accuracy = paired["figures"]["in_distribution"]
    assert [d["difference"] for d in accuracy["per_seed"]] == pytest.approx([0.03, 0.04, 0.01])
    # differences 0.03, 0.04, 0.01: mean 0.02667, SD sqrt(((0.00333)^2 + (0.01333)^2 + (0.01667)^2) / 2) = 0.015275
    half = T_975_2 * 0.0152753 / math.sqrt(3)
    assert accuracy["mean"] == pytest.approx(0.0266667, abs=1e-6) and accuracy["sd"] == pytest.approx(0.0152753, 1e-5)
    assert accuracy["low"] == pytest.approx(0.0266667 - half, abs=1e-6) and accuracy["n"] == 3
    assert accuracy["high"] == pytest.approx(0.0266667 + half, abs=1e-6) and accuracy["excludes_zero"] is False
    # under attack: 0.10, 0.11, 0.11, SD 0.005774, interval [0.0923, 0.1210] excludes 0
    adversarial = paired["figures"]["adversarial"]
    assert adversarial["low"] == pytest.approx(0.106667 - T_975_2 * 0.0057735 / math.sqrt(3), abs=1e-5)
    assert adversarial["excludes_zero"] is True
    ece = paired["figures"]["ece"]  # 0, −0.1, −0.2: mean −0.1, SD 0.1, half-width 0.2484: includes 0
    assert ece["mean"] == pytest.approx(-0.1) and ece["high"] == pytest.approx(-0.1 + T_975_2 * 0.1 / math.sqrt(3))
    assert paired["figures"]["shift"]["n"] == 0 and paired["figures"]["shift"]["low"] is None


def test_t_interval_needs_two_seeds():
    assert t_interval([0.2])["low"] is None and t_interval([0.2])["mean"] == 0.2
    same = t_interval([0.1, 0.1, 0.1])
    assert same["low"] == pytest.approx(0.1) and same["high"] == pytest.approx(0.1) and same["excludes_zero"]


def test_reliability_bins_and_roc_curves_over_the_members(summary):
    vanilla = summary["entries"][0]
    low, high = vanilla["reliability"]["bins"]
    # the low bin is empty for seed 13: the mean of the two seeds that have it
    assert low["n"] == 2 and low["mean"] == pytest.approx(0.375) and low["sd"] == pytest.approx(0.1767767)
    assert high["mean"] == pytest.approx(0.9) and high["count"] == pytest.approx(8.0)
    assert vanilla["reliability"]["bins_scaled"] is None and vanilla["reliability"]["ece"]["mean"] == pytest.approx(0.2)
    (roc,) = vanilla["roc"]
    assert roc["fpr"][10] == 0.5 and len(roc["fpr"]) == 21
    # at FPR 0.5: chance 0.5, 0.5, and the top of seed 15's rise, 0.8; at 0.25: 0.25, 0.25, 0.1
    assert roc["tpr"][10]["mean"] == pytest.approx(0.6) and roc["tpr"][5]["mean"] == pytest.approx(0.2)
    assert [v["value"] for v in roc["tpr"][10]["values"]] == pytest.approx([0.5, 0.5, 0.8])


def test_tpr_at_reads_the_top_of_a_vertical_rise():
    assert tpr_at([0.0, 0.0, 0.5, 1.0], [0.0, 0.6, 0.6, 1.0], [0.0, 0.25, 0.75]).tolist() == pytest.approx(
        [0.6, 0.6, 0.8]
    )

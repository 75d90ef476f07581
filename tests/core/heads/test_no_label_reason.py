"""A head that scores above its best baseline but gets no label says why: which rule (too few examples, or
the lower bound short of the margin), which numbers, how many examples (labels.no_label_reason), and the
analysis result carries it per head and statistic."""

import math

from analysis_support import run_analysis  # tests/ is on sys.path (rootdir conftest)

from app.core.data.demo import demo_dataset
from app.core.heads.labels import DEFAULT_RULE, LABEL_STATISTICS, no_label_reason


def test_too_few_examples_is_named_with_the_count():
    why = no_label_reason("aspect_mass", 0.438, 0.264, 17, 0.078)
    assert why is not None and why.startswith("no aspect label from aspect_mass")
    assert "17 examples" in why and f"the {DEFAULT_RULE.min_examples} a label needs" in why and "0.078" in why


def test_a_lower_bound_short_of_the_margin_is_named_with_the_threshold():
    # best 0.30: threshold 0.30 + max(0.05, 0.25 * 0.30) = 0.375; a lower bound of 0.35 falls short
    why = no_label_reason("opinion_mass", 0.45, 0.35, 60, 0.30)
    assert why is not None and "no aspect-sentiment label" in why
    assert "0.350 does not clear 0.375" in why and "margin 0.075" in why and "n = 60" in why


def test_no_reason_when_labelled_below_the_baseline_or_for_no_label():
    assert no_label_reason("aspect_mass", 0.60, 0.50, 60, 0.10) is None  # the rule is met: labelled
    assert no_label_reason("aspect_mass", 0.05, 0.01, 60, 0.10) is None  # not above the baseline
    assert no_label_reason("aspect_mass", math.nan, math.nan, 0, 0.10) is None
    assert no_label_reason("cls_mass", 0.9, 0.8, 5, 0.1) is None  # a statistic no label rests on


def test_the_analysis_result_says_why_a_head_above_its_baselines_has_no_label(tiny_absa):
    result = run_analysis(tiny_absa, demo_dataset("demo-absa"), limit=12, bootstrap=50, pairs="terms")
    labelled = {s for stats in LABEL_STATISTICS.values() for s in stats}
    reasons = []
    assert not any(row["labels"] for row in result["heads"])  # nothing is labelled on 12 pairs
    for row in result["heads"]:
        for name, stat in row["statistics"].items():
            best = stat["baselines"]["best"]
            above = name in labelled and best is not None and stat["score"] > max(best, 0.0)
            assert ("no_label" in stat) == above, (name, stat)  # 12 pairs: every such head is short of n
            if "no_label" in stat:
                reasons.append(stat["no_label"])
                assert f"{stat['n']} examples" in stat["no_label"]  # 12 pairs: fewer than a label needs
    assert reasons  # some head of the random checkpoint scores above a baseline on 12 pairs

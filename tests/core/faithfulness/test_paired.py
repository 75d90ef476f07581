"""Paired differences between explanation sources on small hand-made arrays: means, CIs, the best head, the pairs a
source was not scored on, and which side the CI favours (comprehensiveness higher, sufficiency lower)."""

from __future__ import annotations

import math

import pytest
import torch

from app.core.faithfulness import paired_differences
from app.core.faithfulness.paired import best_head, difference, interval

NAN = float("nan")


def test_a_constant_difference_has_a_zero_width_interval():
    first, second = torch.tensor([0.5, 0.3, 0.4, 0.6]), torch.tensor([0.2, 0.0, 0.1, 0.3])
    found = difference("ig", "random", "aopc_comprehensiveness", (first, second), 200, 0)
    assert found.pairs == 4
    assert (found.mean, found.low, found.high) == pytest.approx((0.3, 0.3, 0.3))
    assert found.more_faithful == "ig"


def test_two_pairs_give_the_mean_and_the_two_differences_as_bounds():
    # differences 0.1 and -0.3: mean -0.1; a resample's mean is -0.3, -0.1 or 0.1 (1/4, 1/2, 1/4), so the 2.5% and
    # 97.5% percentiles of 1,000 resamples are the two differences themselves
    first, second = torch.tensor([0.4, 0.2]), torch.tensor([0.3, 0.5])
    found = difference("attention:0.1", "rollout", "aopc_comprehensiveness", (first, second), 1000, 0)
    assert (found.mean, found.low, found.high) == pytest.approx((-0.1, -0.3, 0.1))
    assert found.more_faithful is None


def test_sufficiency_lower_is_more_faithful():
    # the head keeps the prediction better (lower sufficiency) on every pair: 0.1 - 0.4, 0.2 - 0.4, 0.0 - 0.3
    head, mean = torch.tensor([0.1, 0.2, 0.0]), torch.tensor([0.4, 0.4, 0.3])
    found = difference("attention:1.0", "head_mean", "aopc_sufficiency", (head, mean), 500, 0)
    assert found.mean == pytest.approx(-0.8 / 3)
    assert -0.3 - 1e-6 <= found.low <= found.mean <= found.high <= -0.2 + 1e-6
    assert found.more_faithful == "attention:1.0"


def test_pairs_a_source_was_not_scored_on_are_left_out():
    flow = torch.tensor([0.6, NAN, 0.2])
    random = torch.tensor([0.1, 0.9, 0.1])
    found = difference("flow", "random", "aopc_comprehensiveness", (flow, random), 200, 0)
    assert found.pairs == 2 and found.mean == pytest.approx((0.5 + 0.1) / 2)
    assert interval(torch.tensor([1.0, NAN, 3.0]), 100, 0).mean == pytest.approx(2.0)
    empty = interval(torch.tensor([NAN, NAN]), 100, 0)
    assert math.isnan(empty.mean) and math.isnan(empty.low)


def test_best_head_and_every_comparison_over_the_same_pairs():
    # three pairs, 2 x 2 heads: head 1.0 has the highest mean comprehensiveness (0.6, 0.8, 0.7 -> 0.7)
    heads = torch.tensor(
        [
            [[0.1, 0.2], [0.6, 0.3]],
            [[0.2, 0.1], [0.8, 0.5]],
            [[0.0, 0.3], [0.7, 0.4]],
        ]
    )
    assert best_head(heads) == (1, 0)
    values = {
        "aopc_comprehensiveness": {
            "attention": heads,
            "head_mean": torch.tensor([0.3, 0.4, 0.35]),
            "flow": torch.tensor([0.5, NAN, 0.3]),
            "random": torch.tensor([0.1, 0.2, 0.0]),
        },
        "aopc_sufficiency": {
            "attention": heads.flip(1),  # head 1.0 here: 0.1, 0.2, 0.0
            "head_mean": torch.tensor([0.3, 0.3, 0.3]),
            "flow": torch.tensor([0.2, NAN, 0.4]),
            "random": torch.tensor([0.5, 0.4, 0.6]),
        },
    }
    found = {(d.figure, d.first, d.second): d for d in paired_differences(values, 200, 0)}
    comp = "aopc_comprehensiveness"
    assert set(found) == {
        (figure, first, second)
        for figure in ("aopc_comprehensiveness", "aopc_sufficiency")
        for first, second in (
            ("attention:1.0", "random"),
            ("head_mean", "random"),
            ("flow", "random"),
            ("attention:1.0", "head_mean"),
            ("attention:1.0", "flow"),
        )
    }
    # best head − head mean: 0.3, 0.4, 0.35 -> 0.35; best head − random: 0.5, 0.6, 0.7 -> 0.6
    assert found[(comp, "attention:1.0", "head_mean")].mean == pytest.approx(0.35)
    assert found[(comp, "attention:1.0", "random")].mean == pytest.approx(0.6)
    # flow was scored on pairs 0 and 2 only: best head − flow = 0.1, 0.4
    against_flow = found[(comp, "attention:1.0", "flow")]
    assert against_flow.pairs == 2 and against_flow.mean == pytest.approx(0.25)
    # the same head (chosen on comprehensiveness) on sufficiency: 0.1 - 0.3, 0.2 - 0.3, 0.0 - 0.3 -> -0.2
    suff = found[("aopc_sufficiency", "attention:1.0", "head_mean")]
    assert suff.mean == pytest.approx(-0.2) and suff.more_faithful == "attention:1.0"
    assert found[("aopc_sufficiency", "head_mean", "random")].mean == pytest.approx(-0.2)

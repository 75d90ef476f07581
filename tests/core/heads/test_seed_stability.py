"""Head roles across seeds (app.core.heads.seed_stability) against sets worked out by hand."""

from fractions import Fraction
from itertools import combinations

import pytest

from app.core.heads.seed_stability import SeedLabels, seed_stability
from app.core.stats.head_overlap import chance_jaccard, jaccard

# A 2 × 2 model (4 heads). aspect: {00, 01}, {00, 11}, {00}; no-op only in seed 14.
MEMBERS = [
    SeedLabels(13, "m", {"aspect": [[0, 0], [0, 1]]}),
    SeedLabels(14, "m-seed14", {"aspect": [[1, 1], [0, 0]], "no-op": [[1, 0]]}),
    SeedLabels(15, "m-seed15", {"aspect": [[0, 0]], "entity": []}),
]


def test_jaccard_counts_shared_over_either_and_is_undefined_for_two_empty_sets():
    assert jaccard({(0, 0), (0, 1)}, {(0, 0), (1, 1)}) == pytest.approx(1 / 3)
    assert jaccard({(0, 0)}, set()) == 0.0
    assert jaccard(set(), set()) is None


def test_chance_jaccard_is_the_hypergeometric_expectation():
    # N = 4, sizes 2 and 2: K = 0, 1, 2 with probabilities 1/6, 4/6, 1/6 -> 4/6 * 1/3 + 1/6 * 2/2 = 7/18
    assert chance_jaccard(2, 2, 4) == pytest.approx(7 / 18)
    assert chance_jaccard(2, 1, 4) == pytest.approx(1 / 4)  # the one head falls in the pair half the time
    assert chance_jaccard(4, 4, 4) == pytest.approx(1.0)
    assert chance_jaccard(0, 3, 4) == 0.0 and chance_jaccard(0, 0, 4) is None
    with pytest.raises(ValueError, match="must lie in 0..4"):
        chance_jaccard(5, 1, 4)


@pytest.mark.parametrize("sizes", [(1, 1), (2, 3), (3, 3), (4, 2)])
def test_chance_jaccard_matches_every_pair_of_sets_enumerated(sizes):
    universe = range(6)
    fixed = set(range(sizes[0]))
    draws = [set(b) for b in combinations(universe, sizes[1])]
    exact = sum(Fraction(len(fixed & b), len(fixed | b)) for b in draws) / len(draws)
    assert chance_jaccard(*sizes, 6) == pytest.approx(float(exact))


def test_stability_per_label_by_hand():
    found = seed_stability(MEMBERS, layers=2, heads=2)
    assert found.seeds == [13, 14, 15] and found.models == ["m", "m-seed14", "m-seed15"]
    assert [s.label for s in found.labels] == ["aspect", "no-op"]  # entity: no seed labelled a head
    aspect, noop = found.labels
    assert aspect.heads == [[[0, 0], [0, 1]], [[0, 0], [1, 1]], [[0, 0]]]
    assert aspect.counts == [[3, 1], [0, 1]]
    assert [(p.seeds, p.sizes, p.shared) for p in aspect.pairs] == [
        ((13, 14), (2, 2), 1),
        ((13, 15), (2, 1), 1),
        ((14, 15), (2, 1), 1),
    ]
    assert [p.jaccard for p in aspect.pairs] == pytest.approx([1 / 3, 1 / 2, 1 / 2])
    assert aspect.mean_jaccard == pytest.approx(4 / 9)
    assert aspect.mean_chance == pytest.approx((7 / 18 + 1 / 4 + 1 / 4) / 3)
    assert aspect.in_all == [[0, 0]] and aspect.stable == [[0, 0, 3]]
    assert aspect.in_all_by_chance == pytest.approx(4 * (2 / 4) * (2 / 4) * (1 / 4))

    assert noop.counts == [[0, 0], [1, 0]] and noop.in_all == [] and noop.stable == []
    # 13 and 15 both empty: no Jaccard, left out of both means; the other two pairs share nothing
    assert [p.jaccard for p in noop.pairs] == [0.0, None, 0.0]
    assert noop.mean_jaccard == 0.0 and noop.mean_chance == pytest.approx(0.0)


def test_stability_json_and_refusal_of_a_single_seed():
    data = seed_stability(MEMBERS, layers=2, heads=2).to_json()
    assert data["labels"][0]["pairs"][0] == {
        "seeds": [13, 14],
        "sizes": [2, 2],
        "shared": 1,
        "jaccard": 0.333333,
        "chance": 0.388889,
    }
    assert "Hypergeometric" in data["chance"]
    with pytest.raises(ValueError, match="two or more seeds"):
        seed_stability(MEMBERS[:1], layers=2, heads=2)

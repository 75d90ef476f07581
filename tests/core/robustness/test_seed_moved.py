"""The moved heads across seeds (app.core.robustness.seed_moved) on result JSON worked out by hand: which ranked
heads count as moved, the overlap per test and query set, and the seeds or tests that cannot be compared."""

import pytest

from app.core.heads.seed_stability import SeedLabels, seed_stability
from app.core.robustness.seed_moved import group_moved_result, moved_across_seeds, moved_set
from app.core.stats.head_overlap import chance_jaccard


def ranked(*heads: tuple[int, int, float]) -> dict:
    """A moved-heads section whose top heads have these lower CI bounds."""
    return {
        "top": [
            {"layer": layer, "head": head, "separation": low + 0.1, "ci": [low, low + 0.2]}
            for layer, head, low in heads
        ]
    }


def report(test: str, focus: dict | None, cls: dict | None, broken: int = 7, held: int = 30) -> dict:
    rate = {"value": 0.5, "ci": [0.4, 0.6], "n": 37}
    return {
        "test": test,
        "moved": {"focus": focus, "cls": cls},
        "broken": broken,
        "held": held,
        **{k: rate for k in ("source_accuracy", "variant_accuracy", "flip_rate")},
        "sources": 37,
        "variants": 37,
    }


def result(model: str, tests: list[dict], shape: tuple[int, int] = (2, 3), top_heads: int = 3) -> dict:
    return {
        "model": {"id": model, "num_layers": shape[0], "num_heads": shape[1]},
        "data": {"name": "demo-absa", "sources": 37},
        "settings": {"top_heads": top_heads},
        "tests": tests,
    }


SEED_13 = result(
    "m",
    [
        report("revnon", ranked((1, 2, 0.3), (1, 0, 0.1), (0, 1, -0.01)), ranked((0, 0, 0.2))),
        report("typo", None, None, broken=0),
    ],
)
SEED_14 = result(
    "m-seed14",
    [
        report("revnon", ranked((1, 2, 0.2), (0, 2, 0.05), (1, 0, 0.0)), ranked((0, 0, 0.1), (1, 1, 0.1))),
        report("typo", ranked((1, 1, 0.2)), None),
        report("only-here", ranked((0, 0, 0.1)), None),
    ],
)


def test_a_ranked_head_counts_as_moved_only_when_its_lower_bound_is_above_zero():
    assert moved_set(SEED_13["tests"][0], "focus") == {(1, 2), (1, 0)}  # 0.1 kept, -0.01 dropped
    assert moved_set(SEED_14["tests"][0], "focus") == {(1, 2), (0, 2)}  # a bound of exactly 0 is not above it
    assert moved_set(SEED_13["tests"][1], "focus") is None


def test_each_test_and_query_set_compares_the_seeds_sets():
    found = moved_across_seeds([13, 14], [SEED_13, SEED_14])
    assert [(row.test, row.query_set) for row in found.tests] == [
        ("revnon", "focus"),
        ("revnon", "cls"),
        ("typo", "focus"),
        ("typo", "cls"),
    ]
    focus = found.tests[0]
    assert focus.heads == [[[1, 0], [1, 2]], [[0, 2], [1, 2]]]
    (pair,) = focus.pairs
    assert (pair.sizes, pair.shared, pair.jaccard) == ((2, 2), 1, pytest.approx(1 / 3))
    assert pair.chance == pytest.approx(chance_jaccard(2, 2, 6))
    assert focus.in_all == [[1, 2]] and focus.stable == [[1, 2, 2]]
    assert focus.in_all_by_chance == pytest.approx(6 * (2 / 6) ** 2)
    assert focus.counts == [[0, 0, 1], [1, 0, 2]]
    cls = found.tests[1]
    assert cls.in_all == [[0, 0]] and cls.pairs[0].jaccard == pytest.approx(1 / 2)
    assert found.tests[0].broken_held == [[7, 30], [7, 30]]


def test_a_seed_that_ranked_no_head_is_unranked_and_a_test_of_one_seed_is_named():
    found = moved_across_seeds([13, 14], [SEED_13, SEED_14])
    typo_focus, typo_cls = found.tests[2], found.tests[3]
    assert typo_focus.unranked == [13] and typo_focus.pairs[0].jaccard == 0.0
    assert typo_cls.unranked == [13, 14] and typo_cls.pairs[0].jaccard is None
    assert found.not_in_every_seed == ["only-here"]


def test_the_group_result_keeps_each_members_figures_and_refuses_what_cannot_be_compared():
    found = group_moved_result("m@13,14", "m", [13, 14], [SEED_13, SEED_14])
    assert [m["model"] for m in found["members"]] == ["m", "m-seed14"]
    assert [t["test"] for t in found["members"][1]["tests"]] == ["revnon", "typo", "only-here"]
    assert found["moved"]["top_heads"] == 3 and found["moved"]["tests"][0]["in_all"] == [[1, 2]]
    with pytest.raises(ValueError, match="differ in shape"):
        moved_across_seeds([13, 14], [SEED_13, result("x", SEED_14["tests"], shape=(3, 3))])
    with pytest.raises(ValueError, match="top_heads"):
        moved_across_seeds([13, 14], [SEED_13, result("x", SEED_14["tests"], top_heads=5)])
    with pytest.raises(ValueError, match="two or more seeds"):
        moved_across_seeds([13], [SEED_13])


def test_each_test_every_seed_ran_has_its_figures_spread_over_the_seeds():
    def with_flip_rate(base: dict, value: float) -> dict:
        return {**base, "tests": [{**base["tests"][0], "flip_rate": {"value": value, "ci": [0, 1], "n": 37}}]}

    found = group_moved_result("m@13,14", "m", [13, 14], [with_flip_rate(SEED_13, 0.2), with_flip_rate(SEED_14, 0.4)])
    (revnon,) = found["figures"]  # each seed's first test only
    assert revnon["test"] == "revnon"
    flips = revnon["flip_rate"]
    assert (flips["mean"], flips["min"], flips["max"], flips["n"]) == (pytest.approx(0.3), 0.2, 0.4, 2)
    assert flips["sd"] == pytest.approx(0.1414214, abs=1e-6)  # sample SD: |0.4 - 0.2| / sqrt(2)
    assert [(v["seed"], v["model"]) for v in flips["values"]] == [(13, "m"), (14, "m-seed14")]
    assert revnon["broken"]["mean"] == 7 and revnon["broken"]["sd"] == 0


def test_a_moved_row_has_the_fields_of_a_labels_row():
    """One drawing of head sets across seeds serves both comparisons: the same names for the same things."""
    labels = seed_stability([SeedLabels(13, "m", {"x": [[0, 0]]}), SeedLabels(14, "n", {"x": [[0, 0]]})], 2, 3)
    label_row = labels.to_json()["labels"][0]
    moved_row = moved_across_seeds([13, 14], [SEED_13, SEED_14]).to_json()["tests"][0]
    assert set(label_row) - {"label"} <= set(moved_row)
    assert {"heads", "counts", "pairs", "mean_jaccard", "in_all", "stable"} <= set(moved_row)

"""A robustness suite over shards of its sources (model tests and scoring on workers) equals one process:
the same variants in the same order, the same predictions and reports, the heads that moved within float
tolerance — here, one shard after another, and on a local Ray instance the test starts itself."""

from __future__ import annotations

import pytest
from test_ray_analysis import assert_close

from app.core.data.demo import demo_dataset
from app.core.passes.sharding import LocalShards
from app.core.robustness.run import run_robustness
from app.core.robustness.settings import RobustnessSettings

VOLATILE = ("run_id", "computed_at", "timings_s")
SETTINGS = RobustnessSettings(
    tests=("q1-typo", "q5-entity-only", "q3-k1", "q3-k2", "q2-hotflip"),
    max_examples=12,
    batch_size=4,
    bootstrap=50,
    budget=10,
    top_heads=3,
    ablate_moved=True,
)


def comparable(result) -> dict:
    body = result.to_json()
    for key in VOLATILE:
        body.pop(key, None)
    return body


@pytest.fixture(scope="module")
def single(relation):
    return run_robustness(relation, demo_dataset("demo-re"), SETTINGS, name="demo-re")


def test_local_shards_equal_one_process(relation, single):
    seen: list[tuple[int, int, str]] = []
    sharded = run_robustness(
        relation,
        demo_dataset("demo-re"),
        SETTINGS,
        name="demo-re",
        shards=LocalShards(3, relation),
        progress=lambda *step: seen.append(step),
    )
    one, many = comparable(single), comparable(sharded)
    tests = {t["test"]: t for t in many["tests"]}
    assert tests["q3-k1"]["variants"] > 0 and tests["q2-hotflip"]["details"]["attacked"] > 0  # model tests ran
    assert tests["q5-entity-only"]["ablated"] is not None  # the masked re-scoring ran on the shards too
    assert_close(one, many)
    assert ("scoring (shards)", 12) in {(phase, total) for _, total, phase in seen}


def test_ray_workers_equal_one_process(ray_local, relation, single):
    """Each Ray worker loads demo-re from its folder and runs its shard's attacks, counterfactuals and scoring."""
    from app.core.passes.ray_shards import RayShards

    shards = RayShards(device="cpu")
    sharded = run_robustness(
        relation, demo_dataset("demo-re"), SETTINGS, name="demo-re", shards=shards, baseline=relation
    )
    assert len(shards.workers) == 2 and len(set(shards.workers)) == 2  # two shards, two worker processes
    many = comparable(sharded)
    many.pop("baseline")
    assert_close(comparable(single), many)
    before = {t["test"]: t for t in sharded.baseline["tests"]}  # the baseline (the same model) on the shards too
    assert before["q5-entity-only"]["variant_accuracy"] == sharded.tests[1].variant_accuracy


def test_worker_processes_equal_one_process(relation, single):
    """`headscope robustness --processes N`'s runner: demo-re loaded by each worker process from its folder."""
    from app.core.passes.sharding import ProcessShards

    with ProcessShards(2, device="cpu") as shards:
        sharded = run_robustness(relation, demo_dataset("demo-re"), SETTINGS, name="demo-re", shards=shards)
    assert_close(comparable(single), comparable(sharded))

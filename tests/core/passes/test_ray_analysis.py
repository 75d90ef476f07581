"""The analysis over shards of the data: merged shards equal one pass (labels identical, statistics within
float tolerance), in this process and on a local Ray instance the test starts itself."""

from __future__ import annotations

import math
import os

import pytest
import torch
from tiny_model import tiny_checkpoint

from app.core.data.demo import demo_dataset
from app.core.heads.analysis import analyze
from app.core.heads.settings import AnalysisSettings
from app.core.passes.sharding import LocalShards, shard_bounds
from app.core.stats.streaming import StatisticAccumulator, TopExamples

VOLATILE = ("run_id", "computed_at", "timings_s", "pairs_per_s")


def assert_close(one, two, path="result") -> None:
    """Equal JSON trees, numbers within float tolerance (NaN equals NaN)."""
    if isinstance(one, dict):
        assert set(one) == set(two), path
        for key in one:
            assert_close(one[key], two[key], f"{path}.{key}")
    elif isinstance(one, (list, tuple)):
        assert len(one) == len(two), path
        for i, (a, b) in enumerate(zip(one, two)):
            assert_close(a, b, f"{path}[{i}]")
    elif isinstance(one, float) or isinstance(two, float):
        if one is None or two is None:
            assert one is two, path
        elif math.isnan(one):
            assert math.isnan(two), path
        else:
            # results carry 6 decimals (the head map 5): sums in another order (another thread count) may round the
            # last one the other way, which is one unit of it, not a difference
            assert two == pytest.approx(one, rel=1e-5, abs=1.01e-5 if ".head_map." in path else 1.5e-6), path
    else:
        assert one == two, path


def comparable(result) -> dict:
    """The result without run-specific values; typical examples as their scores (which of several pairs
    with the same score is kept depends on how the pairs were split into batches, as in one process)."""
    body = result.to_json()
    for key in VOLATILE:
        body.pop(key, None)
    for head in body["heads"]:
        for entry in head["statistics"].values():
            entry["typical"] = [score for _, score in entry.get("typical") or []]
    body.pop("examples")
    return body


def test_shard_bounds_are_whole_batches():
    assert shard_bounds(100, 3, 16) == [(0, 48), (48, 96), (96, 100)]
    assert shard_bounds(10, 4, 16) == [(0, 10)]
    assert shard_bounds(64, 2, 16) == [(0, 32), (32, 64)]


def test_accumulators_merge_as_one_stream():
    torch.manual_seed(0)
    first, second = torch.rand(5, 2, 3), torch.rand(4, 2, 3)
    one, a, b = StatisticAccumulator(), StatisticAccumulator(), StatisticAccumulator()
    one.add("x", torch.cat([first, second]))
    a.add("x", first)
    b.add("x", second)
    a.merge(b)
    assert torch.equal(a.values("x"), one.values("x"))
    top, left, right = TopExamples(3), TopExamples(3), TopExamples(3)
    top.add("x", torch.cat([first, second]), list(range(9)))
    left.add("x", first, list(range(5)))
    right.add("x", second, list(range(5, 9)))
    left.merge(right)
    assert torch.equal(left.values["x"], top.values["x"]) and torch.equal(left.index["x"], top.index["x"])


@pytest.fixture(scope="module")
def tiny_pair():
    return tiny_checkpoint("absa", seed=1), tiny_checkpoint("absa", seed=2)


SETTINGS = AnalysisSettings(max_examples=40, batch_size=6, bootstrap=50, js_sample=15, importance=False, typical_k=3)


def test_local_shards_equal_one_pass(tiny_pair):
    model, base = tiny_pair
    data = demo_dataset("demo-absa")
    single = analyze(model, data, SETTINGS, pretrained=base)
    sharded = analyze(model, data, SETTINGS, pretrained=base, shards=LocalShards(3, model, base))
    assert [h.labels for h in sharded.heads] == [h.labels for h in single.heads]
    assert_close(comparable(single), comparable(sharded))
    assert sharded.head_map.examples == 15 and sharded.data.pairs == single.data.pairs


def test_ig_limit_spans_shards(tiny_pair):
    model, _ = tiny_pair
    settings = SETTINGS.model_copy(update={"ig": True, "ig_steps": 4, "ig_limit": 8, "max_examples": 18})
    data = demo_dataset("demo-absa")
    single = analyze(model, data, settings)
    sharded = analyze(model, data, settings, shards=LocalShards(3, model))
    assert sharded.attribution.ig.examples == single.attribution.ig.examples == 8
    assert_close(comparable(single)["heads"], comparable(sharded)["heads"])


def test_ray_workers_equal_one_pass(ray_local, absa):
    """The demo checkpoint, loaded by each Ray worker from its folder, with the pretrained baseline."""
    from app.core.model.pretrained import load_pretrained_baseline
    from app.core.passes.ray_shards import RayShards

    settings = AnalysisSettings(max_examples=24, batch_size=6, bootstrap=50, js_sample=8, importance=False)
    data = demo_dataset("demo-absa")
    base = load_pretrained_baseline(absa)
    seen: list[tuple[int, int, str]] = []
    shards = RayShards(device="cpu")
    sharded = analyze(
        absa,
        data,
        settings,
        pretrained=base,
        shards=shards,
        progress=lambda done, total, phase: seen.append((done, total, phase)),
    )
    single = analyze(absa, data, settings, pretrained=base)
    assert len(shards.workers) == 2 and len(set(shards.workers)) == 2  # two shards, two worker processes
    assert [h.labels for h in sharded.heads] == [h.labels for h in single.heads]
    assert_close(comparable(single), comparable(sharded))
    assert ("statistics" in {phase for _, _, phase in seen}) and seen[-1][2] == "done"


def test_worker_processes_equal_one_pass(absa):
    """`headscope analyze --processes N`'s runner: the demo checkpoint loaded by each worker process from its
    folder, two shards in two processes, merged into the one-pass result."""
    from app.core.passes.sharding import ProcessShards

    settings = AnalysisSettings(max_examples=24, batch_size=6, bootstrap=50, js_sample=8, importance=False)
    data = demo_dataset("demo-absa")
    seen: list[tuple[int, int, str]] = []
    with ProcessShards(2, device="cpu") as shards:
        sharded = analyze(
            absa, data, settings, shards=shards, progress=lambda done, total, phase: seen.append((done, total, phase))
        )
        workers = shards.workers
    single = analyze(absa, data, settings)
    # two shards, run outside this process (which pool worker takes which shard is the pool's choice)
    assert len(workers) == 2 and all(w.split(":")[1] != str(os.getpid()) for w in workers)
    assert [h.labels for h in sharded.heads] == [h.labels for h in single.heads]
    assert_close(comparable(single), comparable(sharded))
    assert ("statistics" in {phase for _, _, phase in seen}) and seen[-1][2] == "done"

"""Faithfulness over the demo data on the tiny test BERT: the probe rides the attention pass, scores exactly what
one live input gets for the same pair, and the summary keeps every head's CI and the faithful label's rule."""

from __future__ import annotations

import pytest
import torch
from tiny_model import tiny_checkpoint

from app.core.data.demo import demo_dataset
from app.core.faithfulness import (
    FaithfulnessProbe,
    FaithfulnessRequest,
    FaithfulnessSettings,
    dataset_faithfulness,
    evaluate_input,
    faithfulness_of_data,
)
from app.core.inputs.units import encode_unit, unit_specs
from app.core.model.attention import forward_with_attention
from app.core.passes.inspection import Inspection, Prediction

METHODS = ("attention", "head_mean", "rollout", "random")


@pytest.fixture(scope="module")
def absa():
    return tiny_checkpoint("absa", seed=5, layers=2, heads=2)


@pytest.fixture(scope="module")
def specs(absa):
    found, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples))
    return found


def test_probe_over_the_pass_matches_the_live_input(absa, specs):
    probe = FaithfulnessProbe(absa, limit=3, methods=METHODS, random_draws=2)
    section = dataset_faithfulness(absa, specs, probe, bootstrap=50, max_length=128)
    assert section.pairs + section.skipped == 3 and section.pairs >= 1
    assert set(section.sources) == {"head_mean", "rollout", "random"} and set(section.heads) == {"attention"}
    head = section.heads["attention"]["aopc_comprehensiveness"]
    assert torch.tensor(head.mean).shape == (2, 2)
    assert all(
        lo <= m + 1e-9 and m <= hi + 1e-9
        for lo, m, hi in zip(
            torch.tensor(head.low).flatten(), torch.tensor(head.mean).flatten(), torch.tensor(head.high).flatten()
        )
    )
    # the first pair's figures equal the live evaluation of that pair (same ranking, same erasures)
    first = probe.figures.indices[0]
    unit = encode_unit(absa, specs[first], None, 128)
    logits, attention = forward_with_attention(absa.model, unit.encoded.model_inputs())
    label = absa.info.labels[int(logits[0].argmax())]
    inspection = Inspection(absa.info.id, unit.encoded, Prediction(label, {}), attention[0])
    live = evaluate_input(absa, inspection, FaithfulnessRequest(methods=METHODS, random_draws=2, seed=first))
    assert float(probe.figures.values["aopc_comprehensiveness"]["rollout"][0]) == pytest.approx(
        live.sources["rollout"].aopc["comprehensiveness"], rel=1e-3, abs=1e-9
    )
    assert probe.figures.values["aopc_sufficiency"]["attention"][0].flatten().tolist() == pytest.approx(
        torch.tensor(live.heads["attention"]["aopc_sufficiency"]).flatten().tolist(), rel=1e-3, abs=1e-9
    )


def test_faithful_label_follows_its_rule(absa, specs):
    probe = FaithfulnessProbe(absa, limit=4, methods=("attention", "random"), random_draws=2)
    plausibility = torch.rand(2, 2, generator=torch.Generator().manual_seed(0))
    section = dataset_faithfulness(absa, specs, probe, bootstrap=50, max_length=128, plausibility=plausibility)
    comp = section.heads["attention"]["aopc_comprehensiveness_vs_random"]
    suff = section.heads["attention"]["aopc_sufficiency_vs_random"]
    expected = {(l, h) for l in range(2) for h in range(2) if comp.low[l][h] > 0 and suff.high[l][h] < 0}
    assert {(e["layer"], e["head"]) for e in section.faithful} == expected
    assert section.disagreement["plausible"] == int((plausibility > plausibility.median()).sum())
    assert section.to_json()["settings"]["limit"] == 4


def test_flow_within_its_bound_and_the_paired_differences_over_the_pass(absa):
    methods = ("attention", "head_mean", "rollout", "flow", "grad_x_input", "ig", "random")  # no norm-based attention
    settings = FaithfulnessSettings(limit=3, ig_steps=2, random_draws=2, flow_limit=1, methods=methods)
    examples = demo_dataset("demo-absa").examples
    section = faithfulness_of_data(absa, examples, "demo-absa", "auto", settings, bootstrap=50)
    scored = section.pairs
    assert scored >= 2 and section.settings["flow_pairs"] == 1
    assert section.source_pairs["flow"] == 1 and section.source_pairs["rollout"] == scored
    assert "norm_head_mean" not in section.sources and set(section.heads) == {"attention"}
    assert section.sources["flow"]["aopc_comprehensiveness"].mean == pytest.approx(
        section.sources["flow"]["aopc_comprehensiveness"].low
    )  # one pair: its interval is that pair's value
    head_means = torch.tensor(section.heads["attention"]["aopc_comprehensiveness"].mean)
    layer, head = divmod(int(head_means.flatten().argmax()), 2)
    best = f"attention:{layer}.{head}"
    found = {(d.figure, d.first, d.second): d for d in section.paired}
    for figure in ("aopc_comprehensiveness", "aopc_sufficiency"):
        for source in ("head_mean", "rollout", "flow", "ig", "grad_x_input"):
            vs_best = found[(figure, best, source)]
            assert vs_best.pairs == (1 if source == "flow" else scored)
            assert vs_best.low - 1e-9 <= vs_best.mean <= vs_best.high + 1e-9
            # the paired mean is the difference of the two means over the same pairs
            if source != "flow":
                mine = section.sources[source][figure].mean
                theirs = torch.tensor(section.heads["attention"][figure].mean)[layer, head]
                assert vs_best.mean == pytest.approx(float(theirs) - mine, abs=1e-6)
        against = found[(figure, "rollout", "random")]
        assert against.mean == pytest.approx(section.sources["rollout"][f"{figure}_vs_random"].mean, abs=1e-9)
    assert section.source_ms["flow"] > 0 and set(section.source_ms) >= {"ig", "rollout", "attention"}

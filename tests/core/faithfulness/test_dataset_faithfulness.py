"""Faithfulness over the demo data on the tiny test BERT: the probe rides the attention pass, scores exactly what
one live input gets for the same pair, and the summary keeps every head's CI and the faithful label's rule."""

from __future__ import annotations

import pytest
import torch
from tiny_model import tiny_checkpoint

from app.core.data.demo import demo_dataset
from app.core.faithfulness import FaithfulnessProbe, FaithfulnessRequest, dataset_faithfulness, evaluate_input
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

"""The analysis with attention="norm" on the demo ABSA checkpoint (category pairs, with the pretrained baseline):
every statistic reads norm-based attention, and the [SEP] survival section labels the no-op heads exactly as
the analysis on the weights does and reports the share of their [SEP] mass that remains; and the paired ratio
bootstrap it uses."""

import pytest
import torch
from analysis_support import run_analysis

from app.core.data.demo import demo_dataset
from app.core.heads.labels import LabelRule
from app.core.model.pretrained import load_pretrained_baseline
from app.core.stats.bootstrap import bootstrap_ratio_ci

# 48 demo category pairs (about two thirds with the category absent); a rule without margins and with 10 pairs
# enough, so that some heads are labelled no-op on so few pairs (the same rule for both runs)
SETTINGS = {"limit": 48, "bootstrap": 200, "js_sample": 0, "agreement": False}
RULE = LabelRule(absolute_margin=0.0, relative_margin=0.0, min_examples=10)


@pytest.fixture(scope="module")
def both(absa):
    pretrained = load_pretrained_baseline(absa)
    data = demo_dataset("demo-absa")
    weights = run_analysis(absa, data, pretrained=pretrained, rule=RULE, **SETTINGS)
    norm = run_analysis(absa, data, pretrained=pretrained, rule=RULE, attention="norm", **SETTINGS)
    return weights, norm


def statistic(result, name: str) -> torch.Tensor:
    layers, heads = result["model"]["num_layers"], result["model"]["num_heads"]
    scores = torch.full((layers, heads), float("nan"))
    for row in result["heads"]:
        if name in row["statistics"]:
            scores[row["layer"], row["head"]] = row["statistics"][name]["score"]
    return scores


def test_the_no_op_heads_are_those_of_the_weights_analysis(both):
    weights, norm = both
    assert norm["settings"]["attention"] == "norm" and weights["settings"]["attention"] == "weights"
    assert "sep_survival" not in weights
    survival = norm["sep_survival"]
    assert survival["pairs"] == norm["data"]["pairs"] and 0 < survival["absent"] < survival["pairs"]
    noop_on_weights = {(row["layer"], row["head"]) for row in weights["heads"] if "no-op" in row["labels"]}
    assert {(h["layer"], h["head"]) for h in survival["heads"] if h["no_op"]} == noop_on_weights
    assert len(survival["heads"]) == len(noop_on_weights) + 5  # and the five largest contrasts besides
    assert noop_on_weights, "the demo checkpoint has no-op heads on these pairs (by RULE)"
    by_head = {(row["layer"], row["head"]): row for row in weights["heads"]}
    for head in survival["heads"]:
        on_weights = by_head[(head["layer"], head["head"])]["statistics"]
        assert head["noop_contrast"]["low"] == pytest.approx(on_weights["noop_contrast"]["ci"][0], abs=1e-5)
        assert head["weights_sep_mass"] == pytest.approx(on_weights["query_sep_mass"]["score"], abs=1e-5)
        assert head["share"] == pytest.approx(head["norm_sep_mass"] / head["weights_sep_mass"], rel=1e-4)
        assert head["ci"][0] <= head["share"] <= head["ci"][1]
        assert head["ci_absent"][0] <= head["share_absent"] <= head["ci_absent"][1]


def test_every_statistic_reads_norm_based_attention(both):
    weights, norm = both
    sep_weights, sep_norm = statistic(weights, "query_sep_mass"), statistic(norm, "query_sep_mass")
    share = torch.tensor(norm["sep_survival"]["share_all_heads"])
    # the norm run's [SEP] mass is the survival share times the weights run's, head by head
    torch.testing.assert_close(sep_norm, share * sep_weights, rtol=1e-3, atol=1e-5)
    assert not torch.allclose(statistic(weights, "aspect_mass"), statistic(norm, "aspect_mass"), atol=1e-3)
    assert weights["labelled"] != norm["labelled"] or sep_weights.sum() != sep_norm.sum()


def test_paired_ratio_bootstrap():
    torch.manual_seed(0)
    denominator = torch.rand(50, 2, 3) + 0.5
    low, high = bootstrap_ratio_ci(2 * denominator, denominator, 300, seed=1)
    torch.testing.assert_close(low, torch.full((2, 3), 2.0))  # paired: every resample's ratio is exactly 2
    torch.testing.assert_close(high, torch.full((2, 3), 2.0))
    numerator = denominator * (1 + 0.3 * torch.randn(50, 2, 3))
    low, high = bootstrap_ratio_ci(numerator, denominator, 300, seed=1)
    ratio = numerator.mean(0) / denominator.mean(0)
    assert torch.all(low < ratio) and torch.all(ratio < high)
    assert torch.isnan(bootstrap_ratio_ci(torch.empty(0, 2), torch.empty(0, 2))[0]).all()


# The top-[SEP] selection on relations (no aspect, so no no-op contrast): a tiny 2 x 4 RE model, 40 demo sentences
TOP_SEP = {"limit": 40, "bootstrap": 200, "js_sample": 0, "agreement": False}


@pytest.fixture(scope="module")
def relation_runs():
    from tiny_model import tiny_checkpoint

    loaded = tiny_checkpoint("re", layers=2, heads=4)
    data = demo_dataset("demo-re")
    weights = run_analysis(loaded, data, **TOP_SEP)
    norm = run_analysis(loaded, data, attention="norm", sep_heads="top_sep", **TOP_SEP)
    return weights, norm


def test_top_sep_heads_are_those_with_the_most_sep_attention_on_the_weights(relation_runs):
    weights, norm = relation_runs
    survival = norm["sep_survival"]
    assert survival["selection"] == "top_sep" and survival["pairs"] == norm["data"]["pairs"] == 40
    to_sep = statistic(weights, "to_sep")
    expected = [divmod(int(i), to_sep.shape[1]) for i in to_sep.flatten().argsort(descending=True)[:5]]
    assert [(h["layer"], h["head"]) for h in survival["heads"]] == expected
    for head in survival["heads"]:
        assert head["weights_sep_mass"] == pytest.approx(float(to_sep[head["layer"], head["head"]]), abs=1e-5)
        assert head["share"] == pytest.approx(head["norm_sep_mass"] / head["weights_sep_mass"], rel=1e-4)
        assert head["ci"][0] <= head["share"] <= head["ci"][1] and head["ci"][0] < head["ci"][1]
        assert head["noop_contrast"] is None and head["share_absent"] is None
    # the norm run's to_sep is the share times the weights run's, head by head
    share = torch.tensor(survival["share_all_heads"])
    torch.testing.assert_close(statistic(norm, "to_sep"), share * to_sep, rtol=1e-3, atol=1e-5)


def test_relations_have_no_sep_survival_without_the_top_sep_selection(relation_runs):
    from tiny_model import tiny_checkpoint

    result = run_analysis(tiny_checkpoint("re"), demo_dataset("demo-re"), attention="norm", **{**TOP_SEP, "limit": 8})
    assert "sep_survival" not in result and result["settings"]["sep_heads"] == "no_op"
    with pytest.raises(ValueError, match="sep_heads"):
        run_analysis(tiny_checkpoint("re"), demo_dataset("demo-re"), sep_heads="top", **TOP_SEP)

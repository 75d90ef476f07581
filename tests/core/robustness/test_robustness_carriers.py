"""The heads that carry a test's flips (app/core/robustness/carriers.py): the restored fraction per pair is the
per-input patching map's, the same-layer control draws another head of the layer, and over a dataset of flipped
pairs the hand-built model whose label only head (1, 0) carries has that head, and only it, carrying the flips."""

from __future__ import annotations

import json

import pytest
import torch
from planted_model import planted_model  # tests/ is on sys.path (rootdir conftest)

from app.core.inputs.units import UnitSpec, encode_unit
from app.core.passes.inspection import PreparedInspection
from app.core.passes.patching import patching_map
from app.core.robustness.carriers import flipped_pairs, pair_fractions, same_layer_control, sampled
from app.core.robustness.moved import shared_tokens
from app.core.robustness.outcomes import SuiteTest
from app.core.robustness.scoring import Scores
from app.core.robustness.settings import RobustnessSettings
from app.core.robustness.suite import evaluate_variants
from app.core.robustness.variants import Edit, make_variant

# Reviews the planted model calls positive; each variant keeps "food" and rewrites the rest into "We ate food.",
# which it calls neutral: every pair flips.
SOURCES = ["The food was great.", "I liked the food a lot.", "The food is cold and bad.", "The food, the service."]
SOURCES += ["Food was ok.", "The food here is fine.", "The food was awful.", "The food, the service, all fine."]


@pytest.fixture(scope="module")
def planted():
    return planted_model(value_bias=0.5)


def spec(i: int, text: str) -> UnitSpec:
    start = text.lower().index("food")
    return UnitSpec(f"s{i}", text, "food", ((start, start + 4),), polarity="positive", present=True)


def rewritten(i: int, source: UnitSpec):
    (start, end), text = source.term_spans[0], source.text
    edits = [Edit(0, start, "We ate ") if start else Edit(0, 0, "We ate "), Edit(end, len(text), ".")]
    return make_variant(i, source, "rewritten", edits)


def test_the_restored_fraction_is_the_patching_maps_per_head(planted):
    source = spec(0, SOURCES[0])
    clean = encode_unit(planted, source).encoded
    corrupted = encode_unit(planted, rewritten(0, source).spec).encoded
    found = pair_fractions(planted, clean, corrupted, 0, 1)
    left, right = shared_tokens(clean, corrupted)
    alignment = [list(zip(left, right))]
    expected = patching_map(planted, PreparedInspection([clean]), PreparedInspection([corrupted]), alignment)
    assert expected.clean_label == "positive" and expected.corrupted_label == "neutral"
    assert found.flatten().tolist() == pytest.approx([v for row in expected.heads for v in row], abs=1e-6)
    assert found[1, 0] >= 0.9 and float(found.flatten()[[0, 1, 3]].abs().max()) < 1e-6
    # by hand: (d_patched - d_corrupted) / (d_clean - d_corrupted), d = logit[positive] - logit[neutral]
    d_clean, d_corrupted = expected.clean_difference, expected.corrupted_difference
    d_patched = expected.raw["heads"][2]
    assert float(found[1, 0]) == pytest.approx((d_patched - d_corrupted) / (d_clean - d_corrupted), abs=1e-6)


def test_the_control_is_another_head_of_the_same_layer():
    pairs, layers, heads = 400, 3, 4
    # each value names its own head: pair * 100 + layer * 10 + head
    values = torch.arange(heads).view(1, 1, heads) + 10 * torch.arange(layers).view(1, layers, 1)
    fractions = (values + 100 * torch.arange(pairs).view(pairs, 1, 1)).double()
    control = same_layer_control(fractions, seed=3)
    drawn = control.long() % 100
    assert torch.equal(drawn // 10, torch.arange(layers).view(1, layers, 1).expand(pairs, layers, heads))
    assert not (drawn % 10 == torch.arange(heads)).any()  # never the head itself
    assert torch.equal(control.long() // 100, torch.arange(pairs).view(pairs, 1, 1).expand(pairs, layers, heads))
    counts = torch.bincount((drawn % 10)[:, 0, 0], minlength=heads)  # head 0's controls: heads 1..3 alike
    assert counts[0] == 0 and counts[1:].min() > 100
    assert torch.equal(control, same_layer_control(fractions, seed=3))
    two = torch.tensor([[[0.25, 0.75]]])
    assert same_layer_control(two, seed=0).tolist() == [[[0.75, 0.25]]]  # two heads: the other one


def test_only_flipped_pairs_of_right_sources_are_patched_at_most_the_limit():
    variants = [rewritten(i, spec(i, text)) for i, text in enumerate(SOURCES[:4])]
    # sources 0..3: right, right, wrong, right; variants: flipped wrong, held, flipped, flipped to its own gold
    scores = Scores([0, 0, 1, 0], [1, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 2])
    assert flipped_pairs(range(4), variants, scores) == [0]
    assert sampled(list(range(10)), 3, seed=0) == sampled(list(range(10)), 3, seed=0)
    assert len(sampled(list(range(10)), 3, seed=0)) == 3 and sampled([4, 5], 3, seed=0) == [4, 5]


def test_over_a_dataset_the_planted_head_alone_carries_the_flips(planted):
    sources = [spec(i, text) for i, text in enumerate(SOURCES)]
    variants = [rewritten(i, s) for i, s in enumerate(sources)]
    settings = RobustnessSettings(bootstrap=200, top_heads=2, patch=True, patch_limit=6)
    result = evaluate_variants(
        planted, sources, variants, {"rewritten": SuiteTest("rewritten")}, settings, data={}
    ).to_json()
    report = result["tests"][0]
    assert report["broken"] == len(SOURCES)  # every source right, every variant flipped to neutral
    patched = report["patched"]
    assert patched["eligible"] == len(SOURCES) and patched["pairs"] == 6 and patched["limit"] == 6
    assert [(h["layer"], h["head"]) for h in patched["carriers"]] == [(1, 0)]
    top = patched["carriers"][0]
    assert top["restored"] >= 0.9 and top["ci"][0] > top["control_ci"][1]
    assert top["control"] == pytest.approx(0.0, abs=1e-6)  # its layer's other head restores nothing
    assert patched["restored"]["mean"][1][0] == top["restored"]
    assert max(abs(patched["restored"]["mean"][layer][head]) for layer, head in ((0, 0), (0, 1), (1, 1))) < 1e-6
    assert patched["control"]["mean"][1][1] == pytest.approx(top["restored"], abs=1e-6)  # its control: head 1.0
    moved = {tuple(h) for h in patched["moved"]}
    assert {tuple(h) for h in patched["both"]} == moved & {(1, 0)}
    assert {tuple(h) for h in patched["moved_only"]} == moved - {(1, 0)}
    assert "same layer" in patched["control_rule"]
    assert "patching" in result["timings_s"]


def test_cli_patch_names_the_heads_that_carry_the_flips(cli_env, models_dir, tmp_path):
    from typer.testing import CliRunner

    from app.cli import cli

    cli_env(HEADSCOPE_MODELS_DIR=str(models_dir), HEADSCOPE_DEVICE="cpu", COLUMNS="200")
    out = tmp_path / "r.json"
    flags = ["--tests", "q5-entity-only", "--limit", "40", "--bootstrap", "100", "--no-progress", "--out", str(out)]
    result = CliRunner().invoke(
        cli, ["robustness", "--model", "demo-re", "--data", "demo-re", *flags, "--patch", "--patch-limit", "5"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())["tests"][0]
    patched = report["patched"]
    assert patched["eligible"] >= 5 and patched["pairs"] == 5 and patched["limit"] == 5  # the limit holds
    assert len(patched["restored"]["mean"]) == 6 and len(patched["control"]["high"][0]) == 12
    for head in patched["carriers"]:
        restored = patched["restored"]
        assert head["restored"] == restored["mean"][head["layer"]][head["head"]]
        assert head["ci"][0] > head["control_ci"][1]
    ranked = report["moved"]["focus"] or report["moved"]["cls"]  # None when too few broken or held pairs
    moved = [[h["layer"], h["head"]] for h in ranked["top"]] if ranked else []
    assert patched["moved"] == moved and sorted(patched["both"] + patched["moved_only"]) == sorted(moved)
    text = " ".join(result.output.split())
    assert "heads that carry the flips" in text and "at most 5 flipped pairs per test (--patch-limit)" in text
    assert "5 of" in text and "same layer" in text
    if patched["carriers"]:
        top = patched["carriers"][0]
        assert f"{top['layer']}.{top['head']} {top['restored']:.2f}" in text
    plain = CliRunner().invoke(cli, ["robustness", "--model", "demo-re", "--data", "demo-re", *flags])
    assert plain.exit_code == 0 and "patched" not in json.loads(out.read_text())["tests"][0]
    assert "heads that carry the flips" not in plain.output

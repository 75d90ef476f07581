"""Scoring a suite on the real demo checkpoints: predictions, per-test figures and the heads that moved."""

from __future__ import annotations

import json

from app.core.data.demo import demo_dataset
from app.core.inputs.units import encode_unit, unit_specs
from app.core.robustness.moved import pair_change, shared_tokens
from app.core.robustness.outcomes import SuiteTest
from app.core.robustness.settings import RobustnessSettings
from app.core.robustness.suite import evaluate_variants
from app.core.robustness.variants import Edit, make_variant


def relation_sources(relation, count=40):
    specs, _ = unit_specs(relation, list(demo_dataset("demo-re").examples))
    return specs[:count]


def simple_variants(sources):
    """Two transformations written here: a sentence-final clause appended, and e1's words swapped for "thing"."""
    variants = []
    for i, spec in enumerate(sources):
        end = len(spec.text.rstrip("."))
        variants.append(make_variant(i, spec, "appended", [Edit(end, end, ", as was said")]))
        e1 = spec.relation.e1
        variants.append(make_variant(i, spec, "entity-swapped", [Edit(e1.start, e1.end, "thing")]))
    return variants


def test_shared_tokens_leave_out_exactly_the_edit(relation):
    source = relation_sources(relation, 1)[0]
    variant = simple_variants([source])[0]
    first, second = encode_unit(relation, source).encoded, encode_unit(relation, variant.spec).encoded
    left, right = shared_tokens(first, second)
    assert len(second.input_ids) - len(right) >= 3  # ", as was said" is new
    assert [first.input_ids[i] for i in left] == [second.input_ids[j] for j in right]
    assert len(left) == len(first.input_ids)  # nothing of the source was edited away


def test_a_pair_with_itself_did_not_move(relation):
    from app.core.model.attention import forward_with_attention

    unit = encode_unit(relation, relation_sources(relation, 1)[0])
    _, attention = forward_with_attention(relation.model, unit.encoded.model_inputs(relation.device))
    change = pair_change(attention[0], attention[0], unit.encoded, unit.encoded, "re")
    assert set(change) == {"focus", "cls"} and all(float(v.abs().max()) < 1e-6 for v in change.values())


def test_suite_report_on_the_demo_relations(relation):
    sources = relation_sources(relation)
    variants = simple_variants(sources)
    infos = {
        "appended": SuiteTest("appended", "random"),
        "entity-swapped": SuiteTest("entity-swapped", "semantic-bias", debiasing=True),
    }
    settings = RobustnessSettings(bootstrap=100, batch_size=16, top_heads=3, ablate_moved=True)
    calls = []
    result = evaluate_variants(
        relation, sources, variants, infos, settings, data={"name": "demo-re"}, progress=lambda *c: calls.append(c)
    ).to_json()
    text = json.dumps(result, allow_nan=False)
    assert "NaN" not in text and calls[-1][2] == "done"
    appended, swapped = result["tests"]
    assert appended["sources"] == swapped["sources"] == 40 and appended["variants"] == 40
    assert 0.5 <= result["overall"]["source_accuracy"] <= 1 and appended["source_accuracy"]["n"] == 40
    for report in (appended, swapped):
        low, high = report["variant_accuracy"]["ci"]
        assert low <= report["variant_accuracy"]["value"] <= high
        assert report["broken"] + report["held"] <= report["variants"]
        flips = sum(sum(row.values()) for row in report["flips"].values())
        assert flips == round(report["flip_rate"]["value"] * report["variants"])
    assert swapped["debiased_accuracy"] is not None and appended["debiased_accuracy"] is None
    assert appended["aspect_robustness"] is None  # RE has no aspects
    # the entity swap breaks more predictions than an appended clause, and its pairs moved
    assert swapped["flip_rate"]["value"] >= appended["flip_rate"]["value"]
    moved = swapped["moved"]["cls"]
    if swapped["broken"] and swapped["held"]:
        assert len(moved["top"]) == 3 and len(moved["broken"]["mean"]) == relation.info.num_layers
        assert (
            swapped["ablated"]["heads"] == [[h["layer"], h["head"]] for h in swapped["moved"]["focus"]["top"]]
            or swapped["moved"]["focus"] is None
        )
    rows = swapped["examples"]
    assert rows and rows[0]["broken"] == (swapped["broken"] > 0)
    assert "<e1>" in rows[0]["edited"]["inspect"]["text"] and "thing" in rows[0]["edited"]["text"]


def test_heads_that_moved_separate_broken_from_held_pairs(relation):
    """Half the variants get a gold label the model does not give: those pairs break, the others hold."""
    sources = relation_sources(relation, 48)
    labels = relation.info.labels
    variants = []
    for i, spec in enumerate(sources):
        end = len(spec.text.rstrip("."))
        wrong = next(l for l in labels if l != spec.polarity) if i % 2 else None
        variants.append(make_variant(i, spec, "relabelled", [Edit(end, end, " today")], label=wrong))
    settings = RobustnessSettings(bootstrap=100, top_heads=4, ablate_moved=True)
    result = evaluate_variants(
        relation, sources, variants, {"relabelled": SuiteTest("relabelled")}, settings, data={}
    ).to_json()
    report = result["tests"][0]
    assert report["broken"] >= 15 and report["held"] >= 15
    for name in ("focus", "cls"):
        moved = report["moved"][name]
        layers, heads = relation.info.num_layers, relation.info.num_heads
        assert len(moved["separation"]["mean"]) == layers and len(moved["separation"]["mean"][0]) == heads
        lows = [h["ci"][0] for h in moved["top"]]
        assert len(moved["top"]) == 4 and lows == sorted(lows, reverse=True)
        assert moved["broken"]["n"] == report["broken"] and moved["held"]["n"] == report["held"]
    ablated = report["ablated"]
    assert len(ablated["heads"]) == 4 and len(ablated["random_heads"]) == 4
    assert not {tuple(h) for h in ablated["heads"]} & {tuple(h) for h in ablated["random_heads"]}
    assert 0 <= ablated["variant_accuracy"]["value"] <= 1

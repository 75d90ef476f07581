"""Interventions on heads (app/core/model/interventions.py) and the passes over them (passes/intervention.py,
knockout.py, head_means.py) on tiny BERTs: no head chosen and a factor of one leave the forward bit for
bit, a zeroed head equals the layer computed by hand without it, a mean-replaced head carries the mean,
each knock-out equals its own separate forward, and a hand-built model whose label only head (1, 0)
carries has that head ranked first."""

from __future__ import annotations

import pytest
import torch
from planted_model import planted_model  # tests/ is on sys.path (rootdir conftest)
from tiny_model import tiny_checkpoint

from app.core.model.errors import InputError
from app.core.model.hooks import cache, head_out, hooks, zero_heads
from app.core.model.interventions import Intervention, check_intervention, intervention_hooks, mean_head_outputs
from app.core.passes import knockout
from app.core.passes.head_means import demo_reference, reference_means
from app.core.passes.inspection import InspectionInput, inspect, prepare_inspection
from app.core.passes.intervention import inspect_intervened, plain_outcome
from app.core.passes.knockout import knockout_map

TEXT = InspectionInput("The food was great but the service was slow.", "food")


@pytest.fixture(scope="module")
def tiny():
    return tiny_checkpoint("absa", seed=1)


@pytest.fixture(scope="module")
def prepared(tiny):
    return prepare_inspection(tiny, TEXT)


def hidden_states(loaded, prepared, fns=None):
    with torch.no_grad(), hooks(loaded.model, fns or {}):
        return loaded.model(**prepared.encodeds[0].model_inputs(), output_hidden_states=True).hidden_states


def by_hand_layer(layer, hidden, zeroed_head):
    """One BERT layer of a single unpadded input from its weights (eval), one head's context zeroed."""
    own, tokens = layer.attention.self, hidden.shape[1]
    heads, size = own.num_attention_heads, own.attention_head_size

    def split(x):
        return x.view(1, tokens, heads, size).transpose(1, 2)

    q, k, v = split(own.query(hidden)), split(own.key(hidden)), split(own.value(hidden))
    context = (torch.softmax(q @ k.transpose(-1, -2) / size**0.5, dim=-1) @ v).transpose(1, 2).reshape(1, tokens, -1)
    context[:, :, zeroed_head * size : (zeroed_head + 1) * size] = 0.0
    out = layer.attention.output
    attended = out.LayerNorm(out.dense(context) + hidden)
    return layer.output.LayerNorm(layer.output.dense(layer.intermediate(attended)) + attended)


# --- one intervened inspection --------------------------------------------------------------------


@pytest.mark.parametrize("intervention", [Intervention(()), Intervention(((0, 1), (1, 0)), "scale", 1.0)])
def test_no_head_or_a_factor_of_one_leaves_the_inspection_bit_for_bit(tiny, prepared, intervention):
    plain = inspect(tiny, TEXT)
    result = inspect_intervened(tiny, prepared, intervention)
    assert torch.equal(result.inspection.attention, plain.attention)
    assert result.inspection.prediction == plain.prediction
    assert result.before == result.after
    assert result.after.probabilities == plain.prediction.probabilities
    assert set(result.to_json()["delta"].values()) == {0.0}


def test_no_head_adds_no_hook():
    assert intervention_hooks(Intervention((), "mean"), 2) == {}


@pytest.mark.parametrize("zeroed", [(0, 0), (1, 1)])
def test_a_zeroed_head_equals_the_layer_computed_by_hand_without_it(tiny, prepared, zeroed):
    layer, head = zeroed
    fns = intervention_hooks(Intervention((zeroed,)), 2)
    plain, hooked = hidden_states(tiny, prepared), hidden_states(tiny, prepared, fns)
    with torch.no_grad():
        expected = by_hand_layer(tiny.model.bert.encoder.layer[layer], plain[layer], head)
    assert torch.allclose(hooked[layer + 1], expected, atol=1e-5)
    assert not torch.allclose(hooked[layer + 1], plain[layer + 1], atol=1e-3)
    assert torch.equal(hooked[layer], plain[layer])  # earlier layers untouched


def test_the_intervened_attention_changes_after_the_zeroed_layer_only(tiny, prepared):
    plain = inspect(tiny, TEXT)
    result = inspect_intervened(tiny, prepared, Intervention(((0, 0), (0, 1))))
    assert torch.equal(result.inspection.attention[0], plain.attention[0])  # its own pattern is computed before
    assert not torch.equal(result.inspection.attention[1], plain.attention[1])  # tiny weights: small changes
    assert result.after.probabilities != result.before.probabilities


def test_scale_by_zero_is_zeroing(tiny, prepared):
    scaled = inspect_intervened(tiny, prepared, Intervention(((1, 0),), "scale", 0.0))
    zeroed = inspect_intervened(tiny, prepared, Intervention(((1, 0),)))
    assert scaled.after == zeroed.after


def test_mean_outputs_are_the_average_over_real_tokens(tiny):
    batch = dict(
        tiny.tokenizer(["Great food.", "The service was slow today."], ["food"] * 2, return_tensors="pt", padding=True)
    )
    store = {}
    with torch.no_grad(), hooks(tiny.model, {head_out(1): cache(store)}):
        tiny.model(**batch)
    real = batch["attention_mask"].bool()
    expected = store[head_out(1)][real].mean(0)
    assert torch.allclose(mean_head_outputs(tiny.model, [batch])[1], expected, atol=1e-6)


def test_a_mean_replaced_head_outputs_the_reference_mean(tiny, prepared):
    means = reference_means(tiny)
    assert reference_means(tiny, demo_reference(tiny)) is means  # computed once per model and reference
    assert means.shape == (2, 2, 8)
    store = {}
    fns = intervention_hooks(Intervention(((1, 1),), "mean"), 2, means)
    with torch.no_grad(), hooks(tiny.model, fns) as active:
        active.add(head_out(1), cache(store))
        tiny.model(**prepared.encodeds[0].model_inputs())
    out = store[head_out(1)]
    assert torch.equal(out[0, :, 1], means[1, 1].expand(out.shape[1], -1))
    result = inspect_intervened(tiny, prepared, Intervention(((1, 1),), "mean"))
    assert result.after.probabilities != result.before.probabilities


@pytest.mark.parametrize(
    ("intervention", "field", "words"),
    [
        (Intervention(((0, 0),), "drop"), "intervene.mode", "accepted zero, mean, scale"),
        (Intervention(((2, 0),)), "intervene.heads", "layers 0..1"),
        (Intervention(((0, 2),)), "intervene.heads", "heads 0..1"),
        (Intervention(((0, 0), (0, 0))), "intervene.heads", "more than once"),
        (Intervention(((0, 0),) * 5), "intervene.heads", "the model has 4"),
        (Intervention(((0, 0),), "scale", float("nan")), "intervene.factor", "finite"),
        (Intervention(((0, 0),), "zero", 0.5), "intervene.factor", "scale only"),
    ],
)
def test_an_intervention_that_does_not_fit_is_refused_naming_what_is_accepted(intervention, field, words):
    with pytest.raises(InputError, match=words) as refused:
        check_intervention(intervention, (2, 2))
    assert refused.value.field == field


# --- the knock-out map -----------------------------------------------------------------------------


def separate_probability(loaded, prepared, label, fns):
    with torch.no_grad(), hooks(loaded.model, fns):
        logits = loaded.model(**prepared.encodeds[0].model_inputs()).logits[0]
    return float(logits.softmax(-1)[loaded.info.labels.index(label)]), float(logits[loaded.info.labels.index(label)])


def test_each_knock_out_equals_its_own_forward(tiny, prepared):
    found = knockout_map(tiny, prepared)
    alone = plain_outcome(tiny, prepared)
    assert found.label == alone.label
    assert found.plain.probabilities == pytest.approx(alone.probabilities, abs=1e-6)
    for layer in range(2):
        for head in range(2):
            probability, logit = separate_probability(
                tiny, prepared, found.label, {head_out(layer): zero_heads([head])}
            )
            assert found.heads[layer][head].probability == pytest.approx(probability, abs=1e-6)
            assert found.heads[layer][head].logit == pytest.approx(logit, abs=1e-5)
        probability, _ = separate_probability(tiny, prepared, found.label, {head_out(layer): zero_heads([0, 1])})
        assert found.layers[layer].probability == pytest.approx(probability, abs=1e-6)


def test_a_map_in_many_small_batches_is_the_same_map(tiny, prepared, monkeypatch):
    whole = knockout_map(tiny, prepared)
    monkeypatch.setattr(knockout, "MAX_ROWS", 2)  # 7 knock-outs: 4 forwards, the last one short
    pieces = knockout_map(tiny, prepared)
    assert [r.effect for r in pieces.layers] == pytest.approx([r.effect for r in whole.layers], abs=1e-6)
    assert pieces.ranking() == [{**r, "effect": pytest.approx(r["effect"], abs=1e-6)} for r in whole.ranking()]


def test_a_mean_knock_out_equals_its_own_forward(tiny, prepared):
    found = knockout_map(tiny, prepared, "mean")
    fns = intervention_hooks(Intervention(((1, 0),), "mean"), 2, reference_means(tiny))
    probability, logit = separate_probability(tiny, prepared, found.label, fns)
    assert found.heads[1][0].probability == pytest.approx(probability, abs=1e-6)
    assert found.heads[1][0].logit == pytest.approx(logit, abs=1e-5)


def test_the_head_that_carries_the_label_is_ranked_first():
    planted = planted_model()
    found = knockout_map(planted, prepare_inspection(planted, TEXT))
    assert found.label == planted.info.labels[0] and found.plain.probabilities[found.label] > 0.9
    assert found.ranking()[0] == {"layer": 1, "head": 0, "effect": found.heads[1][0].effect}
    assert found.heads[1][0].effect > 0.5
    others = [found.heads[layer][head].effect for layer, head in ((0, 0), (0, 1), (1, 1))]
    assert max(abs(e) for e in others) < 1e-6
    assert found.layers[1].effect == pytest.approx(found.heads[1][0].effect, abs=1e-6)
    assert abs(found.layers[0].effect) < 1e-6

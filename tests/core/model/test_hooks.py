"""The hook mechanism (app/core/model/hooks.py) and head masks (head_mask.py) on the tiny 2x2 BERT, tiny
RoBERTa / ELECTRA / DistilBERT encoders and the demo checkpoint: hooks never outlive their block, each
head's output recombines into the layer's attention output, a zeroed head equals the layer computed by
hand from its weights without that head, and gates of one leave the forward bit for bit."""

from __future__ import annotations

import pytest
import torch
from tiny_model import tiny_checkpoint  # tests/ is on sys.path (rootdir conftest)

from app.core.model.errors import AttentionUnavailableError
from app.core.model.head_mask import head_mask, mask_shape, mask_without, masked_logits
from app.core.model.hooks import (
    EMBEDDING_OUTPUT,
    WORD_EMBEDDING,
    UnsupportedModelError,
    attn_out,
    block_out,
    cache,
    head_out,
    hook_points,
    hooks,
    pattern,
    replace_heads,
    replace_with,
    scale_heads,
    value,
    zero_heads,
)


@pytest.fixture(scope="module")
def tiny():
    return tiny_checkpoint("absa", seed=1)


def encode(loaded, texts=("The food was great but the service was slow.", "Cheap wine.")):
    return dict(loaded.tokenizer(list(texts), ["food"] * len(texts), return_tensors="pt", padding=True))


def leftover_hooks(model: torch.nn.Module) -> dict[str, int]:
    """Module name -> how many forward, pre-forward and backward hooks it holds (modules holding none left out)."""
    counts = {
        name: len(module._forward_hooks) + len(module._forward_pre_hooks) + len(module._backward_hooks)
        for name, module in model.named_modules()
    }
    return {name: count for name, count in counts.items() if count}


def test_hooks_go_when_the_block_ends_also_after_an_exception(tiny):
    model, batch = tiny.model, encode(tiny)
    with hooks(model, {head_out(0): zero_heads([1]), WORD_EMBEDDING: cache({})}) as active:
        active.add(pattern(1), cache({}))
        assert leftover_hooks(model)
        model(**batch)
    assert leftover_hooks(model) == {}
    with pytest.raises(RuntimeError, match="in the block"), hooks(model, {attn_out(1): cache({})}):
        raise RuntimeError("in the block")
    assert leftover_hooks(model) == {}
    with pytest.raises(ValueError, match="read only"), hooks(model, {pattern(0): lambda value, point: value}):
        model(**batch)  # the hook itself raises during the forward
    assert leftover_hooks(model) == {}
    with (
        pytest.raises(KeyError, match="no hook point"),
        hooks(model, {head_out(0): cache({}), "blocks.9.x": cache({})}),
    ):
        pass
    assert leftover_hooks(model) == {}
    with head_mask(model, torch.zeros(mask_shape(model))), pytest.raises(RuntimeError):
        raise RuntimeError
    assert leftover_hooks(model) == {}


def test_points_are_resolved_once_and_named_for_every_layer(tiny):
    points = hook_points(tiny.model)
    assert hook_points(tiny.model) is points
    assert (points.layers, points.heads) == (2, 2)
    assert set(points) == {WORD_EMBEDDING, EMBEDDING_OUTPUT} | {
        f(i) for i in range(2) for f in (pattern, value, head_out, attn_out, block_out)
    }
    assert points[value(1)].module is tiny.model.bert.encoder.layer[1].attention.self.value
    assert points[head_out(1)].module is tiny.model.bert.encoder.layer[1].attention.output.dense
    assert points[WORD_EMBEDDING].module is tiny.model.bert.embeddings.word_embeddings


def test_cached_points_match_the_forward(tiny):
    model, batch = tiny.model, encode(tiny)
    store = {}
    names = [WORD_EMBEDDING, EMBEDDING_OUTPUT, pattern(1), head_out(1), attn_out(1)]
    with torch.no_grad(), hooks(model, {name: cache(store) for name in names}):
        output = model(**batch, output_attentions=True, output_hidden_states=True)
    tokens = batch["input_ids"].shape[1]
    assert torch.equal(store[WORD_EMBEDDING], model.bert.embeddings.word_embeddings(batch["input_ids"]))
    assert torch.equal(store[EMBEDDING_OUTPUT], output.hidden_states[0])
    assert torch.equal(store[pattern(1)], output.attentions[1])
    assert store[head_out(1)].shape == (2, tokens, 2, 8)


def test_each_layers_output_is_the_models_next_hidden_states(tiny):
    model, batch = tiny.model, encode(tiny)
    store = {}
    with torch.no_grad(), hooks(model, {block_out(i): cache(store) for i in range(2)}):
        output = model(**batch, output_hidden_states=True)
    for layer in range(2):
        assert torch.equal(store[block_out(layer)], output.hidden_states[layer + 1])


def test_a_replaced_layer_output_is_what_the_later_layers_read(tiny):
    model, batch = tiny.model, encode(tiny)
    with torch.no_grad():
        plain = model(**batch, output_hidden_states=True)
        zeros, store = torch.zeros_like(plain.hidden_states[1]), {}
        with hooks(model, {block_out(0): [replace_with(zeros), cache(store)], block_out(1): cache(store)}):
            changed = model(**batch)
    assert torch.equal(store[block_out(0)], zeros)
    assert not torch.equal(store[block_out(1)], plain.hidden_states[2])
    assert not torch.equal(changed.logits, plain.logits)


def test_head_outputs_recombine_through_the_projection_into_the_attention_output(tiny):
    recombines(tiny)


def test_head_outputs_of_the_demo_checkpoint_recombine_too(absa):
    recombines(absa)


def recombines(loaded):
    model, batch = loaded.model, encode(loaded)
    layer = hook_points(model).layers - 1
    store = {}
    with torch.no_grad(), hooks(model, {head_out(layer): cache(store), attn_out(layer): cache(store)}):
        model(**batch)
    heads, projection = store[head_out(layer)], model.bert.encoder.layer[layer].attention.output.dense
    size = heads.shape[-1]
    per_head = sum(heads[:, :, h] @ projection.weight[:, h * size : (h + 1) * size].T for h in range(heads.shape[2]))
    assert torch.allclose(per_head + projection.bias, store[attn_out(layer)], atol=1e-5)
    assert torch.equal(
        torch.nn.functional.linear(heads.flatten(-2), projection.weight, projection.bias), store[attn_out(layer)]
    )


def by_hand_layer(layer, hidden, attention_mask, zeroed_head):
    """One BERT layer from its weights (eval: no dropout), the given head's context columns zeroed."""
    own, batch, tokens = layer.attention.self, hidden.shape[0], hidden.shape[1]
    heads, size = own.num_attention_heads, own.attention_head_size

    def split(x):
        return x.view(batch, tokens, heads, size).transpose(1, 2)

    q, k, v = split(own.query(hidden)), split(own.key(hidden)), split(own.value(hidden))
    bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    probabilities = torch.softmax(q @ k.transpose(-1, -2) / size**0.5 + bias, dim=-1)
    context = (probabilities @ v).transpose(1, 2).reshape(batch, tokens, heads * size)
    context[:, :, zeroed_head * size : (zeroed_head + 1) * size] = 0.0
    out = layer.attention.output
    attended = out.LayerNorm(out.dense(context) + hidden)
    return layer.output.LayerNorm(layer.output.dense(layer.intermediate(attended)) + attended)


@pytest.mark.parametrize("zeroed", [(0, 0), (1, 1)])
def test_a_zeroed_head_equals_the_layer_computed_by_hand_without_it(tiny, zeroed):
    model, batch = tiny.model, encode(tiny)
    layer, head = zeroed
    with torch.no_grad():
        plain = model(**batch, output_hidden_states=True).hidden_states
        with hooks(model, {head_out(layer): zero_heads([head])}):
            hooked = model(**batch, output_hidden_states=True).hidden_states
        expected = by_hand_layer(model.bert.encoder.layer[layer], plain[layer], batch["attention_mask"], head)
    assert torch.allclose(hooked[layer + 1], expected, atol=1e-5)
    assert not torch.allclose(hooked[layer + 1], plain[layer + 1], atol=1e-3)
    assert torch.equal(hooked[layer], plain[layer])  # layers before it untouched
    with torch.no_grad(), head_mask(model, mask_without(mask_shape(model), [zeroed])):
        masked = model(**batch, output_hidden_states=True).hidden_states
    assert torch.allclose(masked[layer + 1], expected, atol=1e-5)  # a mask's 0 is the same removal


def test_gates_of_one_and_a_mask_of_ones_leave_the_forward_bit_for_bit(tiny):
    leaves_the_forward(tiny)


def test_gates_of_one_leave_the_demo_checkpoints_forward_bit_for_bit(absa):
    leaves_the_forward(absa)


def leaves_the_forward(loaded):
    model, batch = loaded.model, encode(loaded)
    layers, heads = mask_shape(model)
    with torch.no_grad():
        plain = model(**batch, output_attentions=True)
        with hooks(model, {head_out(i): scale_heads(torch.ones(heads)) for i in range(layers)}):
            scaled = model(**batch, output_attentions=True)
        ones = masked_logits(model, batch, torch.ones(layers, heads))
        per_example = masked_logits(model, batch, torch.ones(2, layers, heads))
        again = model(**batch).logits
    assert torch.equal(plain.logits, scaled.logits)
    assert all(torch.equal(a, b) for a, b in zip(plain.attentions, scaled.attentions))
    assert torch.equal(plain.logits, ones) and torch.equal(plain.logits, per_example)
    assert torch.equal(plain.logits, again)


def test_a_per_example_mask_masks_each_example_alone(tiny):
    model, batch = tiny.model, encode(tiny)
    mask = torch.ones(2, 2, 2)
    mask[1, 0, 1] = 0.0
    with torch.no_grad():
        both = masked_logits(model, batch, mask)
        first = masked_logits(model, batch, torch.ones(2, 2))
        second = masked_logits(model, batch, mask_without((2, 2), [(0, 1)]))
    assert torch.equal(both[0], first[0]) and torch.equal(both[1], second[1])
    with pytest.raises(ValueError, match="head mask of 2 x 2"):
        masked_logits(model, batch, torch.ones(3, 2))


def test_hooks_at_one_point_run_in_order_on_each_others_results(tiny):
    model, batch = tiny.model, encode(tiny)
    plain, scaled = {}, {}
    with torch.no_grad():
        with hooks(model, {head_out(0): cache(plain)}):
            model(**batch)
        with hooks(model, {head_out(0): [scale_heads(torch.tensor([2.0, 3.0])), cache(scaled)]}):
            model(**batch)
    assert torch.equal(scaled[head_out(0)], plain[head_out(0)] * torch.tensor([2.0, 3.0])[:, None])


def test_patching_every_head_carries_the_other_inputs_attention_output(tiny):
    model = tiny.model
    clean, corrupt = encode(tiny, ("Great food.", "Slow service.")), encode(tiny, ("Awful food.", "Fast service."))
    source, patched, reference = {}, {}, {}
    with torch.no_grad():
        with hooks(model, {head_out(1): cache(source), attn_out(1): cache(reference)}):
            model(**corrupt)
        with hooks(model, {head_out(1): replace_heads(source[head_out(1)], [0, 1]), attn_out(1): cache(patched)}):
            model(**clean)
        with hooks(model, {head_out(1): replace_heads(source[head_out(1)], [])}):
            untouched = model(**clean).logits
        plain = model(**clean).logits
    assert torch.equal(patched[attn_out(1)], reference[attn_out(1)])
    assert torch.equal(untouched, plain)


def test_replacing_the_word_embeddings_reads_as_other_ids(tiny):
    model = tiny.model
    batch, other = encode(tiny, ("Great food.",)), encode(tiny, ("Awful food.",))
    assert batch["input_ids"].shape == other["input_ids"].shape
    with torch.no_grad():
        embedded = model.get_input_embeddings()(other["input_ids"])
        with hooks(model, {WORD_EMBEDDING: replace_with(embedded)}):
            replaced = model(**batch).logits
        expected = model(**other).logits
        with (
            pytest.raises(ValueError, match="replacement"),
            hooks(model, {WORD_EMBEDDING: replace_with(embedded[:, 1:])}),
        ):
            model(**batch)
    assert torch.equal(replaced, expected)


def test_the_pattern_point_needs_eager_attention(tiny):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
    config._attn_implementation = "sdpa"
    model = BertForSequenceClassification(config).eval()
    with pytest.raises(AttentionUnavailableError), hooks(model, {pattern(0): cache({})}):
        model(input_ids=torch.tensor([[1, 2, 3]]))
    assert leftover_hooks(model) == {}


def tiny_encoder(kind: str) -> torch.nn.Module:
    import transformers as t

    common = {"vocab_size": 60, "num_labels": 3, "attn_implementation": "eager"}
    if kind == "distilbert":
        config = t.DistilBertConfig(dim=16, n_layers=2, n_heads=4, hidden_dim=32, **common)
        return t.DistilBertForSequenceClassification(config).eval()
    sizes = {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 32}
    if kind == "roberta":
        return t.RobertaForSequenceClassification(t.RobertaConfig(pad_token_id=1, **sizes, **common)).eval()
    return t.ElectraForSequenceClassification(t.ElectraConfig(embedding_size=16, **sizes, **common)).eval()


@pytest.mark.parametrize("kind", ["roberta", "electra", "distilbert"])
def test_other_bert_family_encoders_are_resolved_by_structure(kind):
    torch.manual_seed(0)
    model = tiny_encoder(kind)
    batch = {"input_ids": torch.tensor([[0, 5, 9, 14, 2], [0, 7, 8, 2, 1]]), "attention_mask": torch.ones(2, 5)}
    batch["attention_mask"][1, -1] = 0
    points = hook_points(model)
    assert (points.layers, points.heads) == (2, 4)
    store = {}
    with torch.no_grad():
        plain = model(**batch, output_attentions=True)
        # RoBERTa's first output_attentions forward installs transformers' own capturing hooks, for good
        theirs = leftover_hooks(model)
        with hooks(model, {head_out(1): cache(store), attn_out(1): cache(store), pattern(1): cache(store)}):
            model(**batch)
        ones = masked_logits(model, batch, torch.ones(2, 4))
        off = masked_logits(model, batch, mask_without((2, 4), [(1, 2)]))
    projection = points[head_out(1)].module
    assert store[head_out(1)].shape == (2, 5, 4, 4)
    assert torch.equal(projection(store[head_out(1)].flatten(-2)), store[attn_out(1)])
    assert torch.equal(store[pattern(1)], plain.attentions[1])
    assert torch.equal(ones, plain.logits) and not torch.equal(off, plain.logits)
    assert leftover_hooks(model) == theirs


def test_an_unsupported_model_is_refused_naming_what_was_looked_for():
    from transformers import GPT2Config, GPT2ForSequenceClassification

    model = GPT2ForSequenceClassification(GPT2Config(vocab_size=20, n_embd=8, n_layer=1, n_head=2, num_labels=2))
    with pytest.raises(UnsupportedModelError, match="encoder.layer or transformer.layer"):
        hook_points(model)
    with pytest.raises(UnsupportedModelError), head_mask(model, torch.ones(1, 2)):
        pass

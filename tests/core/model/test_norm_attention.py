"""Norm-based attention (app/core/model/norm_attention.py) against a direct computation, written out here from
the layer inputs, the value projection and the output projection's weight: f_h(x_j) = (x_j W_V + b_V)_h W_O^h,
then ||α_ij f_h(x_j)|| for every query i and key j. On the tiny 2-layer BERT with 4 heads (a padded batch),
a tiny DistilBERT, and the trained demo checkpoint."""

from __future__ import annotations

import torch
from tiny_model import tiny_checkpoint  # tests/ is on sys.path (rootdir conftest)

from app.core.model.attention import forward_with_attention
from app.core.model.hooks import attn_out, cache, hooks
from app.core.model.norm_attention import forward_with_norm_attention, norm_attention, row_normalised

TEXTS = ("The food was great but the service was slow.", "Cheap wine.")


def attention_parts(model, layer: int) -> tuple[torch.nn.Linear, torch.nn.Linear]:
    """(value projection, output projection) of one layer, looked up by hand for BERT and DistilBERT."""
    if hasattr(model, "distilbert"):
        block = model.distilbert.transformer.layer[layer].attention
        return block.v_lin, block.out_lin
    block = model.base_model.encoder.layer[layer].attention
    return block.self.value, block.output.dense


def direct_norm_attention(model, batch: dict[str, torch.Tensor], heads: int) -> tuple[torch.Tensor, list]:
    """[B, L, H, T, T] by the definition (every α_ij f_h(x_j) vector built and its norm taken), and per layer
    each head's f_h(x_j) [B, H, T, hidden]."""
    with torch.no_grad():
        output = model(**batch, output_attentions=True, output_hidden_states=True)
    layers, per_layer_f = [], []
    for layer, weights in enumerate(output.attentions):  # weights [B, H, T, T]
        value_projection, output_projection = attention_parts(model, layer)
        values = value_projection(output.hidden_states[layer])  # [B, T, hidden]: x W_V + b_V
        d = values.shape[-1] // heads
        columns = [slice(h * d, (h + 1) * d) for h in range(heads)]
        f = torch.stack([values[..., c] @ output_projection.weight[:, c].T for c in columns], dim=1)  # no b_O
        # f: [B, H, T, hidden]
        per_layer_f.append(f)
        weighted = weights[..., None] * f[:, :, None, :, :]  # [B, H, query, key, hidden]
        layers.append(weighted.norm(dim=-1))
    return torch.stack(layers, dim=1), per_layer_f


def check_against_direct(model, batch, heads: int) -> None:
    expected, per_layer_f = direct_norm_attention(model, batch, heads)
    logits, weights, norm = forward_with_norm_attention(model, batch)
    assert norm.shape == weights.shape == expected.shape
    torch.testing.assert_close(norm, expected, rtol=1e-4, atol=1e-5)
    plain_logits, plain_weights = forward_with_attention(model, batch)
    assert torch.equal(logits, plain_logits) and torch.equal(weights, plain_weights)  # the hooks only read
    # f_h is what the model adds up: sum over heads and keys of α_ij f_h(x_j), plus b_O, is the attention output
    store: dict[str, torch.Tensor] = {}
    with torch.no_grad(), hooks(model, {attn_out(layer): cache(store) for layer in range(len(per_layer_f))}):
        model(**batch)
    for layer, f in enumerate(per_layer_f):
        mixed = torch.einsum("bhij,bhjd->bid", weights[:, layer], f) + attention_parts(model, layer)[1].bias
        torch.testing.assert_close(mixed, store[attn_out(layer)], rtol=1e-4, atol=1e-5)


def test_norm_attention_equals_the_direct_computation_on_a_padded_tiny_bert():
    loaded = tiny_checkpoint("absa", seed=3, heads=4)
    torch.manual_seed(0)
    batch = dict(loaded.tokenizer(list(TEXTS), ["food"] * 2, return_tensors="pt", padding=True))
    check_against_direct(loaded.model, batch, loaded.info.num_heads)
    norm = norm_attention(loaded.model, batch)
    padded = batch["attention_mask"][1] == 0
    assert padded.any() and torch.all(norm[1, :, :, :, padded] == 0)  # padded keys carry no weight, hence no norm


def test_norm_attention_equals_the_direct_computation_on_a_tiny_distilbert():
    import transformers as t

    torch.manual_seed(0)
    config = t.DistilBertConfig(
        vocab_size=60, dim=16, n_layers=2, n_heads=4, hidden_dim=32, num_labels=3, attn_implementation="eager"
    )
    model = t.DistilBertForSequenceClassification(config).eval()
    batch = {"input_ids": torch.tensor([[0, 5, 9, 14, 2], [0, 7, 8, 2, 1]]), "attention_mask": torch.ones(2, 5)}
    batch["attention_mask"][1, -1] = 0
    check_against_direct(model, batch, 4)


def test_norm_attention_equals_the_direct_computation_on_the_demo_checkpoint(absa):
    batch = dict(absa.tokenizer(list(TEXTS), ["food", "price"], return_tensors="pt", padding=True))
    check_against_direct(absa.model, batch, absa.info.num_heads)


def test_row_normalised_rows_sum_to_one_and_zero_rows_stay_zero():
    loaded = tiny_checkpoint("absa", seed=1)
    batch = dict(loaded.tokenizer(list(TEXTS), ["food"] * 2, return_tensors="pt", padding=True))
    normalised = row_normalised(norm_attention(loaded.model, batch))
    torch.testing.assert_close(normalised[0].sum(-1), torch.ones(normalised.shape[1:-1]))
    assert torch.equal(row_normalised(torch.zeros(2, 3)), torch.zeros(2, 3))
    # the weights are a distribution, the norm-based values are not: they differ once renormalised
    _, weights = forward_with_attention(loaded.model, batch)
    assert not torch.allclose(normalised[0], weights[0], atol=1e-3)

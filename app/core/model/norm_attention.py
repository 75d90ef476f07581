"""Norm-based attention (Kobayashi et al. 2020): how much each token's transformed value moves a head's output.

A head's contribution to the attention block's output at query i is sum_j α_ij f_h(x_j), with
f_h(x) = (x W_V^h + b_V^h) W_O^h: the head's value vector followed by its slice (its head_dim input columns)
of the output projection. The norm-based attention of the head is ||α_ij f_h(x_j)|| = α_ij ||f_h(x_j)||,
[batch, layers, heads, query, key].

The output projection's bias b_O is left out, as in the paper: it is added once to the sum over all
heads and tokens, belongs to no token j and to no head, so it cannot be attributed to either.

Values are not row-stochastic (a row sums to the sum of its vector norms, not to 1). `row_normalised`
divides each row by its sum, for drawing on the attention's scale and for statistics that read a
distribution over keys; α_ij ||f(x_j)|| / sum_k α_ik ||f(x_k)||.

Cost: the value vectors are read by a hook (hooks.value) in the same forward as the attention weights,
and ||v W_O^h|| is computed as sqrt(v G_h v^T) with G_h = W_O^h W_O^h^T (head_dim x head_dim, kept per
projection while its weight is unchanged): per layer tokens x hidden x head_dim multiply-adds, a
fraction 1/heads of one dense projection, rather than materialising every f_h(x_j).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from app.core.model.checkpoint import ensure_attentions
from app.core.model.hooks import attn_out, cache, hook_points, hooks, value

_GRAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def head_grams(projection: nn.Linear, heads: int) -> torch.Tensor:
    """[heads, head_dim, head_dim] float32: G_h = W_h^T W_h, W_h the projection's columns of head h ([hidden, d]).

    Kept per projection module while its weight is the same tensor, unchanged in place (its version)."""
    weight = projection.weight
    key = (weight.data_ptr(), weight._version, weight.device, heads)
    found = _GRAMS.get(projection)
    if found is not None and found[0] == key:
        return found[1]
    with torch.no_grad():
        per_head = weight.detach().float().unflatten(1, (heads, -1)).transpose(0, 1)  # [heads, hidden, d]
        grams = per_head.transpose(1, 2) @ per_head  # [heads, d, d]
    _GRAMS[projection] = (key, grams)
    return grams


def transformed_value_norms(values: torch.Tensor, grams: torch.Tensor) -> torch.Tensor:
    """||f_h(x_j)|| [batch, heads, tokens] from the value vectors [batch, tokens, heads, d] and head_grams."""
    values = values.float()
    squared = torch.einsum("bthd,hde,bthe->bht", values, grams, values)
    return squared.clamp_min(0).sqrt()  # rounding can leave -1e-7 where the norm is 0


def norm_from_weights(weights: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
    """α_ij ||f(x_j)||: weights [..., heads, query, key] times norms [..., heads, key]."""
    return weights.float() * norms.unsqueeze(-2)


def row_normalised(norm: torch.Tensor) -> torch.Tensor:
    """Each row divided by its sum (a row summing to 0, e.g. a padded query, stays 0)."""
    total = norm.sum(-1, keepdim=True)
    return norm / torch.where(total > 0, total, torch.ones_like(total))


@torch.inference_mode()
def forward_with_norm_attention(
    model: Any, inputs: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits [B, C], attention weights [B, L, H, T, T] and norm-based attention [B, L, H, T, T] (float32, not
    normalised) from one forward on the model's device; the value vectors are read by hooks during it."""
    points = hook_points(model)
    store: dict[str, torch.Tensor] = {}
    with hooks(model, {value(layer): cache(store) for layer in range(points.layers)}):
        output = model(**inputs, output_attentions=True)
    ensure_attentions(output.attentions)
    weights = torch.stack(output.attentions, dim=1)
    norms = []
    for layer in range(points.layers):
        projection = points[attn_out(layer)].module
        assert isinstance(projection, nn.Linear)  # hook_points resolves attn.out at the output projection
        norms.append(transformed_value_norms(store[value(layer)], head_grams(projection, points.heads)))
    return output.logits, weights, norm_from_weights(weights, torch.stack(norms, dim=1))


def norm_attention(model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The norm-based attention of every layer and head, [B, L, H, T, T], not normalised (one forward)."""
    return forward_with_norm_attention(model, inputs)[2]


def norm_forward(model: Any) -> Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]:
    """inputs -> (logits, norm-based attention normalised per row): a live inspection's `forward`
    (app.core.passes.inspection.inspect_batch) that draws norm-based attention on the weights' scale."""

    def forward(inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        logits, _, norm = forward_with_norm_attention(model, inputs)
        return logits, row_normalised(norm)

    return forward

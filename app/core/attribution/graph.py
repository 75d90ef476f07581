"""Attention rollout and attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

Both read the layers as a graph whose nodes are the tokens at each layer (layer 0: the input
embeddings, layer l: the output of block l). Each block mixes tokens by its attention averaged
over heads and keeps its input through the residual connection, so the block's mixing matrix is

    R_l = 0.5 * mean_h A_l[h] + 0.5 * I        (rows still sum to 1)

* rollout: R_L @ ... @ R_1; the row of a query token says how much of each input token reached it,
  if every block mixed linearly as R_l says. For a set of query tokens, the mean of their rows.
* flow: the graph's edges carry capacity R_l[i, j] from token j at layer l-1 to token i at layer l;
  the flow of input token j is the maximum flow from (0, j) to the query token at layer L (for a
  set of query tokens: into all of them, divided by their number). Solved exactly per input token
  on integer capacities (2^24 units, so each edge is rounded by at most 2^-25) by maxflow.py: one
  max-flow per token, which is what makes flow costlier than rollout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

FLOW_SCALE = 2**24  # integer capacity units per unit of attention
FLOW_MAX_TOKENS = 128  # one max-flow per token on a graph of ~(layers-1) * T^2 edges: bounded for live use


def residual_attention(attention: torch.Tensor) -> torch.Tensor:
    """[..., L, H, T, T] -> [..., L, T, T]: 0.5 * (head mean) + 0.5 * identity per layer."""
    mean = attention.float().mean(dim=-3)
    eye = torch.eye(mean.shape[-1], dtype=mean.dtype, device=mean.device)
    return 0.5 * mean + 0.5 * eye


def rollout_rows(attention: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Rollout from weighted query tokens: attention [B, L, H, T, T], weights [B, T] -> [B, T].

    weights[b] is a distribution over the query tokens (tokens.query_weights); padded keys carry 0
    attention, so nothing flows to padding.
    """
    # row @ R_l = 0.5 * mean_h (row @ A_l[h]) + 0.5 * row, without building the [B, L, T, T] mixing matrices
    # (residual_attention) that only this row would read; half precision is widened a layer or a head at a time
    if attention.device.type == "cpu" and not attention.requires_grad:
        return _rollout_head_by_head(attention, weights.float())
    row = weights.float()[:, None, None, :]  # [B, 1, 1, T]: one product over [B, H, T, T] per layer
    for layer in range(attention.shape[1] - 1, -1, -1):
        row = 0.5 * (row @ attention[:, layer].float()).mean(dim=1, keepdim=True) + 0.5 * row
    return row[:, 0, 0]


def _rollout_head_by_head(attention: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """`rollout_rows` on a CPU, one head at a time: A_l[:, h] is a strided [B, T, T] batch that bmm reads in place,
    where the product over [B, H, T, T] first copies the layer's attention (its batch and head strides do not
    merge; a MiniLM batch of 64 pairs of 64 tokens: 12 -> 6.6 ms). Equal to the product over the heads."""
    batch, layers, heads, length, _ = attention.shape
    row = weights[:, None, :]  # [B, 1, T]
    mixed = torch.empty(heads, batch, 1, length, dtype=torch.float32)
    for layer in range(layers - 1, -1, -1):
        for head in range(heads):
            torch.bmm(row, attention[:, layer, head].float(), out=mixed[head])
        row = 0.5 * mixed.mean(dim=0) + 0.5 * row
    return row[:, 0]


def rollout(attention: torch.Tensor, query: Sequence[int]) -> torch.Tensor:
    """Rollout of one input: attention [L, H, T, T], query token indices -> [T]."""
    length = attention.shape[-1]
    weights = torch.zeros(1, length, device=attention.device)
    weights[0, list(query)] = 1.0 / len(query)
    return rollout_rows(attention.unsqueeze(0), weights)[0]


def flow_capacities(attention: torch.Tensor, query: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The flow network of attention [L, H, T, T] as integer capacities for flow_solver.layered_max_flows:
    [L-1, T, T] between layers (capacity[l, j, i] = R_l[i, j], from token j at layer l to token i at
    layer l + 1) and [T] into one sink standing for the query tokens at layer L (their in-arcs summed,
    which is exact: the query nodes would only pass flow on to the sink). All divided by the number
    of query tokens, so the flow value is already the per-query mean. Layer-0 nodes have no in-arcs,
    so one network serves every source. Built in one compiled pass (flow_network.py)."""
    from app.core.attribution.flow_network import attention_capacities  # numba: imported when flow is asked for

    weights = np.ascontiguousarray(attention.detach().cpu().float().numpy())
    return attention_capacities(weights, np.asarray(query, dtype=np.int64), FLOW_SCALE / len(query))


def attention_flow(attention: torch.Tensor, query: Sequence[int]) -> torch.Tensor:
    """Flow of one input: attention [L, H, T, T], query token indices -> [T] (each in [0, 1]).

    The input tokens' max-flows are split over as many threads as torch computes with (the forward
    pass is done by then, so its cores are free)."""
    from app.core.attribution.flow_solver import layered_max_flows

    threads = torch.get_num_threads()
    values = layered_max_flows(*flow_capacities(attention, query), threads=threads)
    if torch.get_num_threads() != threads:  # numba's first parallel call resets OpenMP's thread count
        torch.set_num_threads(threads)
    return torch.from_numpy(np.true_divide(values, FLOW_SCALE, dtype=np.float32))  # exact: values <= 2^24, a power of 2

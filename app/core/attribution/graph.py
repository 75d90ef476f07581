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
  with scipy's Dinic maximum flow on integer capacities (2^24 units, so each edge is rounded by at
  most 2^-25): one max-flow per token, which is what makes flow far costlier than rollout.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

FLOW_SCALE = 2 ** 24  # integer capacity units per unit of attention
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
    mixing = residual_attention(attention)  # [B, L, T, T]
    row = weights.to(mixing.dtype).unsqueeze(1)  # [B, 1, T]
    for layer in range(mixing.shape[1] - 1, -1, -1):
        row = row @ mixing[:, layer]
    return row.squeeze(1)


def rollout(attention: torch.Tensor, query: Sequence[int]) -> torch.Tensor:
    """Rollout of one input: attention [L, H, T, T], query token indices -> [T]."""
    length = attention.shape[-1]
    weights = torch.zeros(1, length, device=attention.device)
    weights[0, list(query)] = 1.0 / len(query)
    return rollout_rows(attention.unsqueeze(0), weights)[0]


def flow_graph(mixing: np.ndarray, query: Sequence[int]):
    """The flow network as a scipy CSR matrix of int32 capacities, with the sink's index.

    Nodes: the T input tokens (layer 0), T tokens per inner layer 1..L-1, then one sink standing for
    the query tokens at layer L (their in-edges summed, which is exact: the query nodes would only
    pass flow on to the sink). Capacities are divided by the number of query tokens, so the flow
    value is already the per-query mean. Layer-0 nodes have no in-edges, so from input token j only
    its own out-edges are reachable: one graph serves every source.
    """
    from scipy.sparse import csr_matrix

    layers, length, _ = mixing.shape
    sink = layers * length
    tokens = np.arange(length)
    rows, cols, caps = [], [], []
    for layer in range(layers - 1):  # edges from layer `layer` to layer + 1
        rows.append(np.tile(layer * length + tokens, length))  # from token j
        cols.append(np.repeat((layer + 1) * length + tokens, length))  # to token i (row-major over i, j)
        caps.append(mixing[layer].reshape(-1))
    rows.append((layers - 1) * length + tokens)
    cols.append(np.full(length, sink))
    caps.append(mixing[layers - 1][list(query)].sum(0))
    capacity = np.rint(np.concatenate(caps) / len(query) * FLOW_SCALE).astype(np.int32)
    matrix = csr_matrix((capacity, (np.concatenate(rows), np.concatenate(cols))), shape=(sink + 1, sink + 1))
    matrix.eliminate_zeros()
    return matrix, sink


def attention_flow(attention: torch.Tensor, query: Sequence[int]) -> torch.Tensor:
    """Flow of one input: attention [L, H, T, T], query token indices -> [T] (each in [0, 1])."""
    from scipy.sparse.csgraph import maximum_flow

    mixing = residual_attention(attention).double().cpu().numpy()
    matrix, sink = flow_graph(mixing, query)
    values = [maximum_flow(matrix, source, sink, method="dinic").flow_value for source in range(mixing.shape[-1])]
    return torch.tensor(values, dtype=torch.float64).div(FLOW_SCALE).float()

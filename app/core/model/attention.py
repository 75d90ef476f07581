"""Attention extraction and pure tensor transforms over attention maps.

Shapes: a model's attention for one input is [layers, heads, query, key]; each row
(a query's distribution over keys) sums to 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from app.core.model.checkpoint import ensure_attentions


@torch.inference_mode()
def forward_with_attention(model: Any, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits [batch, labels] and attention [batch, layers, heads, query, key] in one pass."""
    output = model(**inputs, output_attentions=True)
    ensure_attentions(output.attentions)
    return output.logits, torch.stack(output.attentions, dim=1)


def merge_word_pieces(attention: torch.Tensor, word_ids: list[int]) -> torch.Tensor:
    """Word-level attention as Clark et al. 2019 compute it.

    Attention *to* a word is the sum over its pieces (so rows still sum to 1), attention
    *from* a word is the mean over its pieces. Works on any leading dimensions [..., T, T].
    """
    words = torch.tensor(word_ids, device=attention.device)
    num_words = int(words.max()) + 1
    membership = torch.nn.functional.one_hot(words, num_words).to(attention.dtype)  # [T, W]
    to_words = attention @ membership  # [..., T, W]
    from_words = membership.T / membership.sum(dim=0, keepdim=True).T  # [W, T], rows average pieces
    return from_words @ to_words  # [..., W, W]


def quantize_uint8(attention: torch.Tensor) -> torch.Tensor:
    """Round to 1/255 steps: max error 1/510, a quarter of the float32 bytes."""
    # one float buffer, scaled then clamped and rounded in place: the same bytes as clamp(0, 1) * 255, rounded,
    # at a third of the allocations (a 12 x 12 model on 475 tokens quantises 32 M weights per inspection)
    return attention.float().mul(255).clamp_(0, 255).round_().to(torch.uint8)


def max_pooled(attention: torch.Tensor, size: int) -> torch.Tensor:
    """[..., T, T] -> [..., S, S] with S = min(T, size): each cell the largest weight of its block of
    queries and keys (token i falls in block i * S // T), so that a one-cell pattern (previous token,
    [SEP]) stays visible in a thumbnail instead of falling between sampled rows."""
    tokens = attention.shape[-1]
    side = min(tokens, size)
    # block b holds the tokens from ceil(b * T / S) on
    starts = [-(-b * tokens // side) for b in range(side + 1)]
    if attention.device.type == "cpu":  # one compiled pass over the weights (pooling_kernel.py)
        from app.core.model.pooling_kernel import pool_blocks

        flat = attention.detach().reshape(-1, tokens, tokens).float().contiguous().numpy()
        pooled = pool_blocks(flat, np.array(starts, dtype=np.int64))
        return torch.from_numpy(pooled).view(*attention.shape[:-2], side, side).to(attention.dtype)
    return gathered_max_pooled(attention, starts)


def gathered_max_pooled(attention: torch.Tensor, starts: list[int]) -> torch.Tensor:
    """max_pooled in torch ops on the attention's device, for the blocks beginning at `starts`."""
    tokens, side = attention.shape[-1], len(starts) - 1
    # each block's tokens, padded to the longest block by repeating its last one (which leaves
    # the max alone), make one gather and one amax per axis (advanced indexing: index_select along the rows
    # is many times slower)
    longest = max(starts[b + 1] - starts[b] for b in range(side))
    members = torch.tensor(
        [[min(starts[b] + i, starts[b + 1] - 1) for i in range(longest)] for b in range(side)],
        device=attention.device,
    ).flatten()
    lead = attention.shape[:-2]
    by_query = attention[..., members, :].view(*lead, side, longest, tokens).amax(-2)  # [..., S, T]
    return by_query[..., members].reshape(*lead, side, side, longest).amax(-1)

"""Baselines for head statistics (the bootstrap confidence interval is app.core.stats.bootstrap).

Baseline attention maps have the same layout as real attention, [L', H', T, T], so the very
same statistic functions apply to them:

* uniform: every valid query attends uniformly to every valid key, a[q, k] = 1 / |valid|;
  e.g. mass(Q -> G) = |G| / |valid| and top-1 accuracy = 1 if the first allowed key is gold.
* positional (Clark et al. 2019): one fixed map per rule, each a "head" of a [1, P, T, T] map:
  prev (offset -1), self (offset 0), next (offset +1), cls (all mass on [CLS]), sep (mass spread
  evenly over the [SEP] tokens). Where an offset falls outside the valid tokens the row attends
  to itself. The best positional baseline for a statistic is the maximum over the P rules of
  their mean over examples (see labels.best_baseline).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from app.core.heads.statistics import TokenSet, as_mask

POSITIONAL_BASELINES = ("prev", "self", "next", "cls", "sep")


def uniform_attention(
    length: int, valid: TokenSet | None = None, layers: int = 1, heads: int = 1, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """[layers, heads, T, T]: each valid row uniform over the valid keys (padding rows and keys 0)."""
    v = torch.ones(length, dtype=torch.bool) if valid is None else as_mask(valid, length).cpu()
    row = v.to(dtype) / v.sum().clamp_min(1)
    matrix = v.to(dtype)[:, None] * row[None, :]
    return matrix.expand(layers, heads, length, length).clone()


def positional_attention(
    length: int, cls: TokenSet, sep: TokenSet, valid: TokenSet | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """[1, P, T, T]: the positional baselines in POSITIONAL_BASELINES order (rows sum to 1 on valid rows)."""
    v = torch.ones(length, dtype=torch.bool) if valid is None else as_mask(valid, length).cpu()
    index = torch.arange(length)
    maps = []
    for offset in (-1, 0, 1):
        target = index + offset
        ok = (target >= 0) & (target < length) & v[target.clamp(0, length - 1)]
        target = torch.where(ok, target, index)
        maps.append(torch.nn.functional.one_hot(target, length).to(dtype))
    for keys in (cls, sep):
        k = as_mask(keys, length).cpu().to(dtype)
        maps.append((k / k.sum().clamp_min(1)).expand(length, length))
    stacked = torch.stack(maps) * v.to(dtype)[None, :, None]
    return stacked.unsqueeze(0)


def batch_baseline_maps(
    valid: torch.Tensor, cls: torch.Tensor, sep: torch.Tensor, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """[B, 1 + P, T, T]: the uniform map then the positional rules of every example of a padded batch, on the
    masks' device; equal to `uniform_attention` and `positional_attention` of each example alone, zero-padded.

    valid / cls / sep: [B, T] boolean masks (each example's tokens are its first `valid.sum()` positions).
    """
    batch, length = valid.shape
    v = valid.to(dtype)
    # written into one buffer (no one-hot, stack or product copies: this runs on every batch of a pass)
    maps = torch.zeros(batch, 1 + len(POSITIONAL_BASELINES), length, length, dtype=dtype, device=valid.device)
    maps[:, 0] = (v / v.sum(-1, keepdim=True).clamp_min(1))[:, None, :]
    index = torch.arange(length, device=valid.device)
    count = valid.sum(-1, keepdim=True)  # [B, 1]
    for rule, offset in enumerate((-1, 0, 1), start=1):
        target = (index + offset).expand(batch, length)
        target = torch.where((target >= 0) & (target < count), target, index)
        maps[:, rule].scatter_(-1, target[..., None], 1.0)
    for rule, keys in enumerate((cls, sep), start=4):
        k = keys.to(dtype)
        maps[:, rule] = (k / k.sum(-1, keepdim=True).clamp_min(1))[:, None, :]
    return maps.mul_(v[:, None, :, None])


def baseline_scores(
    statistic,
    length: int,
    cls: TokenSet,
    sep: TokenSet,
    valid: TokenSet | None = None,
    names: Sequence[str] = ("uniform",) + POSITIONAL_BASELINES,
) -> dict[str, float]:
    """Apply `statistic(attention [L, H, T, T]) -> [L, H]` to every baseline map of one example.

    Returns baseline name -> score (a float; NaN when the statistic is undefined for the example).
    """
    uniform = uniform_attention(length, valid)
    positional = positional_attention(length, cls, sep, valid)
    maps = torch.cat([uniform, positional], dim=1)  # [1, 1 + P, T, T]
    scores = statistic(maps)[0]
    every = dict(zip(("uniform",) + POSITIONAL_BASELINES, scores.tolist()))
    return {name: every[name] for name in names}

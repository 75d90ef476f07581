"""Baselines for head statistics, and the bootstrap confidence interval.

Baseline attention maps have the same layout as real attention, [L', H', T, T], so the very
same statistic functions apply to them:

* uniform: every valid query attends uniformly to every valid key, a[q, k] = 1 / |valid|;
  e.g. mass(Q -> G) = |G| / |valid| and top-1 accuracy = 1 if the first allowed key is gold.
* positional (Clark et al. 2019): one fixed map per rule, each a "head" of a [1, P, T, T] map:
  prev (offset -1), self (offset 0), next (offset +1), cls (all mass on [CLS]), sep (mass spread
  evenly over the [SEP] tokens). Where an offset falls outside the valid tokens the row attends
  to itself. The best positional baseline for a statistic is the maximum over the P rules of
  their mean over examples (see labels.best_baseline).

Bootstrap: percentile interval of the mean over examples, resampling examples with replacement;
examples are resampled jointly for all heads (one resample = one multinomial count vector), so
the heads' intervals are computed from the same resamples.
"""

from __future__ import annotations

from typing import Sequence

import torch

from app.core.heads.statistics import TokenSet, as_mask

POSITIONAL_BASELINES = ("prev", "self", "next", "cls", "sep")


def uniform_attention(length: int, valid: TokenSet | None = None, layers: int = 1, heads: int = 1,
                      dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[layers, heads, T, T]: each valid row uniform over the valid keys (padding rows and keys 0)."""
    v = torch.ones(length, dtype=torch.bool) if valid is None else as_mask(valid, length).cpu()
    row = v.to(dtype) / v.sum().clamp_min(1)
    matrix = v.to(dtype)[:, None] * row[None, :]
    return matrix.expand(layers, heads, length, length).clone()


def positional_attention(length: int, cls: TokenSet, sep: TokenSet, valid: TokenSet | None = None,
                         dtype: torch.dtype = torch.float32) -> torch.Tensor:
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


def batch_baseline_maps(valid: torch.Tensor, cls: torch.Tensor, sep: torch.Tensor,
                        dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[B, 1 + P, T, T]: the uniform map then the positional rules of every example of a padded batch, on the
    masks' device; equal to `uniform_attention` and `positional_attention` of each example alone, zero-padded.

    valid / cls / sep: [B, T] boolean masks (each example's tokens are its first `valid.sum()` positions).
    """
    batch, length = valid.shape
    v = valid.to(dtype)
    uniform = v[:, :, None] * (v / v.sum(-1, keepdim=True).clamp_min(1))[:, None, :]
    index = torch.arange(length, device=valid.device)
    count = valid.sum(-1, keepdim=True)  # [B, 1]
    maps = [uniform]
    for offset in (-1, 0, 1):
        target = (index + offset).expand(batch, length)
        target = torch.where((target >= 0) & (target < count), target, index)
        maps.append(torch.nn.functional.one_hot(target, length).to(dtype))
    for keys in (cls, sep):
        k = keys.to(dtype)
        maps.append((k / k.sum(-1, keepdim=True).clamp_min(1))[:, None, :].expand(batch, length, length))
    return torch.stack(maps, dim=1) * v[:, None, :, None]


def bootstrap_means(values: torch.Tensor, iterations: int = 1000, seed: int = 0) -> torch.Tensor:
    """[iterations, ...] means of `values` [N, ...] over examples resampled with replacement."""
    n = values.shape[0]
    generator = torch.Generator().manual_seed(seed)
    flat = values.reshape(n, -1).to(torch.float64)
    step = max(1, (1 << 22) // n)  # resamples per chunk: at most ~4M counts alive at once
    chunks = []
    for start in range(0, iterations, step):
        size = min(step, iterations - start)
        draws = torch.randint(n, (size, n), generator=generator)
        offsets = torch.arange(size)[:, None] * n
        counts = torch.bincount((draws + offsets).flatten(), minlength=size * n).view(size, n)
        chunks.append(counts.to(torch.float64) @ flat / n)
    return torch.cat(chunks).reshape((iterations,) + tuple(values.shape[1:]))


def _percentiles(means: torch.Tensor, level: float) -> tuple[torch.Tensor, torch.Tensor]:
    alpha = (1 - level) / 2
    q = torch.tensor([alpha, 1 - alpha], dtype=means.dtype)
    low, high = torch.quantile(means, q, dim=0)
    return low.float(), high.float()


def bootstrap_ci(values: torch.Tensor, iterations: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Percentile bootstrap CI of the mean over examples: values [N, L, H] -> (low, high), each [L, H].

    N = 0 gives NaN bounds; N = 1 gives low = high = the value. Vectorised: the resamples are a
    [iterations, N] count matrix multiplied by the values, so memory is O(iterations * (N + L*H)).
    """
    values = values.detach().cpu()
    if values.shape[0] == 0:
        nan = torch.full(values.shape[1:], float("nan"))
        return nan, nan.clone()
    return _percentiles(bootstrap_means(values, iterations, seed), level)


def bootstrap_difference_ci(first: torch.Tensor, second: torch.Tensor, iterations: int = 1000, seed: int = 0,
                            level: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """CI of mean(first) - mean(second) for two independent samples [N1, ...] and [N2, ...].

    Each group is resampled on its own (stratified bootstrap); NaN bounds when either is empty.
    """
    first, second = first.detach().cpu(), second.detach().cpu()
    if first.shape[0] == 0 or second.shape[0] == 0:
        nan = torch.full(first.shape[1:], float("nan"))
        return nan, nan.clone()
    difference = bootstrap_means(first, iterations, seed) - bootstrap_means(second, iterations, seed + 1)
    return _percentiles(difference, level)


def baseline_scores(statistic, length: int, cls: TokenSet, sep: TokenSet, valid: TokenSet | None = None,
                    names: Sequence[str] = ("uniform",) + POSITIONAL_BASELINES) -> dict[str, float]:
    """Apply `statistic(attention [L, H, T, T]) -> [L, H]` to every baseline map of one example.

    Returns baseline name -> score (a float; NaN when the statistic is undefined for the example).
    """
    uniform = uniform_attention(length, valid)
    positional = positional_attention(length, cls, sep, valid)
    maps = torch.cat([uniform, positional], dim=1)  # [1, 1 + P, T, T]
    scores = statistic(maps)[0]
    every = dict(zip(("uniform",) + POSITIONAL_BASELINES, scores.tolist()))
    return {name: every[name] for name in names}

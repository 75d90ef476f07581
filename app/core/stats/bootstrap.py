"""The percentile bootstrap confidence interval of a mean over examples.

Examples are resampled with replacement, jointly for all heads (one resample = one multinomial count
vector), so every head's interval comes from the same resamples; the interval is the percentiles of
the resampled means."""

from __future__ import annotations

import torch


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


def bootstrap_ci(
    values: torch.Tensor, iterations: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """Percentile bootstrap CI of the mean over examples: values [N, L, H] -> (low, high), each [L, H].

    N = 0 gives NaN bounds; N = 1 gives low = high = the value. Vectorised: the resamples are a
    [iterations, N] count matrix multiplied by the values, so memory is O(iterations * (N + L*H)).
    """
    values = values.detach().cpu()
    if values.shape[0] == 0:
        nan = torch.full(values.shape[1:], float("nan"))
        return nan, nan.clone()
    return _percentiles(bootstrap_means(values, iterations, seed), level)


def bootstrap_difference_ci(
    first: torch.Tensor, second: torch.Tensor, iterations: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """CI of mean(first) - mean(second) for two independent samples [N1, ...] and [N2, ...].

    Each group is resampled on its own (stratified bootstrap); NaN bounds when either is empty.
    """
    first, second = first.detach().cpu(), second.detach().cpu()
    if first.shape[0] == 0 or second.shape[0] == 0:
        nan = torch.full(first.shape[1:], float("nan"))
        return nan, nan.clone()
    difference = bootstrap_means(first, iterations, seed) - bootstrap_means(second, iterations, seed + 1)
    return _percentiles(difference, level)


def bootstrap_ratio_ci(
    numerator: torch.Tensor, denominator: torch.Tensor, iterations: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[torch.Tensor, torch.Tensor]:
    """CI of mean(numerator) / mean(denominator) for paired values [N, ...] (the same examples).

    Each resample draws the examples once for both, so the pairing is kept. N = 0 gives NaN bounds."""
    numerator, denominator = numerator.detach().cpu(), denominator.detach().cpu()
    if numerator.shape[0] == 0:
        nan = torch.full(numerator.shape[1:], float("nan"))
        return nan, nan.clone()
    means = bootstrap_means(torch.stack([numerator, denominator], dim=1), iterations, seed)  # [iterations, 2, ...]
    return _percentiles(means[:, 0] / means[:, 1], level)

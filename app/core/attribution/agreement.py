"""How well a head's attention agrees with an attribution: rank correlations and top-k overlap.

For one head and one input: x = the head's attention row from the query tokens (their mean row),
y = the attribution's magnitude per token (|integrated gradients|, |gradient x input|; rollout and
flow are non-negative already), both over the input's content tokens only (tokens.content_mask).

* spearman: Pearson correlation of the average ranks of x and y (ties share their mean rank), as
  scipy.stats.spearmanr;
* kendall: Kendall's tau-b, concordant minus discordant pairs over the tie-corrected number of
  pairs, as scipy.stats.kendalltau;
* top_k: |top-k(x) ∩ top-k(y)| / k with k = min(K, number of content tokens), ties at the k-th
  place going to the earlier token.

Where x or y is constant over the content tokens (e.g. a head that puts no attention on them, or
the uniform baseline) the correlations are undefined (scipy: NaN); they are 0 here: no agreement.
An input with fewer than two content tokens gives NaN (nothing to rank).

Everything is batched: rows [..., T] against scores [..., T] with a mask [..., T] broadcast over
the leading dimensions (e.g. [B, L, H, T] against [B, 1, 1, T]), in the rows' dtype (float64 for
tests, float32 for live inputs and dataset batches: ranks and pair counts stay exact there). Each
side is ranked in its own shape, so an attribution shared by every head is ranked once. Ranks take
one sort per row; Kendall's tau compares all pairs, [..., T, T], fine for the lengths BERT takes.

One input (a live inspection): agreement_by_method / head_agreement compute the same values in one
compiled pass (agreement_kernel.py), where ~30 small torch operations would cost more than the
metrics themselves.
"""

from __future__ import annotations

import numpy as np
import torch

METRICS = ("spearman", "kendall", "top_k")
TOP_K = 3


def _pairwise_sign(values: torch.Tensor) -> torch.Tensor:
    """[..., T, T]: sign(v_i - v_j)."""
    return torch.sign(values.unsqueeze(-1) - values.unsqueeze(-2))


def average_ranks(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[..., T]: 1-based average ranks among the masked tokens (0 outside the mask).

    One sort per row; a run of equal sorted values shares the mean of its first and last position (`_run_means`).
    On a CPU only the rows whose masked values vary are sorted (a rule baseline's row is often constant over the
    content tokens: every token then has the mean rank (n + 1) / 2), and of those only the rows with ties are
    averaged; on a GPU every row takes the whole computation, which asks the host nothing (picking rows would). A
    CPU's rows are sorted by numpy (`_cpu_sort`).
    """
    shape = values.shape if values.shape == mask.shape else torch.broadcast_shapes(values.shape, mask.shape)
    values, mask, length = values.expand(shape), mask.expand(shape), shape[-1]  # either side may broadcast
    weight = mask.to(values.dtype)
    outside = ~mask
    filled = values.masked_fill(outside, float("inf")).reshape(-1, length)  # tokens outside the mask sort last
    if values.device.type != "cpu":
        ordered, order = filled.sort(dim=-1)
        return torch.empty_like(filled).scatter_(-1, order, _run_means(ordered)).view(shape) * weight
    highest = values.masked_fill(outside, float("-inf")).reshape(-1, length).amax(-1)
    varying = (filled.amin(-1) != highest).nonzero()[:, 0]  # (a row with NaN varies: sorted, NaN last)
    # each row's mean rank over the row, written below: one copy of the expanded means (a reshape could keep it a
    # view whose tokens share one element)
    ranks = ((weight.sum(-1, keepdim=True) + 1) / 2).expand(shape).contiguous().view(-1, length)
    if len(varying):
        ordered, order = _cpu_sort(filled[varying])
        rank = torch.arange(1, length + 1, dtype=values.dtype).repeat(len(varying), 1)
        # ties among the tokens outside the mask (+inf) are left unaveraged: their ranks are zeroed
        repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != float("inf"))
        tied = repeated.any(-1).nonzero()[:, 0]
        if len(tied):
            rank[tied] = _run_means(ordered[tied])
        ranks[varying] = torch.empty_like(rank).scatter_(-1, order, rank)
    return ranks.view(shape) * weight


def _cpu_sort(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`rows.sort(dim=-1)` of CPU rows by numpy's argsort (SIMD), ~6x faster on rows of BERT's lengths (3,584 rows
    of 64: 0.8 against 5.9 ms); NaN last, as torch's. Ties may come in another order, which average ranks do not
    see."""
    if rows.dtype not in (torch.float32, torch.float64):  # (bfloat16 has no numpy form)
        ordered, order = rows.sort(dim=-1)
        return ordered, order
    order = torch.from_numpy(np.argsort(rows.detach().numpy(), axis=-1))
    return rows.gather(-1, order), order


def _run_means(ordered: torch.Tensor) -> torch.Tensor:
    """[N, T] sorted rows -> each position's 1-based rank averaged over its run of equal values: a run shares the
    mean of its first and last position."""
    length = ordered.shape[-1]
    position = torch.arange(length, device=ordered.device).expand(ordered.shape)
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ends = torch.ones_like(starts)
    ends[..., :-1] = starts[..., 1:]
    first = torch.where(starts, position, torch.zeros_like(position)).cummax(-1).values
    last = torch.where(ends, position, torch.full_like(position, length)).flip(-1).cummin(-1).values.flip(-1)
    return (first + last).to(ordered.dtype) / 2 + 1


def _correlation(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weight = mask.to(x.dtype)
    count = weight.sum(-1, keepdim=True)
    dx = (x - (x * weight).sum(-1, keepdim=True) / count) * weight
    dy = (y - (y * weight).sum(-1, keepdim=True) / count) * weight
    denominator = ((dx * dx).sum(-1) * (dy * dy).sum(-1)).sqrt()
    value = (dx * dy).sum(-1) / denominator
    return torch.where(denominator > 0, value, torch.zeros_like(value))


def spearman(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    y = y.to(x.dtype)  # each side ranked in its own shape (y is often shared by every head)
    result = _correlation(average_ranks(x, mask), average_ranks(y, mask), mask)
    return _undefined_below_two(result, mask)


def kendall(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Kendall's tau-b over the masked tokens."""
    y = y.to(x.dtype)
    pair = (mask.unsqueeze(-1) & mask.unsqueeze(-2)).to(x.dtype)
    sx, sy = _pairwise_sign(x) * pair, _pairwise_sign(y) * pair
    # ordered pairs i != j: twice the unordered ones in every sum, which cancels in the ratio
    untied_x = (sx != 0).sum((-1, -2)).to(x.dtype)
    untied_y = (sy != 0).sum((-1, -2)).to(x.dtype)
    denominator = (untied_x * untied_y).sqrt()
    value = (sx * sy).sum((-1, -2)) / denominator
    return _undefined_below_two(torch.where(denominator > 0, value, torch.zeros_like(value)), mask)


def top_k_overlap(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, k: int = TOP_K) -> torch.Tensor:
    """|top-k(x) ∩ top-k(y)| / k over the masked tokens, k = min(K, masked tokens) per row."""
    y = y.to(x.dtype)
    width = min(k, x.shape[-1])
    outside = torch.finfo(x.dtype).min
    top_x = _top_indices(x.masked_fill(~mask, outside), width)
    top_y = _top_indices(y.masked_fill(~mask, outside), width)
    size = mask.sum(-1).clamp(max=k)
    kept = torch.arange(width, device=x.device) < size.unsqueeze(
        -1
    )  # only the first min(k, n) picks are compared tokens
    hits = ((top_x.unsqueeze(-1) == top_y.unsqueeze(-2)) & kept.unsqueeze(-1) & kept.unsqueeze(-2)).sum((-1, -2))
    return _undefined_below_two(hits.to(x.dtype) / size.clamp(min=1).to(x.dtype), mask)


def _top_indices(values: torch.Tensor, width: int) -> torch.Tensor:
    """The `width` largest per row, ties to the earlier token (topk leaves ties unspecified)."""
    return values.sort(dim=-1, descending=True, stable=True).indices[..., :width]


def _undefined_below_two(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.sum(-1) >= 2, values, torch.tensor(float("nan"), dtype=values.dtype, device=values.device))


def agreement(
    rows: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor, metrics: tuple[str, ...] = METRICS, k: int = TOP_K
) -> dict[str, torch.Tensor]:
    """metric -> [...]: every metric of rows [..., T] against scores (broadcast) over mask [..., T]; one
    input's (mask and scores [T]) in one compiled pass, as agreement_by_method."""
    if mask.dim() == 1 and scores.dim() == 1:
        return agreement_by_method(rows, {"": scores}, mask, metrics, k)[""]
    compute = {
        "spearman": lambda: spearman(rows, scores, mask),
        "kendall": lambda: kendall(rows, scores, mask),
        "top_k": lambda: top_k_overlap(rows, scores, mask, k),
    }
    return {name: compute[name]().float() for name in metrics}


def agreement_by_method(
    rows: torch.Tensor,
    scores: dict[str, torch.Tensor],
    mask: torch.Tensor,
    metrics: tuple[str, ...] = METRICS,
    k: int = TOP_K,
) -> dict[str, dict[str, torch.Tensor]]:
    """method -> metric -> [...]: rows [..., T] against each method's scores [T] for one input (mask
    [T]), in one compiled pass (agreement_kernel.py: where torch's per-operation cost would dominate)."""
    from app.core.attribution.agreement_kernel import agreement_of_rows  # numba: compiled once, cached

    flat = rows.detach().reshape(-1, rows.shape[-1]).cpu().numpy()
    return _one_input(
        scores, mask, rows.shape[:-1], metrics, lambda stacked, keep: agreement_of_rows(flat, stacked, keep, k)
    )


def head_agreement(
    attention: torch.Tensor,
    query: list[int],
    scores: dict[str, torch.Tensor],
    mask: torch.Tensor,
    metrics: tuple[str, ...] = METRICS,
    k: int = TOP_K,
) -> dict[str, dict[str, torch.Tensor]]:
    """method -> metric -> [L, H]: agreement_by_method of every head's row from the query tokens
    (head_rows) of one input's attention [L, H, T, T], the rows taken in the same compiled pass (the
    live path: its ~15 torch and numpy operations would cost more than the metrics)."""
    from app.core.attribution.agreement_kernel import agreement_of_heads

    weights = attention.detach().cpu().numpy()
    return _one_input(
        scores,
        mask,
        attention.shape[:2],
        metrics,
        lambda stacked, keep: agreement_of_heads(weights, np.array(query), stacked, keep, k),
    )


def _one_input(
    scores: dict[str, torch.Tensor], mask: torch.Tensor, shape: tuple[int, ...], metrics: tuple[str, ...], kernel
) -> dict[str, dict[str, torch.Tensor]]:
    """method -> metric -> tensor of `shape`: kernel(scores stacked [M, T] float64, compared token indices)
    gives each metric as [M, R]; NaN everywhere with fewer than two compared tokens."""
    names = list(scores)
    keep = mask.cpu().numpy().nonzero()[0]
    if len(keep) < 2:
        undefined = torch.full(tuple(shape), float("nan"))
        return {name: {metric: undefined for metric in metrics} for name in names}
    stacked = np.empty((len(names), mask.shape[-1]))
    for m, name in enumerate(names):
        stacked[m] = scores[name].detach().cpu().numpy()
    by_metric = dict(zip(("spearman", "kendall", "top_k"), kernel(stacked, keep)))
    return {
        name: {metric: torch.from_numpy(by_metric[metric][m]).reshape(tuple(shape)) for metric in metrics}
        for m, name in enumerate(names)
    }


def head_rows(attention: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Each head's attention from the weighted query tokens: [B, L, H, T, T] with weights [B, T] -> [B, L, H, T]."""
    weights = weights.to(attention.device, attention.dtype)[:, None, None, None, :]  # [B, 1, 1, 1, T]
    return torch.matmul(weights, attention).squeeze(-2).float()

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
from torch.nn.functional import pad

from app.core.heads.batched import statistics_of
from app.core.heads.statistics import TokenSet, as_mask
from app.core.stats.entropy import plogp_sum

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


class RuleMaps:
    """The uniform and positional maps of a padded batch as `batched.statistics_of` reads them, never built.

    Each rule is one "head" of one layer ([B, 1, 1 + P] per statistic, POSITIONAL_BASELINES order after the
    uniform map), with the numbers of the statistics on `batch_baseline_maps` (equal up to float rounding):
    the uniform, cls and sep maps give every valid query the same row r [T] (`rows`), the prev, self and
    next maps point each query q at one key t(q) (`targets`), so masses, top-1 hits, diagonals and entropies
    follow from r and t in [B, rules, T] operations instead of passes over [B, rules, T, T] maps.
    """

    def __init__(self, valid: torch.Tensor, cls: torch.Tensor, sep: torch.Tensor) -> None:
        batch, length = valid.shape
        self.valid = valid
        self.v = valid.float()
        self.count = valid.sum(-1, keepdim=True)  # [B, 1]
        rows = []
        for keys in (valid, cls, sep):  # as batch_baseline_maps: each row divided by its sum
            k = keys.float()
            rows.append(k / k.sum(-1, keepdim=True).clamp_min(1))
        self.rows = torch.stack(rows, 1)  # [B, 3, T]: uniform, cls, sep
        index = torch.arange(length, device=valid.device)
        targets = []
        for offset in (-1, 0, 1):  # an offset outside the valid tokens: the row attends to itself
            target = (index + offset).expand(batch, length)
            targets.append(torch.where((target >= 0) & (target < self.count), target, index))
        self.targets = torch.stack(targets, 1)  # [B, 3, T]: prev, self, next
        self.index = index

    @staticmethod
    def _heads(rank_one: torch.Tensor, pointed: torch.Tensor) -> torch.Tensor:
        """[B, 3, ...] of the row rules and of the pointer rules -> [B, 1, 1 + P, ...] in baseline order."""
        return torch.cat([rank_one[:, :1], pointed, rank_one[:, 1:]], 1).unsqueeze(1)

    def _query_means(self, values: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """values [B, R, T] per query token -> [B, R] mean over the query mask [B, T] (NaN when empty)."""
        weights = queries.float()[:, None, :]
        return (values * weights).sum(-1) / weights.sum(-1)

    def masses(
        self, masks: dict[str, torch.Tensor], keys: Sequence[str], queries: Sequence[str]
    ) -> dict[tuple[str, str], torch.Tensor]:
        stacked = torch.stack([masks[k] for k in keys], -1).float()  # [B, T, S]
        row_sums = torch.matmul(self.rows, stacked)  # [B, 3, S]: r . K
        chosen_sets = torch.stack([masks[q] for q in queries], 1)  # [B, NQ, T]
        chosen = (chosen_sets & self.valid[:, None]).float()  # [B, NQ, T]
        size = chosen_sets.sum(-1).float()[:, :, None, None]  # |Q|: 0/0 -> NaN, as on the maps
        rank_one = row_sums[:, None] * chosen.sum(-1)[:, :, None, None] / size  # [B, NQ, 3, S]
        # sum over the query tokens of K[t(q)] = sum over the keys of K[k] times the query tokens pointing at k: the
        # query weights scattered onto their targets ([B, NQ, 3, T]), then one product with every key set (counts of
        # ones, so exact); a gather of K[t(q)] would copy every key set per rule ([B, 3, S, T])
        batch, sets, length = chosen.shape
        at_keys = chosen.new_zeros(batch, sets, 3, length).scatter_add_(
            -1,
            self.targets[:, None].expand(-1, sets, -1, -1),
            chosen[:, :, None].expand(-1, -1, 3, -1).contiguous(),
        )
        pointed = torch.matmul(at_keys.flatten(1, 2), stacked).view_as(rank_one) / size
        values = torch.cat([rank_one[:, :, :1], pointed, rank_one[:, :, 1:]], 2)  # [B, NQ, 1 + P, S]
        return {(q, k): values[:, j, None, :, i] for i, k in enumerate(keys) for j, q in enumerate(queries)}

    def _best(self, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The key a query row's masked argmax picks (ties: the lowest index, as argmax): [B, 3] for the row rules
        (every query row alike), [B, 3, T] per query for the pointer rules."""
        ranked = self.rows.masked_fill(~allowed[:, None, :], float("-inf")).argmax(-1)  # [B, 3]
        first_allowed = allowed.to(torch.int8).argmax(-1)[:, None, None]  # the first 0 beats -inf (0 if none)
        pointed = torch.where(
            allowed.gather(-1, self.targets.flatten(1)).view_as(self.targets), self.targets, first_allowed
        )
        return ranked, pointed

    def top1(self, queries: torch.Tensor, golds: Sequence[torch.Tensor], allowed: torch.Tensor) -> list[torch.Tensor]:
        ranked, pointed = self._best(allowed)
        asked = queries.any(-1, keepdim=True)  # [B, 1]: a row rule's hit is the same for every query token, so its
        # mean over them is the hit itself (1 or 0, exactly), and 0 / 0 = NaN without query tokens
        out = []
        for gold in golds:
            row_hits = gold.gather(-1, ranked).float().masked_fill(~asked, float("nan"))  # [B, 3]
            pointer_hits = self._query_means(gold.gather(-1, pointed.flatten(1)).view_as(pointed).float(), queries)
            score = self._heads(row_hits, pointer_hits)  # [B, 1, 1 + P]
            out.append(score.masked_fill(~gold.any(-1)[:, None, None], float("nan")))
        return out

    def _diagonal_means(self, queries: torch.Tensor) -> torch.Tensor:
        """[B, 1 + P, O]: every rule's a[q, q + o] averaged over each offset's query tokens (queries [B, O, T] for
        the offsets 0, -1, 1): r[q + o] for a rank-one rule (0 where q + o leaves the sequence), [t(q) = q + o] for
        a pointer rule, at valid q; in [B, 3, O, T] operations, the shifts by slicing."""
        rows, index = self.rows, self.index
        shifted = torch.stack([rows, pad(rows[..., :-1], (1, 0)), pad(rows[..., 1:], (0, 1))], 2)  # r[q + o]
        pointed = torch.stack([self.targets == index + offset for offset in (0, -1, 1)], 2).to(rows.dtype)
        weights = queries[:, None]  # [B, 1, O, T] (every offset's query tokens are valid ones)
        found = self._heads((shifted * weights).sum(-1), (pointed * weights).sum(-1))[:, 0]
        return found / queries.sum(-1)[:, None]

    def positional(self, valid: torch.Tensor) -> dict[str, torch.Tensor]:
        pair_prev = torch.zeros_like(valid)
        pair_prev[:, 1:] = valid[:, 1:] & valid[:, :-1]  # query q reads a[q, q - 1]
        pair_next = torch.zeros_like(valid)
        pair_next[:, :-1] = valid[:, 1:] & valid[:, :-1]  # query q reads a[q, q + 1]
        rows = self.rows
        entropy = -plogp_sum(rows)[..., None]  # [B, 3, 1], every valid row
        flat = self._heads(entropy.expand(-1, -1, valid.shape[-1]), torch.zeros_like(self.targets, dtype=rows.dtype))
        diagonals = self._diagonal_means(torch.stack([valid, pair_prev, pair_next], 1).to(rows.dtype))
        return {
            "to_self": diagonals[:, None, :, 0],
            "to_prev": diagonals[:, None, :, 1],
            "to_next": diagonals[:, None, :, 2],
            "entropy": self._query_means(flat[:, 0], valid)[:, None],
        }

    def query_rows(self, weights: torch.Tensor) -> torch.Tensor:
        """[B, 1 + P, T]: sum_q weights[q] a[q, :] of every rule, the rows the agreement ranks (weights [B, T])."""
        on_valid = weights.float() * self.v
        rank_one = on_valid.sum(-1)[:, None, None] * self.rows
        pointed = torch.zeros_like(self.targets, dtype=rank_one.dtype).scatter_add_(
            -1, self.targets, on_valid[:, None, :].expand_as(self.targets).contiguous()
        )
        return self._heads(rank_one, pointed)[:, 0]


def rule_statistics(task: str, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """name -> [B, 1, 1 + P]: every statistic of the task on the uniform and positional maps of each example."""
    return statistics_of(task, RuleMaps(masks["valid"], masks["cls"], masks["sep"]), masks)

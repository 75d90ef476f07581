"""Every statistic of a whole padded batch in a few tensor passes (the analysis job's hot path).

`absa_statistics` / `relation_statistics` (statistics.py) define the scores on one example and
stay the reference; `batch_statistics` returns exactly the same numbers for a padded batch
[B, L, H, T, T] whose examples' token sets are given as boolean masks [B, T] (`batch_masks`),
without a Python loop over examples or heads:

* every mass statistic mass(Q -> K) = mean_{q in Q} sum_{k in K} a[q, k] comes from one matmul
  P = [Q_1 ... Q_NQ]^T A / |Q| (the mean attention row of each query set, one pass over the
  attention for all query sets), then P @ [K_1 ... K_S] on the small [B, L, H, NQ, T] result;
* top-1 statistics share one masked argmax over the allowed keys (the review's tokens for ABSA,
  the sentence's words for RE) and gather their gold masks;
* the generic statistics use diagonal views (self / previous / next) and one entropy pass.

Padding: padded keys carry exactly 0 attention (the attention mask), padded query rows are
excluded by the query masks, so the numbers equal those of the unpadded single examples.
An empty gold (key) set gives NaN for that example, as `_nan_if_empty` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch

from app.core.heads.statistics import phrase_window, query_mean, review_segment, token_sets
from app.core.stats.entropy import plogp_sum

ABSA_KEYS = ("term", "opinion", "other", "phrase", "context", "sep", "cls", "punct")
# e12: e1 and e2 together (the [CLS] -> entity mass)
RE_KEYS = ("e1", "e2", "e12", "cls", "sep", "punct")


def _fill(rows: Sequence[Sequence[int]], length: int) -> torch.Tensor:
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    r = [i for i, index in enumerate(rows) for _ in index]
    c = [j for index in rows for j in index]
    if r:
        mask[r, c] = True
    return mask


def batch_masks(
    task: str, units: Sequence[Any], length: int, device: torch.device | str | None = None, phrase_k: int = 3
) -> dict[str, torch.Tensor]:
    """Token-set masks [B, T] of a batch of analysis units (app.core.heads.analysis.Unit), padded to `length`."""
    sets: dict[str, list[list[int]]] = {}

    def put(name: str, index: Sequence[int]) -> None:
        sets.setdefault(name, []).append(list(index))

    for unit in units:
        encoded = unit.encoded
        s = token_sets(encoded)
        put("valid", range(len(encoded.input_ids)))
        put("cls", s["cls"])
        put("sep", s["sep"])
        put("punct", s["punct"])
        if task == "re":
            e1, e2 = s.get("e1", []), s.get("e2", [])
            put("e1", e1)
            put("e2", e2)
            put("e12", list(e1) + list(e2))
            put("words", s["segment_a"])
        else:
            term = s.get("aspect_term", [])
            phrase = phrase_window(encoded.tokens, term, phrase_k)
            term_set = set(term)
            put("query", s.get("aspect_query", []))
            put("term", term)
            put("review", s["segment_" + review_segment(encoded)])
            put("opinion", unit.opinion)
            put("other", unit.other_aspects)
            put("phrase", phrase)
            put("context", [i for i in phrase if i not in term_set])
    return {name: _fill(rows, length).to(device) for name, rows in sets.items()}


class AttentionMaps:
    """What the statistics read of attention [B, L, H, T, T]: masses between token sets, top-1 hits, the
    diagonal means and the entropy. baselines.RuleMaps answers the same questions for the rule baselines
    without building their maps, so `statistics_of` defines every statistic once for both."""

    def __init__(self, attention: torch.Tensor) -> None:
        self.attention = attention.float()

    def masses(
        self, masks: dict[str, torch.Tensor], keys: Sequence[str], queries: Sequence[str]
    ) -> dict[tuple[str, str], torch.Tensor]:
        """(query set, key set) -> [B, L, H] mass for every pair, in two matmuls.

        mass(Q -> K) = (1/|Q|) sum_q sum_k Q[q] a[q, k] K[k] = (Q^T A / |Q|) K: first the mean
        attention row of each query set ([B, L*H, NQ, T], one pass over the attention with the few
        query sets), then its sum over each key set ([B, L*H, NQ, S], tiny). An empty query set
        divides 0 by 0: NaN.
        """
        attention = self.attention
        batch, layers, heads, length, _ = attention.shape
        weights = torch.stack([masks[q] for q in queries], dim=1).to(attention.dtype)  # [B, NQ, T]
        weights = weights / weights.sum(-1, keepdim=True)
        rows = attention.reshape(batch, layers * heads, length, length)
        profile = torch.matmul(weights[:, None], rows)  # [B, LH, NQ, T]
        stacked = torch.stack([masks[k] for k in keys], dim=-1).to(attention.dtype)  # [B, T, S]
        means = torch.matmul(profile, stacked[:, None]).view(batch, layers, heads, len(queries), len(keys))
        return {(q, k): means[..., j, i] for i, k in enumerate(keys) for j, q in enumerate(queries)}

    def top1(self, queries: torch.Tensor, golds: Sequence[torch.Tensor], allowed: torch.Tensor) -> list[torch.Tensor]:
        """Top-1 accuracy of the query rows against each gold mask -> [B, L, H] each.

        Only the query rows are read: the batch's (example, query token) pairs are gathered first ([N, L, H, T],
        N = the query tokens of the whole batch), then one masked argmax over the allowed keys (ties: lowest index,
        as torch.argmax); each example's hits are summed back into its row and divided by its query count.
        """
        attention = self.attention
        batch, layers, heads, length, _ = attention.shape
        example, token = queries.nonzero(as_tuple=True)  # [N] each
        rows = attention[example, :, :, token]  # [N, L, H, T]
        rows = rows.masked_fill(~allowed[example][:, None, None, :], float("-inf"))
        best = rows.argmax(-1).view(len(example), layers * heads)  # [N, L * H]
        counts = queries.sum(-1).to(torch.float32)[:, None, None]
        out = []
        for gold in golds:
            hits = gold[example].gather(-1, best).to(torch.float32).view(-1, layers, heads)
            sums = torch.zeros(batch, layers, heads, device=hits.device).index_add_(0, example, hits)
            out.append(_nan_where_empty(sums / counts, gold))  # no query token: 0 / 0, NaN
        return out

    def positional(self, valid: torch.Tensor) -> dict[str, torch.Tensor]:
        """to_self, to_prev, to_next (the diagonals) and the entropy, each averaged over its query tokens."""
        pair = valid[:, 1:] & valid[:, :-1]
        entropy, to_self, to_prev, to_next = map_profiles(self.attention)
        return {
            "to_self": query_mean(to_self, valid),
            "to_prev": query_mean(to_prev, pair),
            "to_next": query_mean(to_next, pair),
            "entropy": query_mean(entropy, valid),
        }


PROFILE_CHUNK = 1 << 16  # attention elements per CPU chunk of map_profiles (256 KiB of float32: in cache)


def map_profiles(attention: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """attention [..., T, T] -> each row's entropy [..., T] and the diagonals a[q, q] [..., T], a[q, q - 1] and
    a[q, q + 1] [..., T - 1] (as `diagonal(0 / -1 / 1)`).

    Entropy: -sum a ln a with 0 ln 0 = 0 (`plogp_sum`). On a CPU the maps go a cache-sized chunk at a time, the
    diagonals copied out of the chunk while it is in cache: over the whole batch the entropy's buffer is as big as
    the attention and every step reads it back from memory, and a diagonal view reads a cache line per element (a
    MiniLM batch of 64 pairs of 64 tokens: 65 + 13 ms -> 21 + 2). On a GPU in one go (a launch per chunk would
    cost more)."""
    length = attention.shape[-1]
    maps = attention.reshape(-1, length, length)
    step = max(1, len(maps) if attention.device.type != "cpu" else PROFILE_CHUNK // (length * length))
    entropy = maps.new_empty(len(maps), length)
    diagonals = [maps.new_empty(len(maps), length - abs(offset)) for offset in (0, -1, 1)]
    for start in range(0, len(maps), step):
        chunk, stop = maps[start : start + step], start + step
        for offset, out in zip((0, -1, 1), diagonals):
            out[start:stop] = chunk.diagonal(offset, -2, -1)
        entropy[start:stop] = plogp_sum(chunk)
    shape = attention.shape[:-2]
    to_self, to_prev, to_next = (out.view(*shape, out.shape[-1]) for out in diagonals)
    return entropy.neg_().view(*shape, length), to_self, to_prev, to_next


class Maps(Protocol):
    """What `statistics_of` reads of a set of attention maps (AttentionMaps, baselines.RuleMaps)."""

    def masses(
        self, masks: dict[str, torch.Tensor], keys: Sequence[str], queries: Sequence[str]
    ) -> dict[tuple[str, str], torch.Tensor]: ...

    def top1(
        self, queries: torch.Tensor, golds: Sequence[torch.Tensor], allowed: torch.Tensor
    ) -> list[torch.Tensor]: ...

    def positional(self, valid: torch.Tensor) -> dict[str, torch.Tensor]: ...


def _nan_where_empty(score: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    return score.masked_fill(~gold.any(-1)[:, None, None], float("nan"))


def batch_statistics(task: str, attention: torch.Tensor, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every statistic of `absa_statistics` (task "absa") or `relation_statistics` ("re") -> name: [B, L, H]."""
    return statistics_of(task, AttentionMaps(attention), masks)


def statistics_of(task: str, maps: Maps, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every statistic of the task on `maps` -> name: [B, L, H]; the one place each statistic is defined as
    masses, top-1 hits and positional means of token sets."""
    if task == "re":
        masses = maps.masses(masks, RE_KEYS, ("e1", "e2", "cls", "valid"))
        e1, e2 = masks["e1"], masks["e2"]
        forward = masses[("e1", "e2")]
        backward = masses[("e2", "e1")]
        (top_forward,) = maps.top1(e1, [e2], masks["words"])
        (top_backward,) = maps.top1(e2, [e1], masks["words"])
        stats = {
            "e1_e2_mass": forward,
            "e2_e1_mass": backward,
            "entity_mass": (forward + backward) / 2,
            "entity_top1": (top_forward + top_backward) / 2,
            "cls_entity_mass": masses[("cls", "e12")],
        }
    else:
        masses = maps.masses(masks, ABSA_KEYS, ("query", "term", "valid"))
        query, term = masks["query"], masks["term"]
        aspect_top1, opinion_top1 = maps.top1(query, [term, masks["opinion"]], masks["review"])

        def scored(q: str, k: str) -> torch.Tensor:
            return _nan_where_empty(masses[(q, k)], masks[k])

        stats = {
            "aspect_mass": scored("query", "term"),
            "aspect_top1": aspect_top1,
            "opinion_mass": scored("query", "opinion"),
            "opinion_top1": opinion_top1,
            "other_aspect_mass": scored("query", "other"),
            "term_opinion_mass": scored("term", "opinion"),
            "term_other_aspect_mass": scored("term", "other"),
            "phrase_mass": scored("query", "phrase"),
            "phrase_context_mass": scored("query", "context"),
            "query_sep_mass": masses[("query", "sep")],
        }
    stats.update(
        {"to_cls": masses[("valid", "cls")], "to_sep": masses[("valid", "sep")], "to_punct": masses[("valid", "punct")]}
    )
    stats.update(maps.positional(masks["valid"]))
    return stats

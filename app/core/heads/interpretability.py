"""Interpretability rate (Stevens & Su 2020, "Understanding How BERT Learns to Identify Edits").

For one example: take the last layer's attention row of [CLS], sum it over heads, merge it to
words (attention *to* a word = the sum over its word pieces, as merge_word_pieces), exclude the
[CLS] and [SEP] words, and take the top-3 words. The example counts when its gold span lies
within those top-3 words. The rate is the share of counted examples over the examples that have
a gold span (aspect term for ABSA; the words of e1 and e2 together for RE).

"Lies within" (our choice): the top-k words contain min(|gold|, k) gold words, i.e. every gold
word is in the top k when the gold span has at most k words, and the top k are all gold words
when it is longer. A one-word aspect counts when it is among the top 3; e1 + e2 of one word each
count when both are.

Per head: the same with one head's [CLS] row instead of the sum; the best head is the one with
the highest rate (ties: lowest index). Random baseline: the expected rate when k of the example's
candidate words (words other than [CLS]/[SEP]) are drawn uniformly without replacement, i.e.
the hypergeometric probability P(X >= min(|gold|, k)), averaged over the same examples. The
pretrained baseline is this accumulator fed with the pretrained model's attention.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from math import comb

import torch

from app.core.inputs.encoding import EncodedInput

TOP_K = 3


def cls_word_attention(
    attention: torch.Tensor, word_ids: Sequence[int], layer: int = -1, cls_index: int = 0
) -> torch.Tensor:
    """[H, W]: each head's attention from the [CLS] token to every word (sum over the word's pieces)."""
    row = attention[layer, :, cls_index, :]  # [H, T]
    words = torch.as_tensor(list(word_ids), device=attention.device)
    membership = torch.nn.functional.one_hot(words, int(words.max()) + 1).to(row.dtype)  # [T, W]
    return row @ membership


def top_words(scores: torch.Tensor, excluded: torch.Tensor, k: int = TOP_K) -> torch.Tensor:
    """[..., min(k, candidates)] indices of the highest-scoring words outside `excluded` [W]."""
    candidates = int((~excluded).sum())
    masked = scores.masked_fill(excluded, float("-inf"))
    return masked.topk(min(k, candidates), dim=-1).indices


def lies_within(top: torch.Tensor, gold: Sequence[int], k: int = TOP_K) -> torch.Tensor:
    """bool [...]: the top words [..., k'] hold at least min(|gold|, k) gold words."""
    gold_index = torch.as_tensor(sorted(set(gold)), dtype=top.dtype, device=top.device)
    hits = torch.isin(top, gold_index).sum(-1)
    return hits >= min(len(gold_index), k, top.shape[-1])


def random_rate(candidates: int, gold: int, k: int = TOP_K) -> float:
    """Probability that k words drawn at random among `candidates` satisfy `lies_within`."""
    draw = min(k, candidates)
    need = min(gold, draw)
    if draw == 0 or gold == 0:
        return float("nan")
    total = comb(candidates, draw)
    return sum(comb(gold, x) * comb(candidates - gold, draw - x) for x in range(need, min(gold, draw) + 1)) / total


_random_rate = functools.lru_cache(maxsize=1 << 14)(random_rate)  # a few distinct (candidates, gold) pairs


def interpretability_words(encoded: EncodedInput, spans: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
    """(word_ids per token, gold words, excluded words) of one encoded input.

    gold = the words of the named token spans (e.g. ("aspect_term",) or ("e1", "e2"));
    excluded = the words of special tokens ([CLS], [SEP]).
    """
    word_ids = encoded.word_ids
    gold = sorted({encoded.tokens[i].word for name in spans for i in encoded.spans.get(name, [])})
    excluded = sorted({t.word for t in encoded.tokens if t.special})
    return word_ids, gold, excluded


class InterpretabilityAccumulator:
    """Streams examples; keeps only hit counts (summed heads and per head) and the random expectation."""

    def __init__(self, k: int = TOP_K, layer: int = -1) -> None:
        self.k, self.layer = k, layer
        self.count = 0
        self.hits = 0
        self.head_hits: torch.Tensor | None = None
        self.random_total = 0.0
        self.num_layers: int | None = None

    def add(
        self,
        attention: torch.Tensor,
        word_ids: Sequence[int],
        gold_words: Sequence[int],
        excluded_words: Sequence[int],
        cls_index: int = 0,
    ) -> bool | None:
        """Add one example (attention [L, H, T, T]); returns whether the summed heads hit, None if skipped."""
        if not gold_words:
            return None
        self.num_layers = attention.shape[0]
        per_head = cls_word_attention(attention, word_ids, self.layer, cls_index).float().cpu()  # [H, W]
        excluded = torch.zeros(per_head.shape[-1], dtype=torch.bool)
        excluded[list(excluded_words)] = True
        summed = per_head.sum(0)
        hit = bool(lies_within(top_words(summed, excluded, self.k), gold_words, self.k))
        head_hit = lies_within(top_words(per_head, excluded, self.k), gold_words, self.k).long()
        self.head_hits = head_hit if self.head_hits is None else self.head_hits + head_hit
        self.hits += int(hit)
        self.count += 1
        self.random_total += random_rate(int((~excluded).sum()), len(set(gold_words)), self.k)
        return hit

    def add_batch(
        self,
        attention: torch.Tensor,
        word_ids: Sequence[Sequence[int]],
        gold_words: Sequence[Sequence[int]],
        excluded_words: Sequence[Sequence[int]],
        cls_index: int = 0,
    ) -> None:
        """Add a padded batch (attention [B, L, H, T, T]) at once; same counts as `add` per example.

        Only the analysed layer's [CLS] rows are used; tokens beyond an example's word_ids
        (padding) belong to no word. Examples without gold words are skipped.
        """
        keep = [i for i, gold in enumerate(gold_words) if gold]
        if not keep:
            return
        self.num_layers = attention.shape[1]
        rows = attention[keep, self.layer, :, cls_index, :].float().cpu()  # [B', H, T]
        length = rows.shape[-1]
        words = 1 + max(max(word_ids[i]) for i in keep)
        index = torch.full((len(keep), length), words, dtype=torch.long)  # padding -> a dropped extra column
        excluded = torch.ones(len(keep), words, dtype=torch.bool)
        gold = torch.zeros(len(keep), words, dtype=torch.bool)
        need = []
        for row, i in enumerate(keep):
            ids = torch.as_tensor(list(word_ids[i]), dtype=torch.long)
            index[row, : len(ids)] = ids
            present = int(ids.max()) + 1
            excluded[row, :present] = False
            excluded[row, list(excluded_words[i])] = True
            gold_set = sorted(set(gold_words[i]))
            gold[row, gold_set] = True
            candidates = present - len(set(excluded_words[i]))
            need.append(min(len(gold_set), self.k, candidates))
            self.random_total += random_rate(candidates, len(gold_set), self.k)
        self._add_words(rows, index, words, excluded, gold, need)

    def add_columns(
        self, attention: torch.Tensor, word: torch.Tensor, gold: torch.Tensor, special: torch.Tensor
    ) -> None:
        """`add_batch` of a batch given as columns: word [B, T] (each token's word, -1 on padding), gold and
        special [B, T] token masks (app.core.heads.token_masks.interpretability_columns); the same counts."""
        keep = gold.any(-1).nonzero()[:, 0]
        if not len(keep):
            return
        self.num_layers = attention.shape[1]
        rows = attention[keep, self.layer, :, 0, :].float().cpu()  # [B', H, T]
        word, gold, special = word[keep], gold[keep], special[keep]
        present = word.amax(-1) + 1  # [B']
        words = int(present.max())
        index = torch.where(word >= 0, word, words)  # padding -> a dropped extra column
        taken = torch.zeros(len(keep), words + 1, dtype=torch.bool)
        excluded = taken.scatter(1, torch.where(special, index, words), True)[:, :words]
        excluded |= torch.arange(words)[None, :] >= present[:, None]
        gold_words = taken.scatter(1, torch.where(gold, index, words), True)[:, :words]
        counts = gold_words.sum(-1).tolist()
        candidates = (present - (excluded & (torch.arange(words)[None, :] < present[:, None])).sum(-1)).tolist()
        need = [min(g, self.k, c) for g, c in zip(counts, candidates)]
        for c, g in zip(candidates, counts):  # one by one, as add_batch sums them
            self.random_total += _random_rate(c, g, self.k)
        self._add_words(rows, index, words, excluded, gold_words, need)

    def _add_words(
        self,
        rows: torch.Tensor,
        index: torch.Tensor,
        words: int,
        excluded: torch.Tensor,
        gold: torch.Tensor,
        need: list[int],
    ) -> None:
        """Count the hits of the [CLS] rows [B', H, T] merged to words (index [B', T]: each token's word)."""
        # each word the sum of its tokens' weights (padding -> the extra column, dropped), by one scatter rather than
        # a product with a [B', T, W] one-hot membership; the callers move the rows to the CPU, where the sums go in
        # token order; the masks and the sums' buffer follow the rows' device, so rows kept elsewhere still add up
        index, excluded, gold = (t.to(rows.device) for t in (index, excluded, gold))
        spread = index[:, None, :].expand(-1, rows.shape[1], -1)
        sums = torch.zeros(*rows.shape[:2], words + 1, dtype=rows.dtype, device=rows.device)
        per_head = sums.scatter_add_(2, spread, rows)[..., :words]
        scores = torch.cat([per_head.sum(1, keepdim=True), per_head], dim=1)  # summed heads first
        masked = scores.masked_fill(excluded[:, None, :], float("-inf"))
        values, top = masked.topk(min(self.k, words), dim=-1)
        hits = (gold[:, None, :].expand(-1, scores.shape[1], -1).gather(-1, top) & torch.isfinite(values)).sum(-1)
        hit = hits >= torch.as_tensor(need, device=hits.device)[:, None]  # [B', 1 + H]
        self.hits += int(hit[:, 0].sum())
        head_hits = hit[:, 1:].long().sum(0)
        self.head_hits = head_hits if self.head_hits is None else self.head_hits + head_hits
        self.count += len(need)

    def merge(self, other: InterpretabilityAccumulator) -> None:
        self.count += other.count
        self.hits += other.hits
        self.random_total += other.random_total
        self.num_layers = self.num_layers or other.num_layers
        if other.head_hits is not None:
            self.head_hits = other.head_hits.clone() if self.head_hits is None else self.head_hits + other.head_hits

    @property
    def rate(self) -> float:
        return self.hits / self.count if self.count else float("nan")

    @property
    def random(self) -> float:
        return self.random_total / self.count if self.count else float("nan")

    def head_rates(self) -> torch.Tensor:
        """[H] rate per single head of the analysed layer."""
        if self.head_hits is None:
            return torch.empty(0)
        return self.head_hits.float() / self.count

    def best_head(self) -> tuple[int, float]:
        """(head index in the analysed layer, its rate)."""
        rates = self.head_rates()
        if rates.numel() == 0:
            return -1, float("nan")
        best = int(rates.argmax())
        return best, float(rates[best])

    def to_json(self) -> dict:
        head, head_rate = self.best_head()
        return {
            "rate": self.rate,
            "random": self.random,
            "examples": self.count,
            "k": self.k,
            "best_head": {
                "layer": self.layer % self.num_layers if self.num_layers else self.layer,
                "head": head,
                "rate": head_rate,
            },
        }

"""Per-example, per-(layer, head) attention statistics (after Clark et al. 2019, "What Does BERT Look At?").

Every function takes attention [..., L, H, T, T] (rows = queries, columns = keys, each row sums
to 1) and token sets given as lists of token indices or boolean masks [T] (or [..., T] for a
padded batch, broadcast over L and H), and returns a float tensor [..., L, H].

Definitions (q ranges over the query set Q, k over keys, a[q, k] is attention):

* mass(Q -> K)      = mean over q in Q of  sum_{k in K} a[q, k]                      in [0, 1]
* top1(Q, G, A)     = mean over q in Q of  1[argmax_{k in A} a[q, k] in G]            in [0, 1]
                      (A = allowed keys, e.g. the review's non-special tokens; ties go to the
                      lowest index, as torch.argmax)
* sep mass          = mass(Q -> [SEP] tokens), Q = all valid tokens unless given
* phrase mass       = mass(Q -> phrase window of the aspect term, see `phrase_window`)
* generic (Clark):  to_cls, to_sep, to_punct = mass(all -> set); self = mean_q a[q, q];
                    prev = mean over q >= 1 of a[q, q-1]; next = mean over q <= T-2 of a[q, q+1];
                    entropy = mean_q of -sum_k a[q, k] ln a[q, k]  (nats, in [0, ln T])

Empty Q gives NaN (the example carries no information about that statistic).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import torch

from app.core.inputs.encoding import EncodedInput, Token

TokenSet = Sequence[int] | torch.Tensor

GENERIC_STATISTICS = ("to_cls", "to_sep", "to_punct", "to_self", "to_prev", "to_next", "entropy")


# --- token sets -------------------------------------------------------------------------------


def as_mask(tokens: TokenSet, length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """A boolean mask [T] (or the given mask [..., T], unchanged) from token indices."""
    if isinstance(tokens, torch.Tensor) and tokens.dtype == torch.bool:
        return tokens.to(device) if device is not None else tokens
    mask = torch.zeros(length, dtype=torch.bool, device=device)
    index = torch.as_tensor(list(tokens) if not isinstance(tokens, torch.Tensor) else tokens, dtype=torch.long)
    if index.numel():
        mask[index.to(mask.device)] = True
    return mask


@functools.lru_cache(maxsize=1 << 16)  # token texts repeat (a vocabulary's worth): classify each once
def is_punctuation(text: str) -> bool:
    """A token is punctuation when every character is in a Unicode punctuation category (P*)."""
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def token_sets(encoded: EncodedInput) -> dict[str, list[int]]:
    """Index sets of one encoded input used by the statistics.

    cls: the first special token ([CLS] / <s>); sep: every other special token ([SEP] / </s>);
    special: both; punct: non-special punctuation tokens; segment_a / segment_b: non-special,
    non-marker tokens of each segment; plus every span of `encoded.spans` as is.
    """
    tokens = encoded.tokens
    special = [i for i, t in enumerate(tokens) if t.special]
    sets = {
        "cls": special[:1],
        "sep": special[1:],
        "special": special,
        "punct": [i for i, t in enumerate(tokens) if not t.special and not t.marker and is_punctuation(t.text)],
        "segment_a": [i for i, t in enumerate(tokens) if t.segment == "a" and not t.special and not t.marker],
        "segment_b": [i for i, t in enumerate(tokens) if t.segment == "b" and not t.special and not t.marker],
    }
    sets.update({name: list(index) for name, index in encoded.spans.items()})
    return sets


def review_segment(encoded: EncodedInput) -> str:
    """The segment holding the review (ABSA): the one containing the aspect term, else the longer one."""
    term = encoded.spans.get("aspect_term") or []
    if term:
        return encoded.tokens[term[0]].segment
    query = encoded.spans.get("aspect_query") or []
    if query and len(encoded.segments) > 1:
        return "a" if encoded.tokens[query[0]].segment == "b" else "b"
    return "a"


def phrase_window(tokens: Sequence[Token], term: Sequence[int], k: int = 3) -> list[int]:
    """The aspect term's phrase: token indices of the contiguous window around the term.

    Definition: start from the term's tokens (first to last, inclusive) and extend to the left
    and to the right by at most `k` whole words each, stopping before the first token that is
    punctuation, a special token ([CLS]/[SEP]), an entity marker, or in another segment. So the
    phrase never crosses a segment boundary or a punctuation mark (",", ".", "!", "-", ...), and
    contains the term itself. An empty term gives an empty phrase.
    """
    if not term:
        return []
    first, last = min(term), max(term)
    segment = tokens[first].segment

    def inside(i: int) -> bool:
        if not 0 <= i < len(tokens):
            return False
        t = tokens[i]
        return t.segment == segment and not t.special and not t.marker and not is_punctuation(t.text)

    def extend(start: int, step: int) -> list[int]:
        taken: list[int] = []
        words: set[int] = set()
        edge_word = tokens[start - step].word
        i = start
        while 0 <= i < len(tokens) and inside(i):
            word = tokens[i].word
            if word != edge_word and word not in words:
                if len(words) == k:
                    break
                words.add(word)
            taken.append(i)
            i += step
        return taken

    left = extend(first - 1, -1)
    right = extend(last + 1, +1)
    return sorted(left) + list(range(first, last + 1)) + right


# --- core statistics ------------------------------------------------------------------------


def query_mean(values: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Mean of values [..., L, H, T] over the query mask [..., T]; NaN when the mask is empty."""
    weights = queries.to(values.dtype)[..., None, None, :]
    count = weights.sum(-1)
    total = (values * weights).sum(-1)
    return total / count  # 0/0 -> NaN by design


def mass(attention: torch.Tensor, queries: TokenSet, keys: TokenSet) -> torch.Tensor:
    """Mean attention mass from the query set to the key set: mean_q sum_{k in keys} a[q, k] -> [..., L, H]."""
    length = attention.shape[-1]
    q = as_mask(queries, length, attention.device)
    k = as_mask(keys, length, attention.device).to(attention.dtype)[..., None, None, None, :]
    return query_mean((attention * k).sum(-1), q)


def top1_accuracy(
    attention: torch.Tensor, queries: TokenSet, gold: TokenSet, allowed: TokenSet | None = None
) -> torch.Tensor:
    """Share of query tokens whose most-attended allowed key is a gold key -> [..., L, H].

    `allowed` restricts the argmax (e.g. the review's non-special tokens); default all keys.
    """
    length = attention.shape[-1]
    q = as_mask(queries, length, attention.device)
    g = as_mask(gold, length, attention.device)
    scores = attention
    if allowed is not None:
        a = as_mask(allowed, length, attention.device)[..., None, None, None, :]
        scores = attention.masked_fill(~a, float("-inf"))
    best = scores.argmax(-1)  # [..., L, H, T]
    gold_rows = g[..., None, None, :].expand(best.shape[:-1] + (length,))
    hits = gold_rows.gather(-1, best)
    return query_mean(hits.to(attention.dtype), q)


def sep_mass(attention: torch.Tensor, sep: TokenSet, queries: TokenSet | None = None) -> torch.Tensor:
    """Attention mass to [SEP] tokens, averaged over `queries` (default: every query) -> [..., L, H]."""
    if queries is None:
        queries = torch.ones(attention.shape[-1], dtype=torch.bool, device=attention.device)
    return mass(attention, queries, sep)


def phrase_mass(attention: torch.Tensor, queries: TokenSet, phrase: TokenSet) -> torch.Tensor:
    """Mass from the aspect's query tokens to its phrase window (`phrase_window`) -> [..., L, H]."""
    return mass(attention, queries, phrase)


def entropy(attention: torch.Tensor, queries: TokenSet | None = None) -> torch.Tensor:
    """Mean row entropy in nats, -sum_k a ln a (0 ln 0 = 0), over `queries` (default all) -> [..., L, H]."""
    length = attention.shape[-1]
    q = (
        torch.ones(length, dtype=torch.bool, device=attention.device)
        if queries is None
        else as_mask(queries, length, attention.device)
    )
    rows = -(attention * torch.log(attention.clamp_min(1e-30))).sum(-1)
    return query_mean(rows, q)


def generic_statistics(
    attention: torch.Tensor, cls: TokenSet, sep: TokenSet, punct: TokenSet, valid: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Clark et al.'s per-head statistics, averaged over every valid query token -> name: [..., L, H].

    to_cls / to_sep / to_punct: mass to those sets; to_self: a[q, q]; to_prev: a[q, q-1] over
    q >= 1; to_next: a[q, q+1] over q <= T-2 (both only where the neighbour is valid too);
    entropy: as `entropy`. `valid` [..., T] marks real (non-padding) tokens; default all.
    """
    length = attention.shape[-1]
    if valid is None:
        valid = torch.ones(length, dtype=torch.bool, device=attention.device)
    diagonal = attention.diagonal(0, -2, -1)  # [..., L, H, T]
    previous = attention.diagonal(-1, -2, -1)  # a[q, q-1] for q = 1..T-1
    following = attention.diagonal(1, -2, -1)  # a[q, q+1] for q = 0..T-2
    pair = valid[..., 1:] & valid[..., :-1]
    return {
        "to_cls": mass(attention, valid, cls),
        "to_sep": mass(attention, valid, sep),
        "to_punct": mass(attention, valid, punct),
        "to_self": query_mean(diagonal, valid),
        "to_prev": query_mean(previous, pair),
        "to_next": query_mean(following, pair),
        "entropy": entropy(attention, valid),
    }


# --- whole-example convenience --------------------------------------------------------------


def absa_statistics(
    attention: torch.Tensor,
    encoded: EncodedInput,
    opinion: TokenSet = (),
    other_aspects: TokenSet = (),
    phrase_k: int = 3,
) -> dict[str, torch.Tensor]:
    """Every ABSA statistic of one pair -> name: [L, H] (NaN where the data has no span).

    aspect_mass / aspect_top1: aspect_query -> aspect_term, argmax over the review's non-special
    tokens; opinion_mass / opinion_top1: aspect_query -> `opinion` tokens (gold ASTE opinions or
    lexicon words, the caller's choice); other_aspect_mass: aspect_query -> `other_aspects`
    tokens; term_opinion_mass / term_other_aspect_mass: the same from the review's aspect-term
    tokens (the aspect as it appears in the review); phrase_mass: aspect_query ->
    phrase_window(aspect_term) (term included); phrase_context_mass: aspect_query -> the phrase
    window minus the term itself (what separates a head spreading over the phrase from an aspect
    head that looks at the term only); query_sep_mass: aspect_query -> [SEP] (the no-op signal,
    feed it to streaming.NoOpContrast); plus the generic statistics. An empty gold or query set
    yields NaN rather than 0 so that the example is skipped for that statistic.
    """
    sets = token_sets(encoded)
    query = sets.get("aspect_query", [])
    term = sets.get("aspect_term", [])
    review = sets["segment_" + review_segment(encoded)]
    nan_if_empty = _nan_if_empty(attention)
    phrase = phrase_window(encoded.tokens, term, phrase_k)
    context = [i for i in phrase if i not in set(term)]
    stats = {
        "aspect_mass": nan_if_empty(mass(attention, query, term), term),
        "aspect_top1": nan_if_empty(top1_accuracy(attention, query, term, review), term),
        "opinion_mass": nan_if_empty(mass(attention, query, opinion), opinion),
        "opinion_top1": nan_if_empty(top1_accuracy(attention, query, opinion, review), opinion),
        "other_aspect_mass": nan_if_empty(mass(attention, query, other_aspects), other_aspects),
        "term_opinion_mass": nan_if_empty(mass(attention, term, opinion), opinion),
        "term_other_aspect_mass": nan_if_empty(mass(attention, term, other_aspects), other_aspects),
        "phrase_mass": nan_if_empty(phrase_mass(attention, query, phrase), phrase),
        "phrase_context_mass": nan_if_empty(mass(attention, query, context), context),
        "query_sep_mass": sep_mass(attention, sets["sep"], query),
    }
    stats.update(generic_statistics(attention, sets["cls"], sets["sep"], sets["punct"]))
    return stats


def relation_statistics(attention: torch.Tensor, encoded: EncodedInput) -> dict[str, torch.Tensor]:
    """Every RE statistic of one instance -> name: [L, H].

    entity_mass: mean of mass(e1 -> e2) and mass(e2 -> e1) (the symmetric e1<->e2 score; both
    directions are also returned as e1_e2_mass and e2_e1_mass); entity_top1: the same for top-1
    accuracy with argmax over the sentence's non-special, non-marker tokens; cls_entity_mass:
    [CLS] -> e1 and e2 tokens; plus the generic statistics.
    """
    sets = token_sets(encoded)
    e1, e2 = sets.get("e1", []), sets.get("e2", [])
    words = sets["segment_a"]
    forward, backward = mass(attention, e1, e2), mass(attention, e2, e1)
    top_forward, top_backward = top1_accuracy(attention, e1, e2, words), top1_accuracy(attention, e2, e1, words)
    stats = {
        "e1_e2_mass": forward,
        "e2_e1_mass": backward,
        "entity_mass": (forward + backward) / 2,
        "entity_top1": (top_forward + top_backward) / 2,
        "cls_entity_mass": mass(attention, sets["cls"], list(e1) + list(e2)),
    }
    stats.update(generic_statistics(attention, sets["cls"], sets["sep"], sets["punct"]))
    return stats


def _nan_if_empty(attention: torch.Tensor):
    def apply(score: torch.Tensor, gold: TokenSet) -> torch.Tensor:
        empty = (
            (not bool(gold.any())) if isinstance(gold, torch.Tensor) and gold.dtype == torch.bool else len(gold) == 0
        )
        return torch.full_like(score, float("nan")) if empty else score

    return apply

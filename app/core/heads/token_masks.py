"""The analysis's token sets of a batch encoded as columns (app.core.inputs.unit_batch), by tensor operations.

`batched.batch_masks` builds the masks [B, T] the batched statistics read from each unit's
`token_sets` and `phrase_window`, pair by pair; `column_masks` builds the same masks from a
`UnitBatch` over the whole batch at once, on the device the statistics run on. The interpretability
rate's words and the agreement's readout queries come from the same columns (`interpretability_columns`,
`readout_weights`), so a pass over columns builds no per-pair Python object.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from app.core.inputs.unit_batch import UnitBatch


def _tensor(array: np.ndarray, device: torch.device | str | None) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def _first(mask: torch.Tensor) -> torch.Tensor:
    """[B]: the first True position of each row (0 when none)."""
    return mask.to(torch.int8).argmax(-1)


def _last(mask: torch.Tensor) -> torch.Tensor:
    """[B]: the last True position of each row (T - 1 when none)."""
    return mask.shape[-1] - 1 - mask.flip(-1).to(torch.int8).argmax(-1)


def column_masks(
    task: str, batch: UnitBatch, device: torch.device | str | None = None, phrase_k: int = 3
) -> dict[str, torch.Tensor]:
    """`batched.batch_masks` of a `UnitBatch` (same names, same masks)."""
    c = batch.columns
    valid = _tensor(c.valid, device)
    special = _tensor(c.special, device) & valid
    content = _tensor(c.content, device)
    cls = torch.zeros_like(valid)
    cls.scatter_(1, _first(special)[:, None], special.any(-1, keepdim=True))
    segment = _tensor(c.segment, device)
    masks = {
        "valid": valid,
        "cls": cls,
        "sep": special & ~cls,
        "punct": _tensor(c.punct, device) & content,
    }
    if task == "re":
        e1, e2 = _tensor(batch.masks["e1"], device), _tensor(batch.masks["e2"], device)
        masks.update({"e1": e1, "e2": e2, "e12": e1 | e2, "words": content & (segment == 0)})
        return masks
    query, term = _tensor(batch.masks["aspect_query"], device), _tensor(batch.masks["aspect_term"], device)
    has_term, has_query = term.any(-1), query.any(-1)
    # review_segment: the aspect term's segment, else the one the aspect query is not in, else "a"
    term_segment = segment.gather(1, _first(term)[:, None])[:, 0]
    query_other = 1 - segment.gather(1, _first(query)[:, None])[:, 0]
    review = torch.where(has_term, term_segment, torch.where(has_query, query_other, torch.zeros_like(term_segment)))
    phrase = _phrase(
        term, has_term, term_segment, segment, content & ~masks["punct"], _tensor(c.word, device), phrase_k
    )
    masks.update(
        {
            "query": query,
            "term": term,
            "review": content & (segment == review[:, None]),
            "opinion": _tensor(batch.masks["opinion"], device),
            "other": _tensor(batch.masks["other"], device),
            "phrase": phrase,
            "context": phrase & ~term,
        }
    )
    return masks


def _phrase(
    term: torch.Tensor,
    has_term: torch.Tensor,
    term_segment: torch.Tensor,
    segment: torch.Tensor,
    eligible: torch.Tensor,
    word: torch.Tensor,
    k: int,
) -> torch.Tensor:
    """`statistics.phrase_window` of every row: the term's first..last tokens, extended left and right over
    tokens of its segment that are not special, markers or punctuation, by at most k words beyond the
    words the term's edge tokens belong to (words are numbered along the tokens, so a token is within k
    words of the edge when its word index differs from the edge token's by at most k)."""
    length = term.shape[-1]
    position = torch.arange(length, device=term.device)[None, :]
    first, last = _first(term)[:, None], _last(term)[:, None]
    blocked = ~(eligible & (segment == term_segment[:, None]))
    left_stop = torch.where(blocked & (position < first), position, -1).amax(-1, keepdim=True)
    right_stop = torch.where(blocked & (position > last), position, length).amin(-1, keepdim=True)
    first_word, last_word = word.gather(1, first), word.gather(1, last)
    left = (position > left_stop) & (position < first) & (first_word - word <= k)
    right = (position > last) & (position < right_stop) & (word - last_word <= k)
    middle = (position >= first) & (position <= last)
    return (left | middle | right) & has_term[:, None]


def interpretability_columns(batch: UnitBatch, spans: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(word [B, T] (-1 on padding), gold tokens [B, T], special tokens [B, T]) for the interpretability rate:
    `interpretability.interpretability_words` of every row, as masks."""
    c = batch.columns
    gold = np.zeros(c.ids.shape, dtype=bool)
    for name in spans:
        gold |= batch.masks[name]
    return _tensor(c.word, None), _tensor(gold, None), _tensor(c.special & c.valid, None)


def readout_weights(batch: UnitBatch, start_ids: Sequence[int], device: torch.device | str | None) -> torch.Tensor:
    """[B, T]: `attribution.query_weights(query_tokens(encoded, "readout", ...))` of every row: the mean over
    the first occurrence of each entity-start marker, else [CLS] (position 0)."""
    ids = batch.columns.ids
    valid = batch.columns.valid
    weights = np.zeros(ids.shape, dtype=np.float32)
    found = np.zeros(len(ids), dtype=np.int64)
    rows = np.arange(len(ids))
    for marker in start_ids:
        hit = (ids == marker) & valid
        has = hit.any(-1)
        weights[rows[has], hit.argmax(-1)[has]] += 1.0
        found += has
    weights[found == 0, 0] = 1.0
    weights /= np.maximum(found, 1)[:, None]
    return _tensor(weights, device)

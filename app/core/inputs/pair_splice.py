"""Pairs of texts joined as arrays: each text's tokens read once, the pairs spliced by the tokenizer's template.

A BERT-like post-processor (`TemplateProcessing`, `BertProcessing`) joins the separately encoded texts of a pair
as they are: its special tokens around them, a type id per part, offsets and word ids untouched. So a batch's
pairs need not go through `post_process` one by one and be read back field by field: each distinct text is read
once into flat arrays (a review once for all its aspects), and every pair's row is a gather from those arrays
in the template's order — one `np.repeat` for the whole batch. `pair_template` learns the template from the
tokenizer itself (it joins two probe texts and reads where the special tokens went) and checks that splicing
the probe gives what the tokenizer gives; where it does not, there is no template and the caller encodes pairs
whole. The arrays are those `columns._columns` reads: ids, type ids, offsets, sequence (-1 special, 0 first
text, 1 second: a joined encoding keeps no sequence id for its first text, and the columns read it as 0),
word ids (-1 where none).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

FIELDS = ("ids", "types", "starts", "ends", "sequence", "word")


@dataclass(frozen=True)
class PairTemplate:
    """The parts of a joined pair in order: side -1 a special token (its id), 0 the first text, 1 the second;
    `types` the type id each part's tokens get."""

    sides: tuple[int, ...]
    ids: tuple[int, ...]
    types: tuple[int, ...]


@dataclass
class Flat:
    """Token fields of some encodings back to back (FIELDS, each [N]); `first` [K] / `length` [K] per encoding."""

    fields: dict[str, np.ndarray]
    first: np.ndarray
    length: np.ndarray
    special: bool  # any token the tokenizer marks special (an added special token inside a text)


def read_flat(encodings: Sequence[Any], side: int, type_id: int) -> Flat:
    """The ids, offsets and word ids of encodings made without special tokens, as one side's text of a pair."""
    length = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(encodings))
    total = int(length.sum())
    ids = np.fromiter(chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=total)
    offsets = np.fromiter(
        chain.from_iterable(chain.from_iterable(e.offsets for e in encodings)), dtype=np.int64, count=2 * total
    ).reshape(total, 2)
    words = np.array(list(chain.from_iterable(e.word_ids for e in encodings)), dtype=np.float64).reshape(total)
    fields = {
        "ids": ids,
        "types": np.full(total, type_id, dtype=np.int64),
        "starts": offsets[:, 0],
        "ends": offsets[:, 1],
        "sequence": np.full(total, side, dtype=np.int64),
        "word": np.nan_to_num(words, nan=-1).astype(np.int64),
    }
    special = any(any(e.special_tokens_mask) for e in encodings)
    return Flat(fields, np.cumsum(length) - length, length, special)


def read_whole(encodings: Sequence[Any]) -> Flat:
    """Encodings of whole pairs (special tokens included), read by the columns' rules."""
    length = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(encodings))
    total = int(length.sum())

    def flat(name: str, dtype: Any) -> np.ndarray:
        return np.array(list(chain.from_iterable(getattr(e, name) for e in encodings)), dtype=dtype).reshape(total)

    offsets = np.array(list(chain.from_iterable(e.offsets for e in encodings)), dtype=np.int64).reshape(total, 2)
    special = flat("special_tokens_mask", np.int64).astype(bool)
    sequence = np.where(special, -1, np.nan_to_num(flat("sequence_ids", np.float64), nan=0)).astype(np.int64)
    fields = {
        "ids": flat("ids", np.int64),
        "types": flat("type_ids", np.int64),
        "starts": offsets[:, 0],
        "ends": offsets[:, 1],
        "sequence": sequence,
        "word": np.nan_to_num(flat("word_ids", np.float64), nan=-1).astype(np.int64),
    }
    return Flat(fields, np.cumsum(length) - length, length, False)


def _specials(template: PairTemplate) -> Flat:
    """The template's special tokens, one entry per part (a text's part holds a placeholder never gathered)."""
    parts = len(template.sides)
    zeros = np.zeros(parts, dtype=np.int64)
    fields = {
        "ids": np.array(template.ids, dtype=np.int64),
        "types": np.array(template.types, dtype=np.int64),
        "starts": zeros,
        "ends": zeros,
        "sequence": np.full(parts, -1, dtype=np.int64),
        "word": np.full(parts, -1, dtype=np.int64),
    }
    return Flat(fields, np.arange(parts), np.ones(parts, dtype=np.int64), False)


def splice(
    template: PairTemplate, texts: Sequence[tuple[Flat, np.ndarray]], whole: tuple[Flat, Sequence[int]] | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rows [B] of joined pairs: texts[side] = (the flat encodings of that side, which of them each row takes [B]);
    whole: (flat encodings of whole pairs, the rows they stand for, one each): rows encoded whole (truncated).
    Returns FIELDS as [N] arrays, the rows' tokens back to back (row-major), and the rows' lengths [B]."""
    blocks = [_specials(template), texts[0][0], texts[1][0]] + ([whole[0]] if whole is not None else [])
    bases = np.cumsum([0] + [len(b.fields["ids"]) for b in blocks])
    rows = len(texts[0][1])
    sides = np.array(template.sides)
    source = np.tile(np.arange(len(sides)), (rows, 1))  # [B, P]: where each part starts in the pool
    length = np.ones((rows, len(sides)), dtype=np.int64)
    for side in (0, 1):
        flat, which = texts[side]
        source[:, sides == side] = (bases[1 + side] + flat.first[which])[:, None]
        length[:, sides == side] = flat.length[which][:, None]
    if whole is not None:  # the row is one part: its whole encoding
        cut, replaced = whole[0], np.asarray(whole[1], dtype=np.int64)
        source[replaced], length[replaced] = 0, 0
        source[replaced, 0], length[replaced, 0] = bases[3] + cut.first, cut.length
    lengths = length.sum(1)
    out_start = np.cumsum(length) - length.ravel()  # where each part lands in the rows' tokens back to back
    index = np.repeat(source.ravel() - out_start, length.ravel()) + np.arange(int(lengths.sum()))
    pooled = {name: np.concatenate([b.fields[name] for b in blocks])[index] for name in FIELDS}
    return pooled, lengths


def padded_rows(flat: dict[str, np.ndarray], lengths: np.ndarray) -> dict[str, np.ndarray]:
    """FIELDS back to back as right-padded [B, T] arrays (padding: 0, sequence -1, word -1)."""
    width = int(lengths.max()) if len(lengths) else 0
    valid = np.arange(width)[None, :] < lengths[:, None]
    out = {}
    for name, values in flat.items():
        array = np.full(valid.shape, -1 if name in ("sequence", "word") else 0, dtype=np.int64)
        array[valid] = values
        out[name] = array
    return out


@functools.lru_cache(maxsize=8)
def pair_template(backend: Any) -> PairTemplate | None:
    """The tokenizer's pair template, learnt from joining two probe texts, or None when splicing the probe does
    not give what `post_process` gives (then pairs are encoded whole). Call with truncation and padding off."""
    first, second = backend.encode("a b", add_special_tokens=False), backend.encode("c d e", add_special_tokens=False)
    first.set_sequence_id(0)
    second.set_sequence_id(1)
    joined = backend.post_process(first, second, add_special_tokens=True)
    sides: list[int] = []
    ids: list[int] = []
    types: list[int] = []
    for token, special, sequence, type_id in zip(
        joined.ids, joined.special_tokens_mask, joined.sequence_ids, joined.type_ids
    ):
        side = -1 if special else (1 if sequence == 1 else 0)
        if side >= 0 and sides and sides[-1] == side:
            if types[-1] != type_id:
                return None
            continue
        sides.append(side)
        ids.append(token if side < 0 else 0)
        types.append(type_id)
    if sides.count(0) != 1 or sides.count(1) != 1:
        return None
    template = PairTemplate(tuple(sides), tuple(ids), tuple(types))
    return template if _reproduces(template, first, second, joined) else None


def _reproduces(template: PairTemplate, first: Any, second: Any, joined: Any) -> bool:
    pick = np.zeros(1, dtype=np.int64)
    texts = [
        (read_flat([e], side, template.types[template.sides.index(side)]), pick)
        for side, e in enumerate((first, second))
    ]
    found, _ = splice(template, texts)
    expected = read_whole([joined]).fields
    return all(np.array_equal(found[name], expected[name]) for name in FIELDS)

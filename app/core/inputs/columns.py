"""A batch of encoded inputs as columns: arrays [B, T] straight from the tokenizer's batch output.

A dataset pass does not need each pair's tokens as Python objects: the statistics read token sets
as boolean masks over the padded batch. `TokenColumns` keeps what `EncodedInput.tokens` says per
token — id, type id, character offsets into its segment, segment, special, entity marker, word —
as right-padded numpy arrays, built from the Rust tokenizer's encodings without a per-token Python
loop; `span_masks` turns character spans (one row of the batch each) into token masks by the same
rule as `EncodedInput.char_span_to_tokens`, for every span of the batch at once. `encoded(row)`
materialises one row as an `EncodedInput` (the same one `encode_segments` builds) for whoever needs
a pair's tokens (a typical example, a report).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import torch
from tokenizers import processors

from app.core.inputs.encoding import TOKENIZING, EncodedInput, Token, Truncation, length_limit
from app.core.inputs.pair_splice import Flat, PairTemplate, padded_rows, pair_template, read_flat, read_whole, splice

SEGMENTS = ("a", "b")


@functools.lru_cache(maxsize=8)
def _punctuation_ids(tokenizer: Any) -> np.ndarray:
    """bool [vocabulary]: the token ids whose display text is punctuation (statistics.is_punctuation's rule)."""
    import unicodedata

    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    table = np.zeros(len(pieces) + 1, dtype=bool)
    for index, piece in enumerate(pieces):
        text = (piece or "").lstrip("Ġ▁") or (piece or "")
        table[index] = bool(text) and all(unicodedata.category(c).startswith("P") for c in text)
    return table


@dataclass
class TokenColumns:
    """Right-padded [B, T] arrays of a batch of encodings; `lengths` [B] real tokens per row.

    segment: 0 for "a", 1 for "b" (a [SEP] closing segment A belongs to A, as `Token.segment`);
    starts / ends: character offsets into the token's segment text (0 / 0 for special tokens and
    padding); word: `Token.word` (-1 on padding); punct: non-special, non-marker punctuation.
    """

    ids: np.ndarray
    type_ids: np.ndarray | None
    starts: np.ndarray
    ends: np.ndarray
    segment: np.ndarray
    special: np.ndarray
    marker: np.ndarray
    word: np.ndarray
    punct: np.ndarray
    lengths: np.ndarray
    texts: list[dict[str, str]]  # per row: segment -> its text
    tokenizer: Any
    truncated: dict[int, Truncation] = field(default_factory=dict)  # row -> how it was cut

    @functools.cached_property  # (read by every span mask and probe of the batch; the arrays are not changed)
    def valid(self) -> np.ndarray:
        return np.arange(self.ids.shape[1])[None, :] < self.lengths[:, None]

    @functools.cached_property
    def content(self) -> np.ndarray:
        """[B, T]: real tokens that are neither special nor entity markers."""
        return self.valid & ~self.special & ~self.marker

    def model_inputs(self, pad_id: int, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """The padded batch as `pad_batch` builds it (pinned and copied without blocking to a CUDA device)."""
        valid = self.valid
        ids = torch.from_numpy(np.where(valid, self.ids, pad_id).astype(np.int64))
        batch = {"input_ids": ids, "attention_mask": torch.from_numpy(valid.astype(np.int64))}
        if self.type_ids is not None:
            batch["token_type_ids"] = torch.from_numpy(np.where(valid, self.type_ids, 0).astype(np.int64))
        cuda = torch.device(device).type == "cuda"
        return {
            name: (value.pin_memory() if cuda else value).to(device, non_blocking=cuda) for name, value in batch.items()
        }

    def span_masks(self, rows: np.ndarray, segments: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """bool [S, T]: for each character span s (row rows[s], segment 0/1, [start, end) in that segment's
        text), its row's non-special, non-marker tokens of that segment overlapping it."""
        if not len(rows):
            return np.zeros((0, self.ids.shape[1]), dtype=bool)
        return (
            self.content[rows]
            & (self.segment[rows] == segments[:, None])
            & (self.starts[rows] < ends[:, None])
            & (self.ends[rows] > starts[:, None])
        )

    def encoded(self, row: int) -> EncodedInput:
        """Row `row` as the `EncodedInput` `encode_segments` builds for it (spans left empty)."""
        n = int(self.lengths[row])
        ids = self.ids[row, :n].tolist()
        pieces = self.tokenizer.convert_ids_to_tokens(ids)
        tokens = [
            Token(
                piece.lstrip("Ġ▁") or piece,
                int(start),
                int(end),
                SEGMENTS[segment],
                bool(special),
                bool(marker),
                int(word),
            )
            for piece, start, end, segment, special, marker, word in zip(
                pieces,
                self.starts[row, :n],
                self.ends[row, :n],
                self.segment[row, :n],
                self.special[row, :n],
                self.marker[row, :n],
                self.word[row, :n],
            )
        ]
        types = None if self.type_ids is None else self.type_ids[row, :n].tolist()
        return EncodedInput(ids, types, tokens, dict(self.texts[row]), {}, self.truncated.get(row))


def columns_from_encodings(
    tokenizer: Any,
    encodings: Sequence[Any],
    texts: Sequence[dict[str, str]],
    typed: bool,
    marker_ids: Sequence[int] = (),
    truncated: dict[int, Truncation] | None = None,
) -> TokenColumns:
    """Columns of Rust tokenizer encodings (`tokenizers.Encoding`, any lengths), rows in the given order."""
    lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    valid = np.arange(width)[None, :] < lengths[:, None]  # row-major: the batch's tokens in encoding order

    def padded(name: str, fill: Any, dtype: Any, per_token: tuple[int, ...] = ()) -> np.ndarray:
        """Field `name` of every encoding, read as one flat array and scattered into [B, T] (not row by row)."""
        flat = np.array(list(chain.from_iterable(getattr(e, name) for e in encodings)), dtype=dtype)
        out = np.full((len(encodings), width, *per_token), fill, dtype=dtype)
        out[valid] = flat.reshape(-1, *per_token)
        return out

    ids = padded("ids", 0, np.int64)
    type_ids = padded("type_ids", 0, np.int64) if typed else None
    offsets = padded("offsets", 0, np.int64, (2,))
    # -1 for special tokens and padding; a joined pair's first text has no sequence id of its own (the Rust
    # post-processor keeps only the second's), so a token of no sequence that is not special is the first's
    special = padded("special_tokens_mask", 1, np.int64).astype(bool)
    sequence = np.where(special, -1, np.nan_to_num(padded("sequence_ids", np.nan, np.float64), nan=0)).astype(np.int64)
    word_ids = np.nan_to_num(padded("word_ids", np.nan, np.float64), nan=-1).astype(np.int64)
    return _columns(
        tokenizer,
        ids,
        type_ids,
        offsets[..., 0],
        offsets[..., 1],
        sequence,
        word_ids,
        lengths,
        texts,
        marker_ids,
        truncated or {},
    )


def columns_from_encoded(tokenizer: Any, encodeds: Sequence[EncodedInput]) -> TokenColumns:
    """Columns of inputs already encoded one by one (relation instances, whose markers are added tokens)."""
    lengths = np.array([len(e.input_ids) for e in encodeds], dtype=np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    shape = (len(encodeds), width)
    ids, starts, ends, word = (np.zeros(shape, dtype=np.int64) for _ in range(4))
    word -= 1
    segment = np.zeros(shape, dtype=np.int64)
    special, marker = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    typed = bool(encodeds) and encodeds[0].token_type_ids is not None
    type_ids = np.zeros(shape, dtype=np.int64) if typed else None
    for row, e in enumerate(encodeds):
        n = len(e.input_ids)
        ids[row, :n] = e.input_ids
        if type_ids is not None and e.token_type_ids is not None:
            type_ids[row, :n] = e.token_type_ids
        starts[row, :n] = [t.start for t in e.tokens]
        ends[row, :n] = [t.end for t in e.tokens]
        segment[row, :n] = [SEGMENTS.index(t.segment) for t in e.tokens]
        special[row, :n] = [t.special for t in e.tokens]
        marker[row, :n] = [t.marker for t in e.tokens]
        word[row, :n] = [t.word for t in e.tokens]
    punct = _punctuation_ids(tokenizer)[np.minimum(ids, len(_punctuation_ids(tokenizer)) - 1)]
    valid = np.arange(width)[None, :] < lengths[:, None]
    truncated = {row: e.truncated for row, e in enumerate(encodeds) if e.truncated is not None}
    return TokenColumns(
        ids,
        type_ids,
        starts,
        ends,
        segment,
        special | ~valid,
        marker,
        word,
        punct & valid & ~special & ~marker,
        lengths,
        [dict(e.segments) for e in encodeds],
        tokenizer,
        truncated,
    )


def _columns(
    tokenizer: Any,
    ids: np.ndarray,
    type_ids: np.ndarray | None,
    offset_starts: np.ndarray,
    offset_ends: np.ndarray,
    sequence: np.ndarray,
    word_ids: np.ndarray,
    lengths: np.ndarray,
    texts: Sequence[dict[str, str]],
    marker_ids: Sequence[int],
    truncated: dict[int, Truncation],
) -> TokenColumns:
    """`encoding._tokens`'s rules over the whole batch: segment, special, marker and word of every token."""
    width = ids.shape[1]
    valid = np.arange(width)[None, :] < lengths[:, None]
    special = (sequence < 0) | ~valid
    marker = np.isin(ids, list(marker_ids)) & valid if marker_ids else np.zeros_like(valid)
    seen_b = np.maximum.accumulate(sequence == 1, axis=1)
    segment = (seen_b & ((sequence == 1) | special)).astype(np.int64)
    starts = np.where(special, 0, offset_starts)
    ends = np.where(special, 0, offset_ends)
    # a new word at every special token or marker, and wherever (sequence, word id) changes
    keyless = special | marker
    change = np.ones_like(valid)
    change[:, 1:] = (
        keyless[:, 1:] | keyless[:, :-1] | (sequence[:, 1:] != sequence[:, :-1]) | (word_ids[:, 1:] != word_ids[:, :-1])
    )
    word = np.where(valid, np.cumsum(change, axis=1) - 1, -1)
    table = _punctuation_ids(tokenizer)
    punct = table[np.minimum(ids, len(table) - 1)] & ~keyless
    return TokenColumns(
        ids, type_ids, starts, ends, segment, special, marker, word, punct, lengths, list(texts), tokenizer, truncated
    )


_JOINS_AS_IS = (processors.TemplateProcessing, processors.BertProcessing)


@functools.lru_cache(maxsize=2048)
def _fixed_encoding(backend: Any, text: str, sequence: int) -> Any:
    """One text of the side that repeats across batches (an auxiliary sentence: a handful of fixed strings per
    category, one per aspect term) as tokens without special tokens, its sequence id set: tokenised once.
    Called with the tokenizer's truncation and padding off (under TOKENIZING)."""
    encoding = backend.encode(text, add_special_tokens=False)
    encoding.set_sequence_id(sequence)
    return encoding


# Read by the Rust tokenizer on every batch call: "false" keeps the call on the calling thread.
TOKENIZER_THREADS = "TOKENIZERS_PARALLELISM"


def _encode_all(backend: Any, texts: Sequence[Any], add_special_tokens: bool, serial: bool) -> list[Any]:
    """The Rust tokenizer's encodings of texts (or (text_a, text_b) pairs) in one batch call, which releases the GIL
    and fans out over every core (rayon); `serial`: on the calling thread alone, for a caller whose other cores are
    busy (a pass tokenising beside a torch thread that has the only other core). One `encode` per text would hold
    the GIL throughout and stall that torch thread. The variable is set for this call only, under TOKENIZING (the
    caller holds it), which the encodings' other calls take too (a tokenizer call elsewhere in that moment would
    only run serially as well); a value the user set is left alone."""
    pinned = serial and TOKENIZER_THREADS not in os.environ
    if pinned:
        os.environ[TOKENIZER_THREADS] = "false"
    try:
        return list(backend.encode_batch(list(texts), add_special_tokens=add_special_tokens))
    finally:
        if pinned:
            del os.environ[TOKENIZER_THREADS]


def _sides(
    backend: Any, template: PairTemplate, pairs: Sequence[tuple[str, str]], fixed: int | None, serial: bool
) -> list[tuple[Flat, np.ndarray]]:
    """Per side of the pairs: its distinct texts tokenised (the `fixed` side's once for all batches) and read into
    flat arrays, and which of them each pair takes. Truncation and padding must be off."""
    sides = []
    for side in (0, 1):
        texts = list(dict.fromkeys(pair[side] for pair in pairs))
        if side == fixed:
            encodings = [_fixed_encoding(backend, text, side) for text in texts]
        else:
            encodings = _encode_all(backend, texts, False, serial)
        place = {text: i for i, text in enumerate(texts)}
        which = np.fromiter((place[pair[side]] for pair in pairs), dtype=np.int64, count=len(pairs))
        sides.append((read_flat(encodings, side, template.types[template.sides.index(side)]), which))
    return sides


def _truncated(
    tokenizer: Any, pairs: Sequence[tuple[str, str]], totals: np.ndarray, limit: int, truncate_segment: str
) -> tuple[list[Any], dict[int, Truncation]]:
    """The pairs longer than `limit` (totals [B]: their untruncated lengths) encoded again, truncated on
    `truncate_segment` (as `encode_segments`): their encodings and how each row was cut."""
    strategy = "only_first" if truncate_segment == "a" else "only_second"
    side = 0 if truncate_segment == "a" else 1
    cuts, truncated = [], {}
    for row in np.flatnonzero(totals > limit).tolist():
        text_a, text_b = pairs[row]
        with TOKENIZING:
            cut = tokenizer(text_a, text_b, add_special_tokens=True, truncation=strategy, max_length=limit).encodings[0]
        cuts.append(cut)
        kept = max((end for (_, end), s in zip(cut.offsets, cut.sequence_ids) if s == side), default=0)
        truncated[row] = Truncation(truncate_segment, kept, int(totals[row]) - len(cut.ids), limit)
    return cuts, truncated


def encode_pair_columns(
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    max_length: int,
    truncate_segment: str = "a",
    fixed_segment: str | None = None,
    serial: bool = False,
) -> TokenColumns:
    """(text_a, text_b) pairs as columns, encoded as `encode_segment_pairs` encodes them; pairs longer than
    `max_length` are encoded again, truncated on `truncate_segment` (as `encode_segments`).

    With a BERT-like post-processor (`pair_splice.pair_template`) each distinct text is tokenised once (a review
    once for all its aspects; fixed_segment: the side whose texts repeat across batches, "a" or "b", once for all
    batches) and the pairs are spliced from their arrays; other tokenizers (RoBERTa's post-processor trims
    offsets around the joined texts) encode each pair whole. serial: tokenise on this thread only (`_encode_all`)."""
    limit = length_limit(tokenizer, max_length)
    backend = tokenizer.backend_tokenizer
    fixed = SEGMENTS.index(fixed_segment) if fixed_segment is not None else None
    typed = "token_type_ids" in tokenizer.model_input_names
    texts = [{"a": a, "b": b} for a, b in pairs]
    with TOKENIZING:
        backend.no_truncation()
        backend.no_padding()
        template = pair_template(backend) if isinstance(backend.post_processor, _JOINS_AS_IS) else None
        sides = _sides(backend, template, pairs, fixed, serial) if template is not None and pairs else None
        if sides is None or sides[0][0].special or sides[1][0].special:  # (an added special token in a text)
            encodings = _encode_all(backend, pairs, True, serial)
            sides = None
    if sides is None:
        totals = np.array([len(e) for e in encodings], dtype=np.int64)
        cuts, truncated = _truncated(tokenizer, pairs, totals, limit, truncate_segment)
        for row, cut in zip(truncated, cuts):
            encodings[row] = cut
        return columns_from_encodings(tokenizer, encodings, texts, typed, truncated=truncated)
    assert template is not None  # sides come from the template
    specials = template.sides.count(-1)
    totals = specials + sides[0][0].length[sides[0][1]] + sides[1][0].length[sides[1][1]]
    cuts, truncated = _truncated(tokenizer, pairs, totals, limit, truncate_segment)
    flat, lengths = splice(template, sides, (read_whole(cuts), list(truncated)) if cuts else None)
    rows = padded_rows(flat, lengths)
    return _columns(
        tokenizer,
        rows["ids"],
        rows["types"] if typed else None,
        rows["starts"],
        rows["ends"],
        rows["sequence"],
        rows["word"],
        lengths,
        texts,
        (),
        truncated,
    )

"""A batch of analysis units as columns: what a dataset pass encodes per batch instead of one `Unit` per pair.

`encode_unit_batch` tokenises a batch of pairs into `TokenColumns` (each review once for all its aspects, each
auxiliary sentence once for all batches: `columns.encode_pair_columns`) and turns
every character span the units carry (the aspect in the auxiliary sentence, the aspect term, the
other aspects, the opinion words) into token masks [B, T] with one vectorised comparison over the
batch — the masks `encode_unit` / `encode_units` give as token index lists, by the same rules. A
pair's `Unit` is built only when someone asks for it (`UnitBatch.units[row]`: a typical example, a
report's row), from the columns.

RE instances are encoded one by one (their entity markers are inserted into the text first) and
then laid out as columns; their entity masks come from each unit's spans.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.data.readers import OpinionLexicon
from app.core.inputs.columns import TokenColumns, columns_from_encoded, encode_pair_columns
from app.core.inputs.encoding import REVIEW_FIRST_FORMATS, auxiliary_sentence, find_word
from app.core.inputs.units import Unit, UnitSpec, _aspect, _lexicon_spans, _polarity, encode_unit
from app.core.model.checkpoint import LoadedCheckpoint

ABSA_SPANS = ("aspect_query", "aspect_term", "other", "opinion")  # the masks of an ABSA batch
RE_SPANS = ("e1", "e2")


@dataclass
class UnitBatch:
    """The encodable pairs of a chunk of specs: `kept` their positions in the chunk, `specs` them, `columns`
    their tokens, `masks` name -> bool [B, T] (ABSA_SPANS or RE_SPANS), `opinion_source` per row."""

    kept: list[int]
    specs: list[UnitSpec]
    columns: TokenColumns
    masks: dict[str, np.ndarray]
    opinion_source: list[str | None]
    _units: dict[int, Unit] = field(default_factory=dict)

    @property
    def units(self) -> LazyUnits:
        return LazyUnits(self)

    def unit(self, row: int) -> Unit:
        """Row `row` as the `Unit` `encode_unit` builds (materialised once, on demand)."""
        if row not in self._units:
            encoded = self.columns.encoded(row)
            index = {name: np.flatnonzero(mask[row]).tolist() for name, mask in self.masks.items()}
            if "aspect_query" in index:
                encoded.spans["aspect_query"] = index["aspect_query"]
                encoded.spans["aspect_term"] = index["aspect_term"]
                self._units[row] = Unit(
                    self.specs[row], encoded, index["opinion"], self.opinion_source[row], index["other"]
                )
            else:
                encoded.spans.update({name: index[name] for name in RE_SPANS})
                encoded.spans["markers"] = np.flatnonzero(self.columns.marker[row]).tolist()
                self._units[row] = Unit(self.specs[row], encoded)
        return self._units[row]


class LazyUnits(Sequence[Unit]):
    """The units of a batch as a sequence; each one materialised when read."""

    def __init__(self, batch: UnitBatch) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return len(self.batch.kept)

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return [self.batch.unit(r) for r in range(len(self))[row]]
        return self.batch.unit(row if row >= 0 else len(self) + row)

    def __iter__(self) -> Iterator[Unit]:
        return (self.batch.unit(row) for row in range(len(self)))


def encode_unit_batch(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    lexicon: OpinionLexicon | None = None,
    max_length: int | None = None,
    serial: bool = False,
) -> UnitBatch:
    """`encode_units` of a chunk of specs as one `UnitBatch` (the pairs that cannot be encoded left out); serial:
    the tokenizer on this thread only (`columns.encode_pair_columns`)."""
    max_length = max_length or checkpoint.info.max_length
    if checkpoint.info.task == "re":
        return _relation_batch(checkpoint, specs, max_length)
    return _absa_batch(checkpoint, specs, lexicon, max_length, serial)


def _relation_batch(checkpoint: LoadedCheckpoint, specs: Sequence[UnitSpec], max_length: int) -> UnitBatch:
    encoded = [(i, encode_unit(checkpoint, spec, None, max_length)) for i, spec in enumerate(specs)]
    kept = [(i, unit) for i, unit in encoded if unit is not None]
    units = [unit for _, unit in kept]
    columns = columns_from_encoded(checkpoint.tokenizer, [u.encoded for u in units])
    masks = {}
    for name in RE_SPANS:
        mask = np.zeros(columns.ids.shape, dtype=bool)
        for row, unit in enumerate(units):
            mask[row, unit.encoded.spans.get(name, [])] = True
        masks[name] = mask
    batch = UnitBatch([i for i, _ in kept], [u.spec for u in units], columns, masks, [None] * len(units))
    batch._units = dict(enumerate(units))  # already built: RE instances are encoded one by one
    return batch


@functools.lru_cache(maxsize=4096)  # a sentence's pairs (one per aspect) share its lexicon words
def _lexicon_spans_of(text: str, lexicon: OpinionLexicon) -> tuple[tuple[int, int], ...]:
    return tuple(_lexicon_spans(text, lexicon))


class _Spans:
    """Character spans of a batch by mask name, one row each: every name's mask from one `span_masks` call."""

    def __init__(self, names: Sequence[str]) -> None:
        self.kind = {name: k for k, name in enumerate(names)}
        self.rows: list[tuple[int, int, int, int, int]] = []  # (mask name's index, row, segment, start, end)

    def add(self, name: str, row: int, segment: int, start: int, end: int) -> None:
        self.rows.append((self.kind[name], row, segment, start, end))

    def masks(self, columns: TokenColumns) -> dict[str, np.ndarray]:
        """name -> bool [B, T]: the union per row of its spans' tokens (`TokenColumns.span_masks`)."""
        table = np.array(self.rows, dtype=np.int64).reshape(-1, 5)
        found = np.zeros((len(self.kind), *columns.ids.shape), dtype=bool)
        if len(table):
            spans = columns.span_masks(table[:, 1], table[:, 2], table[:, 3], table[:, 4])
            np.logical_or.at(found, (table[:, 0], table[:, 1]), spans)
        return {name: found[k] for name, k in self.kind.items()}


def _absa_batch(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    lexicon: OpinionLexicon | None,
    max_length: int,
    serial: bool,
) -> UnitBatch:
    """`_absa_parts`, `mark_spans` and `_absa_unit` of every spec, their spans collected and masked at once."""
    info = checkpoint.info
    review_first = info.format in REVIEW_FIRST_FORMATS
    review_side, aux_side = (0, 1) if review_first else (1, 0)
    kept: list[int] = []
    pairs: list[tuple[str, str]] = []
    sources: list[str | None] = []
    # excluded_*: spans whose aspect-term tokens are taken out (other aspects, lexicon words)
    spans = _Spans(ABSA_SPANS + ("excluded_other", "excluded_opinion"))
    for i, spec in enumerate(specs):
        review, aspect = spec.text.strip(), _aspect(spec).strip()
        if not review or not aspect:  # encode_absa's InputError: the pair is skipped
            continue
        row = len(kept)
        kept.append(i)
        auxiliary = auxiliary_sentence(info.format, aspect, _polarity(info, spec))
        pairs.append((review, auxiliary) if review_first else (auxiliary, review))
        aux_start = auxiliary.find(aspect)
        spans.add("aspect_query", row, aux_side, aux_start, aux_start + len(aspect))
        shift = len(spec.text) - len(spec.text.lstrip())
        terms: list[tuple[int, int] | None] = [(s - shift, e - shift) for s, e in spec.term_spans]
        terms = terms or [find_word(review, aspect)]  # encode_absa's default: the aspect's first whole word
        for found in terms:
            if found is not None:
                spans.add("aspect_term", row, review_side, *found)
        for start, end in spec.other_spans:
            spans.add("excluded_other", row, review_side, start - shift, end - shift)
        source = None
        if spec.opinion_spans:
            source = "gold"
            for start, end in spec.opinion_spans:
                spans.add("opinion", row, review_side, start - shift, end - shift)
        elif lexicon is not None:
            source = "lexicon"
            for start, end in _lexicon_spans_of(spec.text, lexicon):
                spans.add("excluded_opinion", row, review_side, start - shift, end - shift)
        sources.append(source)
    columns = encode_pair_columns(
        checkpoint.tokenizer, pairs, max_length, "a" if review_first else "b", "b" if review_first else "a", serial
    )
    by_name = spans.masks(columns)
    masks = {name: by_name[name] for name in ABSA_SPANS}
    term = masks["aspect_term"]
    masks["other"] = by_name["excluded_other"] & ~term
    masks["opinion"] |= by_name["excluded_opinion"] & ~term
    return UnitBatch(kept, [specs[i] for i in kept], columns, masks, sources)

"""ASTE-Data-V2 triplet files (Xu et al. 2020).

One sentence per line, space-tokenised, then `####` and a Python literal list of triplets:
    The food is great .####[([1], [3], 'POS')]
Each triplet is ([aspect word indices], [opinion word indices], 'POS'|'NEG'|'NEU'); indices are
0-based into sentence.split() and contiguous. Spans are mapped to characters of the sentence.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from app.core.data.readers.dataset_error import DatasetError, shorten
from app.core.data.readers.examples import CharSpan, SentimentTriplet, TripletSentence, char_span
from app.core.data.readers.textio import numbered_lines
from app.core.data.readers.vocab import ASTE_POLARITY_CODES

SEPARATOR = "####"
EXPECTED = "expected `sentence####[([aspect word indices], [opinion word indices], 'POS'|'NEG'|'NEU'), ...]`"


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character [start, end) of each word of text.split(), in order."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def word_range(path: Path, where: str, indices: Any, role: str, word_count: int) -> tuple[int, int]:
    """[first, last + 1) for a list of contiguous word indices inside the sentence."""
    if not (
        isinstance(indices, list) and indices and all(isinstance(i, int) and not isinstance(i, bool) for i in indices)
    ):
        raise DatasetError(path, where, f"{role} indices {shorten(indices)}: expected a non-empty list of word indices")
    outside = [i for i in indices if not 0 <= i < word_count]
    if outside:
        raise DatasetError(
            path,
            where,
            f"{role} index {outside[0]} is outside the sentence: expected 0..{word_count - 1} "
            f"(the sentence has {word_count} words)",
        )
    if indices != list(range(indices[0], indices[0] + len(indices))):
        raise DatasetError(path, where, f"{role} indices {indices}: expected contiguous, increasing word indices")
    return indices[0], indices[-1] + 1


def parse_triplet(path: Path, where: str, text: str, words: list[tuple[int, int]], raw: Any) -> SentimentTriplet:
    if not (isinstance(raw, tuple) and len(raw) == 3):
        raise DatasetError(path, where, f"triplet {shorten(raw)}: {EXPECTED}")
    aspect_words = word_range(path, where, raw[0], "aspect", len(words))
    opinion_words = word_range(path, where, raw[1], "opinion", len(words))
    polarity = ASTE_POLARITY_CODES.get(raw[2]) if isinstance(raw[2], str) else None
    if polarity is None:
        raise DatasetError(path, where, f"polarity {shorten(raw[2])}: expected one of {', '.join(ASTE_POLARITY_CODES)}")

    def to_chars(first: int, stop: int) -> CharSpan:
        return char_span(text, words[first][0], words[stop - 1][1])

    return SentimentTriplet(to_chars(*aspect_words), to_chars(*opinion_words), polarity, aspect_words, opinion_words)


def parse_line(path: Path, number: int, line: str) -> TripletSentence:
    where = f"line {number}"
    text, separator, literal = line.partition(SEPARATOR)
    if not separator or not text.strip():
        raise DatasetError(path, where, f"no `{SEPARATOR}` after a sentence: {EXPECTED}")
    try:
        # literal_eval only builds literals (lists, tuples, ints, strings): it runs no code.
        raw = ast.literal_eval(literal.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise DatasetError(
            path, where, f"triplets {shorten(literal.strip())} are not a Python literal list: {EXPECTED}"
        ) from None
    if not (isinstance(raw, list) and raw):
        raise DatasetError(path, where, f"triplets {shorten(raw)}: expected a non-empty list")
    words = word_spans(text)
    return TripletSentence(str(number), text, tuple(parse_triplet(path, where, text, words, t) for t in raw))


def load_aste(path: Path | str) -> list[TripletSentence]:
    """One TripletSentence per non-blank line; ids are line numbers."""
    path = Path(path)
    return [parse_line(path, number, line) for number, line in numbered_lines(path) if line.strip()]

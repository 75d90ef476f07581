"""OpenNRE json-lines (Wiki80, TACRED and SemEval in OpenNRE's layout, DiagnoseRE variants).

One JSON object per line:
    {"token": ["Merpati", "flight", ...], "h": {"name": "tjq", "pos": [16, 17]}, "t": {"pos": [13, 15]},
     "relation": "place served by transport hub"}
`pos` is [start, end) in token indices; the example's text is " ".join(token) and the spans are
mapped to characters of it. OpenNRE's other sentence layout, {"text": ..., "h": {"pos": [char start,
char end)}}, is read too. `name`/`id` in h/t are optional (perturbed variants drop them); masked
variants may give an empty span ([3, 3]), which is kept as an empty character span.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.data.readers.dataset_error import DatasetError, shorten
from app.core.data.readers.examples import CharSpan, RelationExample, char_span
from app.core.data.readers.textio import json_lines

EXPECTED = 'expected {"token": [...], "h": {"pos": [start, end]}, "t": {"pos": [start, end]}, "relation": "..."}'


def token_offsets(tokens: list[str]) -> list[int]:
    """Where each token starts in " ".join(tokens), and where a token after the last would start."""
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token) + 1
    offsets.append(position)
    return offsets


def entity_pos(path: Path, where: str, row: dict[str, Any], key: str, limit: int, unit: str) -> tuple[int, int]:
    entity = row.get(key)
    pos = entity.get("pos") if isinstance(entity, dict) else None
    if not (
        isinstance(pos, list) and len(pos) == 2 and all(isinstance(p, int) and not isinstance(p, bool) for p in pos)
    ):
        raise DatasetError(
            path, where, f'"{key}" is {shorten(entity)}: expected {{"pos": [start, end]}} in {unit} indices'
        )
    start, end = pos
    if not (0 <= start <= end <= limit):
        raise DatasetError(
            path,
            where,
            f'"{key}" pos [{start}, {end}] is outside the sentence: expected 0 <= start <= end <= {limit} ({unit}s)',
        )
    return start, end


def parse_row(path: Path, number: int, row: Any) -> RelationExample:
    where = f"line {number}"
    if not isinstance(row, dict) or not isinstance(row.get("relation"), str) or not row["relation"]:
        raise DatasetError(path, where, f"no relation: {EXPECTED}")
    tokens = row.get("token")
    if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
        text, offsets = " ".join(tokens), token_offsets(tokens)

        def to_chars(start: int, end: int) -> CharSpan:
            # Tokens [start, end) end one joining space before token `end` starts; an empty range
            # (a masked entity) becomes an empty span where it begins.
            first = min(offsets[start], len(text))
            return char_span(text, first, offsets[end] - 1 if end > start else first)

        (h0, h1), (t0, t1) = (entity_pos(path, where, row, k, len(tokens), "token") for k in ("h", "t"))
        head, tail = to_chars(h0, h1), to_chars(t0, t1)
    elif isinstance(row.get("text"), str):
        text = row["text"]
        head, tail = (char_span(text, *entity_pos(path, where, row, k, len(text), "character")) for k in ("h", "t"))
    else:
        raise DatasetError(path, where, f'"token" is missing or not a list of strings: {EXPECTED}')
    return RelationExample(str(number), text, head, tail, row["relation"])


def load_opennre(path: Path | str) -> list[RelationExample]:
    """One RelationExample per line; e1 is the head entity `h`, e2 the tail `t`; ids are line numbers."""
    path = Path(path)
    return [parse_row(path, number, row) for number, row in json_lines(path)]

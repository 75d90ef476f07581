"""headscope's JSON-lines format for users' own data: one JSON object per line, one task per file.

ABSA (aspect terms and/or aspect categories; yields AbsaSentence):
    {"id": "r1", "text": "The pasta was great but the waiter was rude.",
     "aspects": [{"term": "pasta", "from": 4, "to": 9, "polarity": "positive"},
                 {"aspect": "service", "polarity": "negative"}]}
  - an item with "term" is an aspect term: "from"/"to" are character offsets, text[from:to] must
    equal the term; it may also name its category in "aspect";
  - an item with only "aspect" is an aspect category;
  - "polarity": positive, negative, neutral or conflict (any case). "aspects" may be empty.

RE (yields RelationExample):
    {"id": "s1", "text": "The <e1>storm</e1> caused <e2>floods</e2>.", "relation": "Cause-Effect(e1,e2)"}
    {"id": "s2", "text": "The storm caused floods.", "e1": [4, 9], "e2": [17, 23], "relation": "Cause-Effect(e1,e2)"}
  - entities as <e1>/<e2> tags in the text, or as "e1"/"e2" [start, end) character offsets
    ("e1_span"/"e2_span", the API's names, are read too); not both;
  - "relation": any non-empty label; labels are the set found in the data.

"id" is optional everywhere (default: the line number). Blank lines are skipped. The task is
taken from the first object ("aspects" -> ABSA, "relation" -> RE); every line must match it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeGuard

from app.core.data.readers.dataset_error import DatasetError, shorten
from app.core.data.readers.examples import AbsaSentence, AspectCategory, AspectTerm, RelationExample, char_span
from app.core.data.readers.semeval2010 import ENTITY_TAG, relation_example
from app.core.data.readers.textio import json_lines
from app.core.data.readers.vocab import POLARITIES, normalize_polarity

USER_TASKS = ("absa", "re")
ABSA_EXPECTED = (
    'expected {"text": "...", "aspects": [{"term": "...", "from": 0, "to": 4, "polarity": "positive"} '
    'or {"aspect": "food", "polarity": "positive"}, ...]}'
)
RE_EXPECTED = (
    'expected {"text": "... <e1>..</e1> ... <e2>..</e2> ...", "relation": "..."} '
    'or {"text": "...", "e1": [start, end], "e2": [start, end], "relation": "..."}'
)

UserExample = AbsaSentence | RelationExample


def is_offset(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def example_id(row: dict[str, Any], number: int) -> str:
    return str(row["id"]) if row.get("id") not in (None, "") else str(number)


def parse_polarity(path: Path, where: str, item: dict[str, Any]) -> str:
    polarity = normalize_polarity(item.get("polarity"))
    if polarity is None:
        raise DatasetError(
            path, where, f"polarity {shorten(item.get('polarity'))}: expected one of {', '.join(POLARITIES)}"
        )
    return polarity


def parse_aspect_item(path: Path, where: str, text: str, item: Any) -> AspectTerm | AspectCategory:
    if isinstance(item, dict) and isinstance(item.get("term"), str) and item["term"]:
        term, start, end = item["term"], item.get("from"), item.get("to")
        if not (is_offset(start) and is_offset(end)):
            raise DatasetError(path, where, f'term {term!r} needs integer "from" and "to" character offsets')
        if not (0 <= start < end <= len(text)) or text[start:end] != term:
            raise DatasetError(
                path,
                where,
                f"term {term!r} from={start} to={end}: the text there is "
                f"{shorten(text[max(start, 0) : max(end, 0)])}; expected text[from:to] == term",
            )
        category = item.get("aspect") if isinstance(item.get("aspect"), str) and item.get("aspect") else None
        return AspectTerm(term, start, end, parse_polarity(path, where, item), category)
    if isinstance(item, dict) and isinstance(item.get("aspect"), str) and item["aspect"]:
        return AspectCategory(item["aspect"], parse_polarity(path, where, item))
    raise DatasetError(path, where, f"aspect item {shorten(item)}: {ABSA_EXPECTED}")


def parse_absa_row(path: Path, number: int, row: dict[str, Any]) -> AbsaSentence:
    where = f"line {number}"
    text, aspects = row.get("text"), row.get("aspects")
    if not isinstance(text, str) or not text.strip() or not isinstance(aspects, list):
        raise DatasetError(path, where, ABSA_EXPECTED)
    items = [parse_aspect_item(path, where, text, item) for item in aspects]
    return AbsaSentence(
        example_id(row, number),
        text,
        tuple(i for i in items if isinstance(i, AspectTerm)),
        tuple(i for i in items if isinstance(i, AspectCategory)),
    )


def span_value(path: Path, where: str, row: dict[str, Any], name: str, text: str) -> tuple[int, int]:
    raw = row.get(name, row.get(f"{name}_span"))
    if not (
        isinstance(raw, list) and len(raw) == 2 and all(is_offset(v) for v in raw) and 0 <= raw[0] < raw[1] <= len(text)
    ):
        raise DatasetError(
            path,
            where,
            f'"{name}" is {shorten(raw)}: expected [start, end] character offsets with 0 <= start < end <= {len(text)}',
        )
    return raw[0], raw[1]


def parse_re_row(path: Path, number: int, row: dict[str, Any]) -> RelationExample:
    where = f"line {number}"
    text, relation = row.get("text"), row.get("relation")
    if not isinstance(text, str) or not text.strip() or not isinstance(relation, str) or not relation.strip():
        raise DatasetError(path, where, RE_EXPECTED)
    has_spans = any(key in row for key in ("e1", "e2", "e1_span", "e2_span"))
    if not has_spans:
        return relation_example(path, where, example_id(row, number), text, relation.strip())
    if ENTITY_TAG.search(text):
        raise DatasetError(
            path, where, "entities are given both as tags in the text and as spans: expected one notation"
        )
    e1, e2 = span_value(path, where, row, "e1", text), span_value(path, where, row, "e2", text)
    if not (e1[1] <= e2[0] or e2[1] <= e1[0]):
        raise DatasetError(
            path, where, f"entity spans {list(e1)} and {list(e2)} overlap: expected two separate entities"
        )
    return RelationExample(example_id(row, number), text, char_span(text, *e1), char_span(text, *e2), relation.strip())


def row_task(row: dict[str, Any]) -> str | None:
    return "absa" if "aspects" in row else "re" if "relation" in row else None


def load_user_jsonl(path: Path | str, task: str | None = None) -> list[UserExample]:
    """Examples of a headscope JSONL file; `task` ("absa" or "re") forces the task instead of reading it from line 1."""
    path = Path(path)
    if task is not None and task not in USER_TASKS:
        raise ValueError(f"unknown task {task!r}; accepted: {', '.join(USER_TASKS)}")
    forced = task is not None
    examples: list[UserExample] = []
    for number, row in json_lines(path):
        if not isinstance(row, dict):
            raise DatasetError(
                path, f"line {number}", f"{shorten(row)} is not a JSON object: {ABSA_EXPECTED}; or {RE_EXPECTED}"
            )
        found = row_task(row)
        if task is None:
            if found is None:
                raise DatasetError(
                    path, f"line {number}", f'no "aspects" (ABSA) or "relation" (RE): {ABSA_EXPECTED}; or {RE_EXPECTED}'
                )
            task = found
        if found != task:
            reason = "the format asks for" if forced else "the file's first record is"
            raise DatasetError(
                path,
                f"line {number}",
                f"expected an {task.upper()} record ({reason} {task.upper()}): "
                f"{ABSA_EXPECTED if task == 'absa' else RE_EXPECTED}",
            )
        examples.append(parse_absa_row(path, number, row) if task == "absa" else parse_re_row(path, number, row))
    return examples

"""SemEval-2010 Task 8 text files (CRLF in the official release) and the test answer key.

Data file, blocks of four lines:
    8001<TAB>"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
    Message-Topic(e1,e2)
    Comment: Assuming an audit = an audit document.
    <blank>
The label is one of 19 (9 relations in both directions, plus Other). The Comment line is for human
readers; it may be missing. Key file (TEST_FILE_KEY.TXT): `id<TAB>relation` per line, without direction.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.core.data.readers.dataset_error import DatasetError, shorten
from app.core.data.readers.examples import RelationExample, RelationKey, char_span
from app.core.data.readers.textio import numbered_lines
from app.core.data.readers.vocab import SEMEVAL2010_LABELS, SEMEVAL2010_OTHER, SEMEVAL2010_RELATIONS

SENTENCE_LINE = re.compile(r'^(\d+)\t"(.*)"\s*$')
KEY_LINE = re.compile(r"^(\d+)\t(\S+)\s*$")
ENTITY_TAG = re.compile(r"</?e[12]>", flags=re.IGNORECASE)  # users type <E1> too
KEY_RELATIONS = SEMEVAL2010_RELATIONS + (SEMEVAL2010_OTHER,)


def strip_entity_tags(tagged: str) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """The text without <e1>..</e1> <e2>..</e2>, and both entities' character spans in it.

    The one tag parser: loaders use it (no torch import here) and app.core.inputs.encoding wraps it for live
    input. Raises ValueError saying what is wrong (callers add file and line, or the accepted notations).
    """
    clean: list[str] = []
    opened: dict[str, int] = {}
    spans: dict[str, tuple[int, int]] = {}
    position = length = 0
    for match in ENTITY_TAG.finditer(tagged):
        clean.append(tagged[position : match.start()])
        length += match.start() - position
        position = match.end()
        tag = match.group(0).lower()
        name = tag.strip("</>")
        if tag.startswith("</"):
            if name not in opened or name in spans:
                raise ValueError(f"{tag} without a matching <{name}>")
            spans[name] = (opened[name], length)
        elif name in opened:
            raise ValueError(f"{tag} appears twice")
        else:
            opened[name] = length
    clean.append(tagged[position:])
    missing = [f"<{n}>..</{n}>" for n in ("e1", "e2") if n not in spans]
    if missing:
        raise ValueError(f"no {' and no '.join(missing)}: expected both entities marked")
    for name, (start, end) in spans.items():
        if start == end:
            raise ValueError(f"<{name}></{name}> marks no text")
    return "".join(clean), spans["e1"], spans["e2"]


def relation_example(path: Path, where: str, example_id: str, tagged: str, relation: str) -> RelationExample:
    try:
        clean, e1, e2 = strip_entity_tags(tagged)
    except ValueError as exc:
        raise DatasetError(path, where, f"sentence {shorten(tagged)}: {exc}") from None
    return RelationExample(example_id, clean, char_span(clean, *e1), char_span(clean, *e2), relation)


def load_semeval2010(path: Path | str) -> list[RelationExample]:
    path = Path(path)
    lines = numbered_lines(path)
    examples: list[RelationExample] = []
    index = 0
    while index < len(lines):
        number, line = lines[index]
        if not line.strip():
            index += 1
            continue
        sentence = SENTENCE_LINE.match(line)
        if not sentence:
            raise DatasetError(
                path,
                f"line {number}",
                f'{shorten(line)}: expected a sentence line `id<TAB>"text with <e1>..</e1> and <e2>..</e2>"`',
            )
        if index + 1 >= len(lines) or lines[index + 1][1].strip() not in SEMEVAL2010_LABELS:
            label_number, label = lines[index + 1] if index + 1 < len(lines) else (number + 1, "end of file")
            raise DatasetError(
                path,
                f"line {label_number}",
                f"{shorten(label)} after sentence {sentence.group(1)}: expected its relation label, one of "
                f"{', '.join(SEMEVAL2010_LABELS)}",
            )
        examples.append(
            relation_example(path, f"line {number}", sentence.group(1), sentence.group(2), lines[index + 1][1].strip())
        )
        index += 2
        if index < len(lines) and lines[index][1].startswith("Comment"):
            index += 1
    return examples


def load_semeval2010_key(path: Path | str) -> list[RelationKey]:
    """TEST_FILE_KEY.TXT: `id<TAB>relation`; relations are undirected, though directed labels are accepted too."""
    path = Path(path)
    keys = []
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        match = KEY_LINE.match(line)
        relation = match.group(2) if match else ""
        if not match or (relation not in KEY_RELATIONS and relation not in SEMEVAL2010_LABELS):
            raise DatasetError(
                path,
                f"line {number}",
                f"{shorten(line)}: expected `id<TAB>relation` with a relation among {', '.join(KEY_RELATIONS)}",
            )
        keys.append(RelationKey(match.group(1), relation))
    return keys

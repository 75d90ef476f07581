"""Relation-extraction instances as model inputs: a sentence with its two entities marked (SemEval-2010's
<e1>...</e1> / <e2>...</e2> notation, or character spans), encoded with the checkpoint's entity markers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.data.readers.semeval2010 import ENTITY_TAG, strip_entity_tags
from app.core.inputs.encoding import EncodedInput, check_span, encode_segments
from app.core.model.checkpoint import DEFAULT_ENTITY_MARKERS, CheckpointError
from app.core.model.errors import InputError

ACCEPTED_RE_NOTATIONS = (
    "mark both entities in the text as <e1>first entity</e1> and <e2>second entity</e2> "
    "(SemEval-2010 notation), or send plain text with e1_span and e2_span as [start, end] character offsets"
)


def parse_entity_tags(text: str) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """Strip <e1>..</e1> and <e2>..</e2>; return the clean text and both character spans."""
    try:
        return strip_entity_tags(text)
    except ValueError as exc:
        raise InputError(f"{exc}: {ACCEPTED_RE_NOTATIONS}", field="text") from None


def mark_entities(
    text: str, e1: tuple[int, int], e2: tuple[int, int], markers: Sequence[str]
) -> tuple[str, dict[str, tuple[int, int]]]:
    """Insert marker strings around both entities; return the marked text and the entities' new spans."""
    (s1, t1), (s2, t2) = e1, e2
    if not (s1 < t1 <= s2 < t2 or s2 < t2 <= s1 < t1):
        raise InputError(f"entity spans {list(e1)} and {list(e2)} overlap or are empty", field="text")
    inserts = sorted([(s1, markers[0] + " "), (t1, " " + markers[1]), (s2, markers[2] + " "), (t2, " " + markers[3])])
    out: list[str] = []
    new_spans: dict[str, list[int]] = {"e1": [0, 0], "e2": [0, 0]}
    position = 0
    for offset, marker in inserts:
        out.append(text[position:offset])
        position = offset
        here = sum(len(p) for p in out)
        # Record where each entity's own characters start and end in the marked text.
        if offset == s1 and marker.startswith(markers[0]):
            new_spans["e1"][0] = here + len(marker)
        elif offset == t1 and marker.endswith(markers[1]):
            new_spans["e1"][1] = here
        elif offset == s2 and marker.startswith(markers[2]):
            new_spans["e2"][0] = here + len(marker)
        elif offset == t2 and marker.endswith(markers[3]):
            new_spans["e2"][1] = here
        out.append(marker)
    out.append(text[position:])
    return "".join(out), {k: (v[0], v[1]) for k, v in new_spans.items()}


def encode_relation(
    tokenizer: Any,
    text: str,
    max_length: int = 512,
    e1_span: tuple[int, int] | None = None,
    e2_span: tuple[int, int] | None = None,
    markers: Sequence[str] = DEFAULT_ENTITY_MARKERS,
) -> EncodedInput:
    """A sentence with two entities, encoded with entity marker tokens around each.

    The single segment's text is the marked sentence, so offsets point into it.
    spans["e1"], spans["e2"]: the entities' tokens; spans["markers"]: the four markers.
    """
    if not text.strip():
        raise InputError("text is empty: give a sentence with two marked entities", field="text")
    unknown = [m for m in markers if tokenizer.convert_tokens_to_ids(m) == tokenizer.unk_token_id]
    if unknown:
        raise CheckpointError(
            f"the tokenizer has no entity marker tokens {unknown}: not an RE checkpoint made for markers"
        )
    if e1_span is None and e2_span is None:
        clean, e1_span, e2_span = parse_entity_tags(text)
    elif e1_span is None or e2_span is None:
        raise InputError(
            f"give both e1_span and e2_span: {ACCEPTED_RE_NOTATIONS}", field="e1_span" if e1_span is None else "e2_span"
        )
    else:
        clean = text
        if ENTITY_TAG.search(text):
            raise InputError("give entities either as tags in the text or as spans, not both", field="text")
        for name, span in (("e1_span", e1_span), ("e2_span", e2_span)):
            check_span(name, span, text)
    marked, entity_spans = mark_entities(clean, e1_span, e2_span, markers)
    encoded = encode_segments(tokenizer, marked, None, max_length, markers=markers)
    for name, (start, end) in entity_spans.items():
        encoded.spans[name] = encoded.char_span_to_tokens("a", start, end)
    encoded.spans["markers"] = [i for i, t in enumerate(encoded.tokens) if t.marker]
    return encoded

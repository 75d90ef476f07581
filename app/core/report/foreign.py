"""Inputs a checkpoint can read from another task's text, for anomaly detection (labels unused).

* ABSA checkpoints on relation sentences or SentiHood: the sentence (entity tags removed) with, for a term
  checkpoint, its first entity / first location mention as the aspect term; for a category checkpoint one
  of its categories, taken in turn.
* Relation checkpoints on reviews or SentiHood: the sentence with two marked entities: two aspect terms or
  two location mentions where it has them, else the first two words of three letters or more.
* Data of the checkpoint's own task goes through its own pairing (app.core.inputs.units.unit_specs); for a
  checkpoint trained on SentiHood that is SentiHood, and reviews are foreign text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.core.data.readers import AbsaSentence, RelationExample, TargetedSentence, TripletSentence
from app.core.data.readers.examples import CharSpan, char_span
from app.core.inputs.units import CATEGORY_FORMATS, AnalysisError, UnitSpec, sentihood_aspects, unit_specs
from app.core.model.checkpoint import CheckpointInfo

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


def foreign_units(
    info: CheckpointInfo, examples: Sequence[Any], source: str, categories: Sequence[str] = ()
) -> list[UnitSpec]:
    """One input per example the checkpoint can read (examples it cannot are skipped); categories: a category
    checkpoint's aspects when its headscope.json records none (e.g. those of its test pairs)."""
    own: tuple[type, ...] = (RelationExample,) if info.task == "re" else (AbsaSentence, TripletSentence)
    if sentihood_aspects(info):  # a SentiHood checkpoint reads SentiHood as its own data
        own = (TargetedSentence,)
    if examples and all(isinstance(e, own) for e in examples):
        try:
            return unit_specs(info, list(examples), source)[0]
        except AnalysisError:
            return []
    categories = list(info.metadata.get("categories") or categories)
    specs = [
        _relation_input(e, i) if info.task == "re" else _absa_input(info, e, i, categories)
        for i, e in enumerate(examples)
    ]
    return [s for s in specs if s is not None]


def _text_and_spans(example: Any) -> tuple[str, list[CharSpan]]:
    """The example's text and the spans it marks (entities, aspect terms, target mentions), in order."""
    if isinstance(example, RelationExample):
        return example.text, [example.e1, example.e2]
    if isinstance(example, AbsaSentence):
        return example.text, [char_span(example.text, t.start, t.end) for t in example.terms]
    if isinstance(example, TargetedSentence):
        return example.text, [m.span for m in example.mentions]
    if isinstance(example, TripletSentence):
        return example.text, [t.aspect for t in example.triplets]
    return str(getattr(example, "text", "")), []


def _absa_input(info: CheckpointInfo, example: Any, i: int, categories: Sequence[str]) -> UnitSpec | None:
    text, spans = _text_and_spans(example)
    if not text.strip():
        return None
    if info.format in CATEGORY_FORMATS:
        return UnitSpec(str(getattr(example, "id", i)), text, categories[i % len(categories)]) if categories else None
    terms = [s for s in spans if s.end > s.start and s.text.strip()] or _words(text, 1)
    if not terms:
        return None
    return UnitSpec(str(getattr(example, "id", i)), text, terms[0].text, (terms[0].offsets,))


def _relation_input(example: Any, i: int) -> UnitSpec | None:
    text, spans = _text_and_spans(example)
    distinct: list[CharSpan] = []
    for span in sorted((s for s in spans if s.end > s.start), key=lambda s: s.start):
        if not distinct or span.start >= distinct[-1].end:
            distinct.append(span)
    pair = distinct[:2] if len(distinct) >= 2 else _words(text, 2)
    if len(pair) < 2:
        return None
    relation = RelationExample(str(getattr(example, "id", i)), text, pair[0], pair[1], "")
    return UnitSpec(relation.id, text, relation=relation, polarity=None)


def _words(text: str, n: int) -> list[CharSpan]:
    return [char_span(text, m.start(), m.end()) for m in _WORD.finditer(text)][:n]

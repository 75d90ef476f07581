"""A robustness suite as JSON lines: exported from generated variants, or a user's own contrast set.

One variant per line (app/core/data/readers/README.md documents the format):

    {"source_id": "e0001", "test": "q1-typo", "text": "...", "label": "Other",
     "e1": [4, 11], "e2": [35, 39],                                     (RE; or <e1>/<e2> tags in text)
     "aspect": "fish", "term_spans": [[30, 34]], "opinion_spans": [], "other_spans": [],   (ABSA)
     "source_aspect": "fish", "source_span": [30, 34],                  (ABSA: which pair of the sentence)
     "edited": [[3, 5]], "replaced": [[3, 5]], "details": {...}}

Required: source_id, test (any name: a user's own transformation too), text, and for RE the two
entities. Everything else has a default taken from the source: label (unchanged), the aspect and its
term span (found again in the new text), no opinions or other aspects, and the edited spans (the
difference between the source's text and this one, unless both "edited" and "replaced" are given).
`label_changed` is always recomputed. "source" (the source's index, written on export) only picks
between sources that share an id.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.core.data.readers import CharSpan, RelationExample, strip_entity_tags
from app.core.inputs.encoding import find_word
from app.core.inputs.units import UnitSpec
from app.core.robustness.context import SuiteError
from app.core.robustness.variants import Span, Variant


def variant_record(variant: Variant, sources: Sequence[UnitSpec]) -> dict[str, Any]:
    spec, source = variant.spec, sources[variant.source]
    record: dict[str, Any] = {
        "source_id": variant.source_id,
        "source": variant.source,
        "test": variant.test,
        "text": spec.text,
        "label": spec.polarity,
    }
    if spec.relation is not None:
        record.update(e1=list(spec.relation.e1.offsets), e2=list(spec.relation.e2.offsets))
    else:
        record.update(
            aspect=spec.aspect,
            term_spans=_lists(spec.term_spans),
            opinion_spans=_lists(spec.opinion_spans),
            other_spans=_lists(spec.other_spans),
            source_aspect=source.aspect,
            source_span=list(source.term_spans[0]) if source.term_spans else None,
        )
    record.update(
        edited=_lists(variant.edited),
        replaced=_lists(variant.replaced),
        label_changed=variant.label_changed,
        details=variant.details,
    )
    return record


def write_suite(path: Path | str, variants: Sequence[Variant], sources: Sequence[UnitSpec]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for variant in variants:
            handle.write(json.dumps(variant_record(variant, sources), ensure_ascii=False) + "\n")


def read_suite(lines: Iterable[str] | Path | str, sources: Sequence[UnitSpec], name: str = "suite") -> list[Variant]:
    """The variants of a suite file (or its lines) against `sources`; SuiteError naming the line otherwise."""
    if isinstance(lines, (str, Path)):
        name = str(lines) if name == "suite" else name
        lines = Path(lines).read_text(encoding="utf-8").splitlines()
    by_id: dict[str, list[int]] = {}
    for i, spec in enumerate(sources):
        by_id.setdefault(spec.sentence_id, []).append(i)
    variants = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            variants.append(_variant(_json(line), sources, by_id))
        except (SuiteError, ValueError, TypeError) as exc:
            raise SuiteError(f"{name}: line {number}: {exc}") from exc
    if not variants:
        raise SuiteError(f"{name}: no variants (one JSON object per line: source_id, test, text, ...)")
    return variants


def _json(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SuiteError(f"not valid JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise SuiteError("expected a JSON object with source_id, test and text")
    for key in ("source_id", "test", "text"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise SuiteError(f"{key!r} is missing or not a non-empty string (each line needs source_id, test, text)")
    return record


def _variant(record: dict[str, Any], sources: Sequence[UnitSpec], by_id: dict[str, list[int]]) -> Variant:
    index = _source(record, sources, by_id)
    source = sources[index]
    label = record.get("label") or source.polarity
    if source.relation is not None:
        spec = _relation_spec(record, source, label)
    else:
        spec = _aspect_spec(record, source, label)
    if "edited" in record and "replaced" in record:
        edited, replaced = tuple(_spans(record, "edited", spec.text)), tuple(_spans(record, "replaced", source.text))
    else:
        edited, replaced = _diff(source.text, spec.text)
    return Variant(
        index,
        source.sentence_id,
        record["test"],
        spec,
        edited,
        label != source.polarity,
        dict(record.get("details") or {}),
        replaced,
    )


def _source(record: dict[str, Any], sources: Sequence[UnitSpec], by_id: dict[str, list[int]]) -> int:
    candidates = by_id.get(str(record["source_id"]), [])
    if not candidates:
        sample = ", ".join(list(by_id)[:3])
        raise SuiteError(f"source_id {record['source_id']!r} is not an example id of the data (ids look like {sample})")
    if record.get("source") in candidates:
        return record["source"]
    aspect = record.get("source_aspect") or record.get("aspect")
    if aspect is not None and sources[candidates[0]].relation is None:
        candidates = [i for i in candidates if (sources[i].aspect or "").lower() == str(aspect).lower()]
        if "source_span" in record and record["source_span"] is not None:
            span = tuple(record["source_span"])
            candidates = [i for i in candidates if sources[i].term_spans[:1] == (span,)] or candidates
    if len(candidates) != 1:
        options = ", ".join(repr(sources[i].aspect) for i in by_id[str(record["source_id"])])
        raise SuiteError(
            f"source_id {record['source_id']!r} names {len(by_id[str(record['source_id'])])} pairs: "
            f'say which with "source_aspect" (one of {options}) and, for a repeated term, '
            '"source_span"'
        )
    return candidates[0]


def _relation_spec(record: dict[str, Any], source: UnitSpec, label: str | None) -> UnitSpec:
    text = record["text"]
    if "e1" in record or "e2" in record:
        e1, e2 = _span(record, "e1", text), _span(record, "e2", text)
    else:
        try:
            text, e1, e2 = strip_entity_tags(text)
        except ValueError as exc:
            raise SuiteError(f'{exc}: give "e1"/"e2" spans or <e1>..</e1> <e2>..</e2> tags in the text') from exc
    if e1[0] < e2[1] and e2[0] < e1[1]:
        raise SuiteError(f"e1 {list(e1)} and e2 {list(e2)} overlap")
    # _variant calls this for relation sources, whose label (their gold relation, or the record's) is always set
    assert source.relation is not None and label is not None
    relation = RelationExample(
        source.relation.id, text, CharSpan(*e1, text[e1[0] : e1[1]]), CharSpan(*e2, text[e2[0] : e2[1]]), label
    )
    return replace(source, text=text, relation=relation, polarity=label)


def _aspect_spec(record: dict[str, Any], source: UnitSpec, label: str | None) -> UnitSpec:
    text = record["text"]
    if record.get("term_spans") is not None:
        terms = tuple(_spans(record, "term_spans", text))
    elif source.term_spans:
        term = source.text[slice(*source.term_spans[0])]
        found = find_word(text, term)
        if found is None:
            raise SuiteError(f'the aspect term {term!r} is not in the text: give "term_spans"')
        terms = (found,)
    else:
        terms = ()
    return replace(
        source,
        text=text,
        aspect=record.get("aspect") or source.aspect,
        term_spans=terms,
        opinion_spans=tuple(_spans(record, "opinion_spans", text)),
        other_spans=tuple(_spans(record, "other_spans", text)),
        polarity=label,
    )


def _span(record: dict[str, Any], key: str, text: str) -> Span:
    value = record.get(key)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) for v in value)
        or not 0 <= value[0] <= value[1] <= len(text)
    ):
        raise SuiteError(
            f"{key!r} must be [start, end] character offsets within the text (0..{len(text)}), got {value!r}"
        )
    return value[0], value[1]


def _spans(record: dict[str, Any], key: str, text: str) -> list[Span]:
    values = record.get(key) or []
    if not isinstance(values, list):
        raise SuiteError(f"{key!r} must be a list of [start, end] offsets")
    return [_span({key: v}, key, text) for v in values]


def _diff(before: str, after: str) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """(spans written in `after`, spans replaced in `before`): where the two texts differ."""
    ops = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    changed = [op for op in ops if op[0] != "equal"]
    return tuple((j1, j2) for _, _, _, j1, j2 in changed), tuple((i1, i2) for _, i1, i2, _, _ in changed)


def _lists(spans: Iterable[Span]) -> list[list[int]]:
    return [list(s) for s in spans]

"""Variants of labelled pairs: what every robustness test produces, and the text edit they are built with.

A source is an analysis unit spec (app.core.inputs.units.UnitSpec: an RE example with its two entity
spans, or an ABSA review with its aspect term span, other aspects and opinions). A test turns a
source into zero or more `Variant`s: a new spec whose text was edited, the character spans that
were edited (in the variant's text), the gold label (changed where the transformation changes it),
and the spans of the entities / aspect moved along with the edits, so they still cover the same
words.

`edit_text` is the one way text is edited: it applies non-overlapping (start, end, replacement)
edits to a text and maps any other span through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app.core.data.readers import CharSpan, RelationExample
from app.core.inputs.units import UnitSpec

Span = tuple[int, int]


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `replacement` (start == end inserts)."""

    start: int
    end: int
    replacement: str


@dataclass(frozen=True)
class Variant:
    """One generated test input.

    source: the source's index in the suite's source list; source_id: its example id; test: the
    test's name (e.g. "q1-typo", "revtgt"); spec: the edited pair (spec.polarity is the gold label,
    for RE the relation); edited: character spans in the variant's text that the test wrote;
    label_changed: whether the gold label differs from the source's; details: test-specific facts
    (e.g. the words swapped, an attack's queries). Build variants with `make_variant`.
    """

    source: int
    source_id: str
    test: str
    spec: UnitSpec
    edited: tuple[Span, ...] = ()
    label_changed: bool = False
    details: dict = field(default_factory=dict, compare=False)
    replaced: tuple[Span, ...] = ()  # the edited spans in the source's text (to align source and variant tokens)


class EditError(ValueError):
    """Edits that overlap, fall outside the text, or cut through a span that must stay whole."""


def edit_text(text: str, edits: Sequence[Edit], spans: Sequence[Span] = ()) -> tuple[str, list[Span], list[Span]]:
    """(new text, the edits' spans in the new text, `spans` mapped into the new text).

    A span that contains an edit grows or shrinks with it; a span that an edit cuts across (starts
    or ends strictly inside it while covering text outside it) raises EditError.
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for first, second in zip(ordered, ordered[1:]):
        if second.start < first.end or (second.start == first.start and first.end == first.start == second.end):
            raise EditError(f"overlapping edits at {first.start}-{first.end} and {second.start}-{second.end}")
    if ordered and (ordered[0].start < 0 or ordered[-1].end > len(text)):
        raise EditError("an edit falls outside the text")
    for start, end in spans:
        for e in ordered:
            inside = start <= e.start and e.end <= end
            outside = e.end <= start or e.start >= end
            if not (inside or outside):
                raise EditError(f"edit {e.start}-{e.end} cuts across span {start}-{end}")
    pieces, written, position, shift = [], [], 0, 0
    for e in ordered:
        pieces.append(text[position : e.start])
        new_start = e.start + shift
        pieces.append(e.replacement)
        written.append((new_start, new_start + len(e.replacement)))
        shift += len(e.replacement) - (e.end - e.start)
        position = e.end
    pieces.append(text[position:])
    return "".join(pieces), written, [_map_span(span, ordered) for span in spans]


def _map_span(span: Span, edits: Sequence[Edit]) -> Span:
    start, end = span
    new_start, new_end = start, end
    for e in edits:
        delta = len(e.replacement) - (e.end - e.start)
        if e.end <= start and not (e.start == e.end == start):
            new_start += delta
            new_end += delta
        elif start <= e.start and e.end <= end:
            new_end += delta
    return new_start, new_end


def edit_spec(spec: UnitSpec, edits: Sequence[Edit], label: str | None = None) -> tuple[UnitSpec, list[Span]]:
    """The spec with its text edited and every span it carries moved along; (spec, edited spans)."""
    if spec.relation is not None:
        e = spec.relation
        text, written, (e1, e2) = edit_text(e.text, edits, [e.e1.offsets, e.e2.offsets])
        relation = RelationExample(
            e.id,
            text,
            CharSpan(*e1, text[e1[0] : e1[1]]),
            CharSpan(*e2, text[e2[0] : e2[1]]),
            label if label is not None else e.relation,
        )
        return replace(spec, text=text, relation=relation, polarity=relation.relation), written
    groups = (spec.term_spans, spec.opinion_spans, spec.other_spans)
    flat = [span for group in groups for span in group]
    text, written, moved = edit_text(spec.text, edits, flat)
    sizes = [len(group) for group in groups]
    terms, opinions, others = (tuple(moved[sum(sizes[:i]) : sum(sizes[: i + 1])]) for i in range(3))
    aspect = (
        text[terms[0][0] : terms[0][1]]
        if spec.term_spans and spec.aspect == spec.text[slice(*spec.term_spans[0])]
        else spec.aspect
    )
    return replace(
        spec,
        text=text,
        aspect=aspect,
        term_spans=terms,
        opinion_spans=opinions,
        other_spans=others,
        polarity=label if label is not None else spec.polarity,
    ), written


def protected_spans(spec: UnitSpec) -> list[Span]:
    """The spans a test must not edit unless told to: the entities (RE) or the aspect term (ABSA)."""
    if spec.relation is not None:
        return [spec.relation.e1.offsets, spec.relation.e2.offsets]
    return list(spec.term_spans)


def make_variant(
    source: int, spec: UnitSpec, test: str, edits: Sequence[Edit], label: str | None = None, **details
) -> Variant:
    """The variant of `spec` (the source at index `source`) that `edits` make, with its gold `label` (None: kept)."""
    edited, written = edit_spec(spec, edits, label)
    return Variant(
        source,
        spec.sentence_id,
        test,
        edited,
        tuple(written),
        edited.polarity != spec.polarity,
        dict(details),
        tuple((e.start, e.end) for e in sorted(edits, key=lambda e: (e.start, e.end))),
    )

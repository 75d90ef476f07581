"""Words, clauses and where a test may edit: the text helpers every generator shares.

Where an edit may go follows `variants.edit_text`: an edit is inside a span when it lies within it
(an insertion at either boundary counts as inside: the span grows), outside when it ends before the
span starts or starts after it ends; anything else cuts across and is never proposed. Protected spans
(the entities, the aspect term) take edits only from outside unless the context allows inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.core.inputs.units import UnitSpec
from app.core.robustness.variants import Edit, Span, protected_spans

WORD = re.compile(r"[A-Za-z0-9]+(?:['’\-][A-Za-z0-9]+)*")
# Clause boundaries: punctuation, dashes, and the words that start a contrast.
CLAUSE_BREAK = re.compile(
    r"[,;:.!?()\[\]]|\s[-–—]+\s|\b(?:but|although|though|however|whereas|while|yet)\b", re.IGNORECASE
)
NEGATORS = {"not", "no", "never", "hardly", "barely", "scarcely", "nothing", "none", "neither", "nor", "cannot"}
# "n't" forms and the positive word each becomes when the negation is removed.
NOT_CONTRACTIONS = {
    "isn't": "is",
    "aren't": "are",
    "wasn't": "was",
    "weren't": "were",
    "don't": "do",
    "doesn't": "does",
    "didn't": "did",
    "can't": "can",
    "couldn't": "could",
    "won't": "will",
    "wouldn't": "would",
    "shouldn't": "should",
    "haven't": "have",
    "hasn't": "has",
    "hadn't": "had",
    "ain't": "is",
    "cannot": "can",
}
COPULAS = {
    "is",
    "are",
    "was",
    "were",
    "am",
    "be",
    "been",
    "being",
    "seems",
    "seemed",
    "looks",
    "looked",
    "felt",
    "feels",
    "tastes",
    "tasted",
}
DEGREE_WORDS = ("absolutely", "extremely", "incredibly", "really", "very", "truly")
DETERMINERS = {"the", "a", "an", "our", "their", "my", "his", "her", "its", "this", "that", "these", "those", "your"}


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")


def words(text: str, start: int = 0, end: int | None = None) -> list[Word]:
    """The words of text[start:end] with their offsets in `text`."""
    end = len(text) if end is None else end
    return [Word(m.group(), m.start(), m.end()) for m in WORD.finditer(text, start, end)]


def clause_of(text: str, span: Span) -> Span:
    """The clause around `span`: from the last clause break before it to the first one after it."""
    start, end = 0, len(text)
    for m in CLAUSE_BREAK.finditer(text):
        if m.end() <= span[0]:
            start = m.end()
        elif m.start() >= span[1]:
            end = m.start()
            break
    return start, end


def match_case(model: str, word: str) -> str:
    """`word` written in the case of `model` (UPPER, Capitalised or lower)."""
    if len(model) > 1 and model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word.lower() if model.islower() else word


def sentence_start(text: str, position: int) -> bool:
    """Whether `position` starts a sentence (nothing but spaces or an end mark before it)."""
    before = text[:position].rstrip()
    return not before or before[-1] in ".!?"


def deletion(text: str, word: Word) -> Edit:
    """Remove a word with one neighbouring space, so no double space is left."""
    if word.end < len(text) and text[word.end] == " ":
        return Edit(word.start, word.end + 1, "")
    if word.start > 0 and text[word.start - 1] == " ":
        return Edit(word.start - 1, word.end, "")
    return Edit(word.start, word.end, "")


def relation(edit: Edit | Span, span: Span) -> str:
    """ "inside", "outside" or "across" for an edit (or a span of text to edit) and a span, as edit_text sees it."""
    start, end = (edit.start, edit.end) if isinstance(edit, Edit) else edit
    if span[0] <= start and end <= span[1]:
        return "inside"
    if end <= span[0] or start >= span[1]:
        return "outside"
    return "across"


def all_spans(spec: UnitSpec) -> list[Span]:
    if spec.relation is not None:
        return [spec.relation.e1.offsets, spec.relation.e2.offsets]
    return [*spec.term_spans, *spec.opinion_spans, *spec.other_spans]


def editable(
    spec: UnitSpec, edit: Edit | Span, inside_protected: bool = False, keep_whole: Sequence[Span] = ()
) -> bool:
    """Whether an edit may be made: it cuts across no span, lies outside the protected spans (the
    entities / aspect term) unless `inside_protected`, and outside `keep_whole` (spans a test keeps intact)."""
    spans = all_spans(spec)
    if any(relation(edit, span) == "across" for span in spans):
        return False
    protected = protected_spans(spec)
    if not inside_protected and any(relation(edit, span) != "outside" for span in protected):
        return False
    return all(relation(edit, span) == "outside" for span in keep_whole)


def free_words(spec: UnitSpec, inside_protected: bool = False) -> list[Word]:
    """The words of the text a test may rewrite whole."""
    return [w for w in words(spec.text) if editable(spec, (w.start, w.end), inside_protected)]


def non_overlapping(edits: Iterable[Edit]) -> list[Edit]:
    """The edits in order, dropping any that overlaps one kept before (edit_text refuses overlaps)."""
    kept: list[Edit] = []
    for e in edits:
        if not any(_overlap(e, k) for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: (e.start, e.end))


def _overlap(a: Edit, b: Edit) -> bool:
    return (a.start < b.end and b.start < a.end) or a.start == a.end == b.start == b.end

"""The words of a source as the model sees them, and token-id rows of its edited versions without re-tokenising.

Attacks score hundreds of edited versions of one source. Tokenising each edited text again would
cost more than the model's forward on this CPU, so a source is encoded once (encode_unit) and its
words are kept with their token ranges and their character spans in the source's text; an edited
version's row is the source's ids with the replaced words' pieces spliced in. The words are the
tokenizer's own pre-tokenised words (the encoding's word ids: whitespace and punctuation split), so
for WordPiece tokenizers a word's pieces do not depend on its neighbours and the splice equals
encoding the edited text. The attack modules still encode every variant they return and re-score
it when the two ever differ.

Editable words: in the review (ABSA) or the sentence (RE), with a letter or digit, not
overlapping the aspect term or an entity (variants.protected_spans). Entity markers are special
tokens outside the text: no edit can reach them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.inputs.encoding import REVIEW_FIRST_FORMATS
from app.core.inputs.relations import mark_entities
from app.core.inputs.units import UnitSpec, encode_unit
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.robustness.variants import Edit, protected_spans

# Function words (English): never attacked by PWWS and never removed by the counterfactual test,
# whose point is the content words the model relies on.
STOPWORDS = frozenset(
    """
a about above after again against all am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves s t don didn doesn isn wasn aren weren won wouldn shouldn couldn
""".split()
)


@dataclass(frozen=True)
class Word:
    """One word of the edited segment: tokens [first, stop) of the encoding, characters [start, end) of spec.text."""

    index: int
    first: int
    stop: int
    start: int
    end: int
    text: str
    editable: bool

    @property
    def pieces(self) -> int:
        return self.stop - self.first

    @property
    def content(self) -> bool:
        """A word that counts in the share of words changed (punctuation does not)."""
        return any(c.isalnum() for c in self.text)

    @property
    def stopword(self) -> bool:
        return self.text.lower() in STOPWORDS


Row = tuple[list[int], list[int] | None]  # (input ids, token type ids)


@dataclass
class SourceInput:
    """A source encoded once: its ids, its words, and how to build rows of edited versions."""

    spec: UnitSpec
    ids: list[int]
    types: list[int] | None
    words: list[Word]
    max_length: int

    @property
    def row(self) -> Row:
        return self.ids, self.types

    @property
    def editable(self) -> list[Word]:
        return [w for w in self.words if w.editable]

    @property
    def content_words(self) -> int:
        return sum(w.content for w in self.words)

    def splice(self, replacements: dict[int, Sequence[int]]) -> Row | None:
        """The row with word i's pieces replaced by replacements[i] (empty: removed); None if over max_length."""
        ids: list[int] = []
        types: list[int] | None = [] if self.types is not None else None
        position = 0
        for word in sorted((self.words[i] for i in replacements), key=lambda w: w.first):
            ids += self.ids[position : word.first] + list(replacements[word.index])
            if types is not None and self.types is not None:  # both or neither
                types += self.types[position : word.first] + [self.types[word.first]] * len(replacements[word.index])
            position = word.stop
        ids += self.ids[position:]
        if types is not None and self.types is not None:
            types += self.types[position:]
        return (ids, types) if len(ids) <= self.max_length else None


def source_input(checkpoint: LoadedCheckpoint, spec: UnitSpec) -> SourceInput | None:
    """Encode `spec` once and find its words; None when it cannot be encoded or its words cannot be placed."""
    unit = encode_unit(checkpoint, spec)
    if unit is None:
        return None
    encoded = unit.encoded
    if spec.relation is not None:
        segment = "a"
        to_text = _marked_to_clean(spec, checkpoint.info.entity_markers, encoded.segments["a"])
        if to_text is None:
            return None
    else:
        segment = "a" if checkpoint.info.format in REVIEW_FIRST_FORMATS else "b"
        shift = len(spec.text) - len(spec.text.lstrip())
        to_text = [i + shift for i in range(len(encoded.segments[segment]))]
    groups: dict[int, list[int]] = {}
    for i, token in enumerate(encoded.tokens):
        if token.segment == segment and not token.special and not token.marker:
            groups.setdefault(token.word, []).append(i)
    protected = protected_spans(spec)
    words: list[Word] = []
    for indices in groups.values():
        first, last = encoded.tokens[indices[0]], encoded.tokens[indices[-1]]
        start, end = to_text[first.start], to_text[last.end - 1] + 1
        if start < 0 or end <= start or indices != list(range(indices[0], indices[-1] + 1)):
            return None  # a word across an entity marker: the text and the tokens disagree
        text = spec.text[start:end]
        free = not any(start < p_end and end > p_start for p_start, p_end in protected)
        words.append(
            Word(len(words), indices[0], indices[-1] + 1, start, end, text, free and any(c.isalnum() for c in text))
        )
    max_length = min(checkpoint.info.max_length, getattr(checkpoint.tokenizer, "model_max_length", 10**6))
    return SourceInput(
        spec,
        list(encoded.input_ids),
        list(encoded.token_type_ids) if encoded.token_type_ids else None,
        words,
        max_length,
    )


def _marked_to_clean(spec: UnitSpec, markers: Sequence[str], marked: str) -> list[int] | None:
    """For each character of the marked RE text, its offset in spec.text (-1 inside an inserted marker)."""
    e = spec.relation
    assert e is not None, "an RE source without its relation example"  # source_input calls this for RE sources only
    expected, _ = mark_entities(e.text, e.e1.offsets, e.e2.offsets, markers)
    if expected != marked:  # the encoding keeps the whole marked text (even when truncated): a surprise
        return None
    (s1, t1), (s2, t2) = e.e1.offsets, e.e2.offsets
    # The same inserts, in the same order, as inputs.mark_entities makes.
    inserts = sorted([(s1, markers[0] + " "), (t1, " " + markers[1]), (s2, markers[2] + " "), (t2, " " + markers[3])])
    index, position = [], 0
    for offset, mark in inserts:
        index += list(range(position, offset)) + [-1] * len(mark)
        position = offset
    return index + list(range(position, len(e.text)))


class Pieces:
    """Word-piece ids of replacement texts, tokenised once per text."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.cache: dict[str, list[int]] = {}

    def __call__(self, text: str) -> list[int]:
        if text not in self.cache:
            self.cache[text] = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return self.cache[text]


def surface(word: Word, replacement: str, lowercases: bool) -> str:
    """The replacement as written in the text: capitalised like the word when the tokenizer lowercases anyway."""
    if lowercases and word.text[:1].isupper() and replacement:
        return replacement[0].upper() + replacement[1:]
    return replacement


def lowercases(checkpoint: LoadedCheckpoint) -> bool:
    return bool(getattr(checkpoint.tokenizer, "do_lower_case", False))


def removal_edits(text: str, words: Sequence[Word]) -> list[Edit]:
    """Edits deleting `words` with one adjacent run of spaces each (after, else before), merged where they touch."""
    spans = []
    for w in words:
        start, end = w.start, w.end
        if end < len(text) and text[end].isspace():
            while end < len(text) and text[end].isspace():
                end += 1
        else:
            while start > 0 and text[start - 1].isspace():
                start -= 1
        spans.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [Edit(start, end, "") for start, end in merged]

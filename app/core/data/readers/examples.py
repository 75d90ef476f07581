"""Typed examples the loaders yield. Every gold span is a character span into the example's own `text`.

These generalise the demo readers' dataclasses (app.core.data.demo): `AspectTerm` keeps the
demo's field names, `AbsaSentence` is a ReviewSentence whose categories keep duplicates and
order, and `RelationExample` is a RelationSentence with clean text plus entity spans
(`tagged_text` gives back the demo's `<e1>`/`<e2>` notation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- Shared -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CharSpan:
    """Characters [start, end) of an example's text; `text` is that slice, kept for reading and checks."""

    start: int
    end: int
    text: str

    @property
    def offsets(self) -> tuple[int, int]:
        """(start, end), the form app.core.inputs.encoding' builders take (aspect_span, e1_span, e2_span)."""
        return (self.start, self.end)


def char_span(text: str, start: int, end: int) -> CharSpan:
    return CharSpan(start, end, text[start:end])


# --- Aspect-based sentiment ---------------------------------------------------------------


@dataclass(frozen=True)
class AspectTerm:
    """An aspect term written in the sentence, with its polarity (SemEval-2014, MAMS-ATSA, user data)."""

    term: str
    start: int
    end: int
    polarity: str
    category: str | None = None  # only user data may link a term to a category

    @property
    def offsets(self) -> tuple[int, int]:
        return (self.start, self.end)


@dataclass(frozen=True)
class AspectCategory:
    """An aspect category (food, service...) the sentence speaks about, with its polarity."""

    category: str
    polarity: str


@dataclass(frozen=True)
class AbsaSentence:
    """One review sentence with its aspect terms and/or aspect categories, in file order.

    SemEval-2014 restaurants carry both, laptops and MAMS-ATSA only terms, MAMS-ACSA only categories.
    Categories are a tuple, not a dict, because the real files repeat a category in a sentence now
    and then and the published counts include the repeats.
    """

    id: str
    text: str
    terms: tuple[AspectTerm, ...]
    categories: tuple[AspectCategory, ...]

    def category_polarities(self) -> dict[str, str]:
        """category -> polarity (the demo ReviewSentence's `categories`); a repeated category keeps its last
        polarity."""
        return {c.category: c.polarity for c in self.categories}


@dataclass(frozen=True)
class TargetedOpinion:
    """A SentiHood opinion: what `target` (LOCATION1...) is said to be like on `aspect`."""

    target: str
    aspect: str
    polarity: str


@dataclass(frozen=True)
class TargetMention:
    """Where a target name (LOCATION1...) occurs in the text."""

    target: str
    span: CharSpan


@dataclass(frozen=True)
class TargetedSentence:
    """A SentiHood sentence: its opinions and every mention of the targets they name."""

    id: str
    text: str
    opinions: tuple[TargetedOpinion, ...]
    mentions: tuple[TargetMention, ...]

    def spans_of(self, target: str) -> tuple[CharSpan, ...]:
        return tuple(m.span for m in self.mentions if m.target == target)


@dataclass(frozen=True)
class SentimentTriplet:
    """An ASTE triplet: the aspect span, the opinion span that judges it, and the polarity.

    `aspect_words` / `opinion_words` are the file's [first, last + 1) word indices, kept for
    tagging models; `aspect` / `opinion` are the same spans in characters.
    """

    aspect: CharSpan
    opinion: CharSpan
    polarity: str
    aspect_words: tuple[int, int]
    opinion_words: tuple[int, int]


@dataclass(frozen=True)
class TripletSentence:
    id: str
    text: str  # space-tokenised, as in the file
    triplets: tuple[SentimentTriplet, ...]


# --- Relation extraction -------------------------------------------------------------------


@dataclass(frozen=True)
class RelationExample:
    """A sentence, its two entities as character spans, and the relation label.

    e1/e2 are SemEval-2010's tagged entities; for OpenNRE data e1 is the head `h` and e2 the tail `t`,
    so a directed label always reads e1 -> e2. A span may be empty (start == end) only where the
    source masks an entity away (DiagnoseRE's masked variants).
    """

    id: str
    text: str  # clean text, no tags
    e1: CharSpan
    e2: CharSpan
    relation: str

    @property
    def tagged_text(self) -> str:
        """The text with <e1>..</e1> and <e2>..</e2> around the entities (the demo data's notation)."""
        inserts = []
        for name, span in (("e1", self.e1), ("e2", self.e2)):
            # At one offset: closing tags first (adjacent entities stay apart), then opening tags,
            # then the closing tag of an empty (masked) entity, which must follow its own opening tag.
            inserts += [(span.start, 1, f"<{name}>"), (span.end, 0 if span.end > span.start else 2, f"</{name}>")]
        inserts.sort()
        pieces, position = [], 0
        for offset, _, tag in inserts:
            pieces.append(self.text[position:offset])
            pieces.append(tag)
            position = offset
        pieces.append(self.text[position:])
        return "".join(pieces)


@dataclass(frozen=True)
class RelationKey:
    """One line of SemEval-2010 Task 8's answer key: sentence id and relation (the key has no direction)."""

    id: str
    relation: str


# --- Lexicon -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LexiconEntry:
    word: str
    polarity: str  # "positive" or "negative"


@dataclass(frozen=True)
class OpinionLexicon:
    """Hu & Liu's opinion words. A few words are in both sets (envious...), as in the original lists."""

    positive: frozenset[str]
    negative: frozenset[str]
    source: str | None = field(default=None, compare=False)  # the folder or file it was read from

"""An aspect's opinion words, and the edits that reverse or intensify one (ARTS, Xing et al. 2020).

Finding them: the gold ASTE opinion spans where the pair has them; otherwise, with the Hu & Liu
lexicon, the lexicon word nearest the aspect term within its clause (not inside any aspect term),
preferring one whose polarity, read through a preceding negation, agrees with the aspect's gold
polarity. Without either, the aspect has no opinion words and the tests that need them skip it.

Reversing one (ARTS' rules, without their parser and POS tagger):
1. a negation in the opinion or just before it (within NEGATION_WINDOW words of its clause) is
   removed ("not good" -> "good", "isn't good" -> "is good");
2. else a WordNet antonym of a word of the opinion replaces it (the word itself, not an inflection:
   "loved" is not reversed to "hated"). A lexicon word takes only an antonym of the opposite lexicon
   polarity (WordNet's first antonym of "top" is "side"); another word takes a direct antonym,
   lexicon-confirmed ones first. The cluster head's antonym of a satellite adjective counts only
   when the lexicon confirms it (indirect antonyms alone are too loose: great -> small);
3. else a negation is added: "not" after a copula just before the opinion ("was slow" -> "was not
   slow"), or before the opinion ("not delicious").
Intensifying one puts a degree word before it ("very good"), unless one is there already.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from app.core.data.readers import OpinionLexicon
from app.core.inputs.units import UnitSpec
from app.core.robustness.generators.text import (
    COPULAS,
    DEGREE_WORDS,
    NEGATORS,
    NOT_CONTRACTIONS,
    Word,
    clause_of,
    deletion,
    match_case,
    relation,
    sentence_start,
    words,
)
from app.core.robustness.variants import Edit, Span
from app.core.robustness.wordnet import antonyms

NEGATION_WINDOW = 3
OPPOSITE = {"positive": "negative", "negative": "positive"}


@dataclass(frozen=True)
class Opinions:
    spans: tuple[Span, ...]
    source: str | None  # "gold", "lexicon" or None (none found)


@dataclass
class Reversal:
    edits: list[Edit] = field(default_factory=list)
    how: str = ""  # "negation removed", "antonym", "antonym (indirect)", "negation added"
    words: str = ""


def lexicon_polarity(lexicon: OpinionLexicon | None, word: str) -> str | None:
    if lexicon is None:
        return None
    word = word.lower()
    if word in lexicon.positive and word not in lexicon.negative:
        return "positive"
    if word in lexicon.negative and word not in lexicon.positive:
        return "negative"
    return None


def find_opinions(spec: UnitSpec, lexicon: OpinionLexicon | None, aspect_spans: list[Span] | None = None) -> Opinions:
    """The pair's opinion words about its aspect (module docstring); aspect_spans: every aspect term of the
    sentence (default: the pair's own and its other aspects), which a lexicon word may not lie in."""
    if spec.opinion_spans:
        return Opinions(tuple(spec.opinion_spans), "gold")
    if lexicon is None or not spec.term_spans:
        return Opinions((), None)
    term = spec.term_spans[0]
    aspects = aspect_spans if aspect_spans is not None else [*spec.term_spans, *spec.other_spans]
    start, end = clause_of(spec.text, term)
    candidates = [
        w
        for w in words(spec.text, start, end)
        if lexicon_polarity(lexicon, w.text) and all(relation((w.start, w.end), a) == "outside" for a in aspects)
    ]
    if not candidates:
        return Opinions((), None)

    def rank(w: Word) -> tuple:
        read = lexicon_polarity(lexicon, w.text)
        assert read is not None  # the candidates are words the lexicon rates
        if negation_before(spec.text, (w.start, w.end)) is not None:
            read = OPPOSITE.get(read, read)
        distance = w.start - term[1] if w.start >= term[1] else term[0] - w.end
        return (read != spec.polarity and spec.polarity in OPPOSITE, distance, w.start)

    best = min(candidates, key=rank)
    return Opinions(((best.start, best.end),), "lexicon")


def negation_before(text: str, span: Span) -> Word | None:
    """A negation inside the opinion span, or within NEGATION_WINDOW words before it in its clause."""
    inside = [w for w in words(text, *span) if _negates(w)]
    if inside:
        return inside[0]
    clause_start = clause_of(text, span)[0]
    before = words(text, clause_start, span[0])[-NEGATION_WINDOW:]
    found = [w for w in before if _negates(w)]
    return found[-1] if found else None


def _negates(word: Word) -> bool:
    return word.lower in NEGATORS or word.lower in NOT_CONTRACTIONS or word.lower == "n't"


def reverse(text: str, span: Span, wordnet: Any, lexicon: OpinionLexicon | None, polarity: str | None) -> Reversal:
    """The edits that reverse the opinion at `span` (module docstring); `polarity`: the aspect's gold polarity."""
    negation = negation_before(text, span)
    if negation is not None:
        return Reversal([_unnegate(text, negation)], "negation removed", negation.text)
    found = _antonym(text, span, wordnet, lexicon, polarity)
    if found is not None:
        return found
    return _negate(text, span)


def _unnegate(text: str, negation: Word) -> Edit:
    positive = NOT_CONTRACTIONS.get(negation.lower)
    if positive is not None:
        return Edit(negation.start, negation.end, match_case(negation.text, positive))
    if negation.lower == "n't" and negation.start > 0 and text[negation.start - 1] == " ":
        return Edit(negation.start - 1, negation.end, "")  # tokenised "is n't"
    return deletion(text, negation)


def _antonym(text: str, span: Span, wordnet: Any, lexicon: OpinionLexicon | None, polarity: str | None):
    if wordnet is None:
        return None
    for word in reversed(words(text, *span)):  # the head of "very friendly" is its last word
        options = _antonym_options(word.lower, wordnet, lexicon, polarity)
        if options:
            name, how = options[0]
            edit = Edit(word.start, word.end, match_case(word.text, name))
            return Reversal([edit], "antonym" if how == "direct" else "antonym (indirect)", f"{word.text} -> {name}")
    return None


def _antonym_options(word: str, wordnet: Any, lexicon: OpinionLexicon | None, polarity: str | None) -> list:
    """A lexicon word takes only antonyms of the opposite lexicon polarity (WordNet's first antonym of "top" is
    "side"); another word takes direct antonyms, lexicon-confirmed ones first."""
    options = antonyms(wordnet, word)
    own = lexicon_polarity(lexicon, word)
    wanted = OPPOSITE.get(own or polarity or "")
    confirmed = [o for o in options if wanted is not None and lexicon_polarity(lexicon, o[0]) == wanted]
    if own is not None:
        return confirmed
    return confirmed + [o for o in options if o[1] == "direct" and o not in confirmed]


def _negate(text: str, span: Span) -> Reversal:
    start = span[0]
    clause_start = clause_of(text, span)[0]
    before = words(text, clause_start, start)[-2:]
    copula = next((w for w in reversed(before) if w.lower in COPULAS), None)
    if copula is not None:
        return Reversal([Edit(copula.end, copula.end, " not")], "negation added", f"{copula.text} not")
    first = text[start : start + 1]
    if sentence_start(text, start):  # "Great pizza" -> "Not great pizza"
        return Reversal([Edit(start, start + 1, "Not " + first.lower())], "negation added", "Not")
    return Reversal([Edit(start, start, "not ")], "negation added", "not")


SUPERLATIVES = {"best", "worst", "most", "least"}


def intensify(
    text: str, span: Span, rng: random.Random, lexicon: OpinionLexicon | None = None, wordnet: Any = None
) -> Edit | None:
    """A degree word put before the opinion; None when one is there already or the opinion is a superlative
    ("very best": a word ending in -est whose stem is a lexicon word counts too: greatest, nicest)."""
    start = span[0]
    previous = words(text, max(0, start - 20), start)[-1:]
    inside = words(text, *span)
    if any(w.lower in DEGREE_WORDS for w in [*previous, *inside]):
        return None
    if any(_superlative(w.lower, lexicon) for w in inside):
        return None
    # "really" reads right before verbs ("really like") and adjectives alike; the others suit adjectives only.
    degree = "really" if inside and _verb(inside[0].lower, wordnet) else rng.choice(DEGREE_WORDS)
    if sentence_start(text, start):
        return Edit(start, start + 1, degree.capitalize() + " " + text[start].lower())
    return Edit(start, start, degree + " ")


def _verb(word: str, wordnet: Any) -> bool:
    if word.endswith("ed"):
        return True
    return wordnet is not None and bool(wordnet.synsets(word, pos="v"))


def _superlative(word: str, lexicon: OpinionLexicon | None) -> bool:
    if word in SUPERLATIVES:
        return True
    return (
        lexicon is not None
        and word.endswith("est")
        and any(lexicon_polarity(lexicon, stem) for stem in (word[:-3], word[:-2], word[:-4]))
    )

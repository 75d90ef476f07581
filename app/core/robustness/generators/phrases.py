"""Aspect-opinion phrases mined from ABSA training data, for AddDiff (ARTS' AspectSet, without its parser).

A phrase is the stretch of a training sentence from an aspect term to one of its opinion words (gold
ASTE opinions, else the nearest lexicon word in the term's clause, as for the tests), with a
determiner just before it kept: "the fries were soggy", "friendly staff". It is kept only when it
is short (at most MAX_WORDS words), crosses no clause break, holds no other aspect term, and, when
it ends with the opinion, ends where the clause does, so it reads as a clause about that one
aspect. Phrases are lower-cased and sorted (generation samples them with a seeded generator).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.data.readers import AbsaSentence, OpinionLexicon, TripletSentence
from app.core.inputs.units import UnitSpec
from app.core.robustness.context import SuiteError
from app.core.robustness.generators.opinions import OPPOSITE, find_opinions
from app.core.robustness.generators.text import CLAUSE_BREAK, DETERMINERS, relation, words
from app.core.robustness.variants import Span

MAX_WORDS = 6
TRAINING_FORMATS = "SemEval-2014 or MAMS XML, ASTE triplets, or headscope ABSA JSONL"
_CLOSES = re.compile(
    r"\s*(?:$|[,;:.!?)\-–—]|(?:and|but|or|so|though|although|because|when|while|which)\b)", re.IGNORECASE
)
_TRIPLET_POLARITY = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}


@dataclass(frozen=True, order=True)
class Phrase:
    text: str  # lower case, e.g. "the fries were soggy"
    aspect: str  # the aspect term in it, lower case
    aspect_start: int  # where the aspect starts in `text`
    polarity: str
    aspect_words: tuple[str, ...]  # its words, for checking whether a sentence names the aspect already


def training_pairs(training: Sequence[Any] | None) -> list[UnitSpec]:
    """One pair per aspect term of the training data; SuiteError when there is none or it is not ABSA data."""
    if not training:
        raise SuiteError(f"adddiff needs a training file ({TRAINING_FORMATS}) to mine aspect-opinion phrases from")
    pairs: list[UnitSpec] = []
    for example in training:
        if isinstance(example, UnitSpec):
            pairs.append(example)
        elif isinstance(example, AbsaSentence):
            spans = [t.offsets for t in example.terms]
            pairs.extend(
                UnitSpec(
                    example.id,
                    example.text,
                    t.term,
                    (t.offsets,),
                    (),
                    tuple(s for s in spans if s != t.offsets),
                    t.polarity,
                )
                for t in example.terms
            )
        elif isinstance(example, TripletSentence):
            pairs.extend(_triplet_pairs(example))
        else:
            raise SuiteError(
                f"adddiff: the training data holds {type(example).__name__} examples; "
                f"give ABSA data ({TRAINING_FORMATS})"
            )
    if not any(p.term_spans for p in pairs):
        raise SuiteError(
            f"adddiff: the training data has no aspect terms (aspect categories alone have no words "
            f"to build phrases from); give {TRAINING_FORMATS} with terms"
        )
    return pairs


def _triplet_pairs(sentence: TripletSentence) -> list[UnitSpec]:
    aspects: dict[Span, list] = {}
    for triplet in sentence.triplets:
        aspects.setdefault(triplet.aspect.offsets, []).append(triplet)
    return [
        UnitSpec(
            sentence.id,
            sentence.text,
            sentence.text[a[0] : a[1]],
            (a,),
            tuple(t.opinion.offsets for t in ts),
            tuple(o for o in aspects if o != a),
            _TRIPLET_POLARITY.get(ts[0].polarity, ts[0].polarity),
        )
        for a, ts in aspects.items()
    ]


def mine_phrases(pairs: Sequence[UnitSpec], lexicon: OpinionLexicon | None) -> dict[str, list[Phrase]]:
    """polarity ("positive" / "negative") -> its phrases, sorted."""
    found: dict[str, set[Phrase]] = {polarity: set() for polarity in OPPOSITE}
    for spec in pairs:
        if spec.polarity not in OPPOSITE or not spec.term_spans:
            continue
        for opinion in find_opinions(spec, lexicon).spans:
            phrase = _phrase(spec, spec.term_spans[0], opinion)
            if phrase is not None:
                found[spec.polarity].add(phrase)
    return {polarity: sorted(phrases) for polarity, phrases in found.items()}


def _plain_gap(text: str, start: int, end: int, opinion_first: bool) -> bool:
    """Between aspect and opinion: no clause break, no coordination ("gorgeous and the bar"), and before the
    aspect no determiner either ("pity the tacos": the opinion is not the aspect's modifier)."""
    if CLAUSE_BREAK.search(text, start, end):
        return False
    barred = {"and", "or", "nor"} | (DETERMINERS if opinion_first else set())
    gap = words(text, start, end)
    if not opinion_first and gap and gap[-1].lower in {"a", "an", "the"}:
        return False  # "were swimming in a greasy (sauce)": the opinion modifies a noun the phrase leaves out
    return not any(w.lower in barred for w in gap)


def _phrase(spec: UnitSpec, term: Span, opinion: Span) -> Phrase | None:
    text = spec.text
    start, end = min(term[0], opinion[0]), max(term[1], opinion[1])
    first, second = sorted([term, opinion])
    if second[0] > first[1] and not _plain_gap(text, first[1], second[0], opinion_first=opinion[0] < term[0]):
        return None
    if len(words(text, start, end)) > MAX_WORDS:
        return None
    if any(relation(other, (start, end)) != "outside" for other in spec.other_spans):
        return None
    if opinion[1] == end and not _CLOSES.match(text, end):
        return None  # "the enchiladas were swimming in a greasy" (sauce): the phrase stops inside a noun phrase
    before = words(text, max(0, start - 12), start)[-1:]
    if term[0] == start and before and before[0].lower in DETERMINERS and not text[before[0].end : start].strip():
        start = before[0].start
    aspect = text[term[0] : term[1]].lower()
    assert spec.polarity is not None  # mine_phrases reads only positive and negative pairs
    return Phrase(
        text[start:end].lower(), aspect, term[0] - start, spec.polarity, tuple(w.lower for w in words(aspect))
    )

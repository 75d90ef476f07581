"""Aspect robustness tests of ABSA (ARTS: Xing et al. 2020, "Tasty Burgers, Soggy Fries").

* revtgt: the target aspect's opinion words reversed (opinions.py); the gold polarity flips
  (positive <-> negative), neutral stays neutral; a conjunction between the target and another
  aspect follows the new contrast ("and" -> "but" when their polarities now differ, "but" -> "and"
  when they now agree), as ARTS does. Conflict and absent ("none") pairs are skipped.
* revnon: the other aspects' opinions changed, gold unchanged: an aspect of the target's own
  (positive / negative) polarity has its opinion reversed (and an "and" joining it to the target
  becomes "but"), any other one is intensified; opinions
  the target shares are left alone. An other aspect with no pair of its own in the sources (so no
  known polarity) is only intensified.
* adddiff: 1-3 aspect-opinion phrases of the other polarity (for a neutral target: either), mined
  from the training data (phrases.py), appended: "..., but the fries were soggy and the staff rude.";
  the added aspects join the variant's other aspects. Gold unchanged.

Opinion words come from gold ASTE opinions, else from the lexicon: the variant details say which
(`opinion_source`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

from app.core.inputs.units import UnitSpec
from app.core.robustness.context import GenerationContext
from app.core.robustness.generators.opinions import OPPOSITE, find_opinions, intensify, reverse
from app.core.robustness.generators.phrases import Phrase, mine_phrases, training_pairs
from app.core.robustness.generators.text import all_spans, editable, non_overlapping, relation, words
from app.core.robustness.variants import Edit, Span, Variant, make_variant

DRAWN = 12  # phrases drawn per source before the ones naming an aspect of the sentence are dropped
FLIP = {"positive": "negative", "negative": "positive", "neutral": "neutral"}


def siblings(sources: Sequence[UnitSpec]) -> list[dict[Span, UnitSpec]]:
    """Per source: its other aspects' own pairs (same sentence), by the other aspect's term span."""
    by_sentence: dict[tuple[str, str], list[UnitSpec]] = {}
    for spec in sources:
        by_sentence.setdefault((spec.sentence_id, spec.text), []).append(spec)
    found = []
    for spec in sources:
        others = set(spec.other_spans)
        found.append(
            {
                s.term_spans[0]: s
                for s in by_sentence[(spec.sentence_id, spec.text)]
                if s is not spec and s.term_spans and s.term_spans[0] in others
            }
        )
    return found


def _aspects(spec: UnitSpec) -> list[Span]:
    return [*spec.term_spans, *spec.other_spans]


def revtgt(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    family = siblings(sources)
    for i, spec in enumerate(sources):
        if spec.polarity not in FLIP:
            continue
        opinions = find_opinions(spec, ctx.lexicon)
        reversals = [reverse(spec.text, span, ctx.wordnet, ctx.lexicon, spec.polarity) for span in opinions.spans]
        edits = [e for r in reversals for e in r.edits if editable(spec, e)]
        if not edits:
            continue
        label = FLIP[spec.polarity]
        edits = non_overlapping([*edits, *_conjunction(spec, label, family[i])])
        yield make_variant(
            i,
            spec,
            "revtgt",
            edits,
            label,
            opinion_source=opinions.source,
            how="; ".join(r.how for r in reversals),
            words="; ".join(r.words for r in reversals),
        )


def _conjunction(spec: UnitSpec, label: str, others: dict[Span, UnitSpec]) -> list[Edit]:
    """and/but between the target and the nearest other aspect of known polarity, to follow the new contrast."""
    known = [(span, s.polarity) for span, s in others.items() if s.polarity in OPPOSITE]
    if not spec.term_spans or not known or label not in OPPOSITE:
        return []
    term = spec.term_spans[0]
    span, polarity = min(known, key=lambda k: abs(k[0][0] - term[0]))
    return _joining(spec, term, span, differ=polarity != label)


def _joining(spec: UnitSpec, a: Span, b: Span, differ: bool) -> list[Edit]:
    """The one "and" between two aspects made "but" when they now differ (or "but" made "and" when they agree)."""
    lo, hi = (a[1], b[0]) if b[0] > a[0] else (b[1], a[0])
    wanted, unwanted = ("but", "and") if differ else ("and", "but")
    found = [w for w in words(spec.text, lo, hi) if w.lower == unwanted]
    if len(found) != 1 or not editable(spec, (found[0].start, found[0].end)):
        return []  # none, or several: which one joins the two aspects is a parser's call
    w = found[0]
    return [Edit(w.start, w.end, wanted if w.text.islower() else wanted.capitalize())]


def revnon(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    family = siblings(sources)
    for i, spec in enumerate(sources):
        if not spec.other_spans or spec.polarity not in FLIP:
            continue
        rng = ctx.rng("revnon", i)
        own = set(find_opinions(spec, ctx.lexicon).spans)
        edits: list[Edit] = []
        reversed_, intensified = 0, 0
        sources_used: set[str | None] = set()
        for other in spec.other_spans:
            sibling = family[i].get(other)
            target = sibling or UnitSpec(spec.sentence_id, spec.text, None, (other,), (), (), None)
            found = find_opinions(target, ctx.lexicon, _aspects(spec))
            spans = [s for s in found.spans if all(relation(s, o) == "outside" for o in own)]
            for span in spans:
                if sibling is not None and sibling.polarity == spec.polarity and spec.polarity in OPPOSITE:
                    more = reverse(spec.text, span, ctx.wordnet, ctx.lexicon, sibling.polarity).edits
                    if spec.term_spans:  # the two aspects now disagree: "and" between them becomes "but"
                        more = [*more, *_joining(spec, spec.term_spans[0], other, differ=True)]
                    reversed_ += 1
                elif sibling is not None and sibling.polarity == spec.polarity:
                    continue  # a neutral neighbour of a neutral target: ARTS leaves it
                else:
                    more = [e for e in [intensify(spec.text, span, rng, ctx.lexicon, ctx.wordnet)] if e is not None]
                    intensified += 1 if more else 0
                edits.extend(e for e in more if editable(spec, e))
                sources_used.add(found.source)
        edits = non_overlapping(edits)
        if edits:
            yield make_variant(
                i,
                spec,
                "revnon",
                edits,
                reversed=reversed_,
                intensified=intensified,
                opinion_source=", ".join(sorted(s for s in sources_used if s)),
            )


def adddiff(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    phrases = mine_phrases(training_pairs(ctx.training), ctx.lexicon)
    pools = {
        **{polarity: phrases[OPPOSITE[polarity]] for polarity in OPPOSITE},
        "neutral": [p for polarity in OPPOSITE for p in phrases[polarity]],
    }
    for i, spec in enumerate(sources):
        pool = pools.get(spec.polarity) if spec.polarity is not None else None
        if not pool:
            continue
        rng = ctx.rng("adddiff", i)
        # An aspect the sentence already names is not added again (as ARTS does); drawn first, then checked.
        named = _ngrams([w.lower for w in words(spec.text)])
        drawn = [p for p in rng.sample(pool, min(len(pool), DRAWN)) if p.aspect_words not in named]
        chosen = _distinct(drawn, rng.randint(1, 3))
        if not chosen:
            continue
        variant = _append(i, spec, chosen)
        if variant is not None:
            yield variant


def _ngrams(tokens: list[str], longest: int = 6) -> set[tuple[str, ...]]:
    return {tuple(tokens[k : k + n]) for n in range(1, longest + 1) for k in range(len(tokens) - n + 1)}


def _distinct(phrases: list[Phrase], count: int) -> list[Phrase]:
    kept: list[Phrase] = []
    for p in phrases:
        if len(kept) < count and all(p.aspect != k.aspect for k in kept):
            kept.append(p)
    return kept


def _append(i: int, spec: UnitSpec, chosen: list[Phrase]) -> Variant | None:
    text = spec.text
    end = len(text.rstrip())
    cut = end
    while cut > 0 and text[cut - 1] in ".!?":
        cut -= 1
    mark = text[cut:end] or "."
    joiner = "; " if re.search(r"\b(?:but|although)\b", text[:cut], re.IGNORECASE) else ", but "
    texts = [p.text for p in chosen]
    listed = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
    tail = joiner + listed + mark
    edit = Edit(cut, len(text), tail)
    if not editable(spec, edit, keep_whole=all_spans(spec)):
        return None  # the text ends in an aspect or opinion: an insertion there would stretch its span
    variant = make_variant(
        i, spec, "adddiff", [edit], added=len(chosen), phrases="; ".join(f"{p.text} ({p.polarity})" for p in chosen)
    )
    start = variant.edited[0][0]
    added, offset = [], len(joiner)
    for p, piece in zip(chosen, texts):
        offset = tail.index(piece, offset)
        added.append((start + offset + p.aspect_start, start + offset + p.aspect_start + len(p.aspect)))
        offset += len(piece)
    return replace(variant, spec=replace(variant.spec, other_spans=(*variant.spec.other_spans, *added)))

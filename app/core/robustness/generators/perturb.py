"""The random suite (DiagnoseRE's Q1, after CheckList's perturbations), for relation and ABSA sources alike.

Each test rewrites the text outside the entities / aspect term (inside too when the context says
so); the gold label never changes. A source the test finds nothing to change in gets no variant.

* q1-typo: two adjacent letters of one word swapped (CheckList add_typos, one typo);
* q1-punctuation: the end mark stripped, or a full stop added where there is none;
* q1-contraction: every contraction expanded (isn't -> is not), and, as a second variant, every
  expandable phrase contracted (is not -> isn't); tokenised text ("is n't") is read too;
* q1-number: each integer (one variant per distinct value, at most MAX_NUMBERS) moved by up to
  20% (+1), as CheckList's change_number does (a year by at most 10), every occurrence alike;
* q1-person / q1-location: first and last names / cities and countries from names.py replaced by
  others from the same list, every occurrence of a name alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from app.core.inputs.units import UnitSpec
from app.core.robustness.context import GenerationContext
from app.core.robustness.generators.names import LOCATION_LISTS, PERSON_LISTS
from app.core.robustness.generators.text import editable, free_words, match_case, non_overlapping, sentence_start
from app.core.robustness.variants import Edit, Variant, make_variant

MAX_NUMBERS = 3
END_MARKS = ".!?"

CONTRACTIONS = {
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "weren't": "were not",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "can't": "cannot",
    "couldn't": "could not",
    "won't": "will not",
    "wouldn't": "would not",
    "shouldn't": "should not",
    "haven't": "have not",
    "hasn't": "has not",
    "hadn't": "had not",
    "it's": "it is",
    "that's": "that is",
    "there's": "there is",
    "what's": "what is",
    "he's": "he is",
    "she's": "she is",
    "i'm": "i am",
    "you're": "you are",
    "we're": "we are",
    "they're": "they are",
    "i've": "i have",
    "you've": "you have",
    "we've": "we have",
    "they've": "they have",
    "i'll": "i will",
    "you'll": "you will",
    "we'll": "we will",
    "they'll": "they will",
    "it'll": "it will",
    "i'd": "i would",
    "you'd": "you would",
    "we'd": "we would",
    "they'd": "they would",
    "let's": "let us",
}
# Contracting "I have"/"I would" would often be wrong ("I have a dog" -> "I've a dog"; 'd is also "had").
NOT_CONTRACTED = {"i have", "you have", "we have", "they have", "i would", "you would", "we would", "they would"}


def _contraction_pattern(contraction: str) -> str:
    if contraction.endswith("n't"):  # tokenised text splits before n't: "is n't", "ca n't", "wo n't"
        return contraction[:-3] + r"\s?n['’]t"
    stem, rest = contraction.split("'")
    return stem + r"\s?['’]" + rest


_EXPAND = [
    (re.compile(r"(?<![\w'’])" + _contraction_pattern(c) + r"(?![\w'’])", re.IGNORECASE), e)
    for c, e in CONTRACTIONS.items()
]
# A phrase is contracted only before another word: "that's what it is." must not become "what it's."
_CONTRACT = [
    (re.compile(r"(?<![\w'’])" + re.escape(e).replace(r"\ ", r"\s+") + r"(?=\s+\w)", re.IGNORECASE), c)
    for c, e in CONTRACTIONS.items()
    if e not in NOT_CONTRACTED
]
_NUMBER = re.compile(r"(?<![\d.,])\d+(?![\d]|[.,]\d)")


def typo(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        rng = ctx.rng("q1-typo", i)
        candidates = [w for w in free_words(spec, ctx.inside_entities) if len(w.text) >= 3 and w.text.isalpha()]
        rng.shuffle(candidates)
        for word in candidates:
            positions = [k for k in range(len(word.text) - 1) if word.text[k] != word.text[k + 1]]
            if positions:
                k = rng.choice(positions)
                swapped = word.text[k + 1] + word.text[k]
                yield make_variant(
                    i, spec, "q1-typo", [Edit(word.start + k, word.start + k + 2, swapped)], word=word.text
                )
                break


def punctuation(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        text = spec.text
        end = len(text.rstrip())
        start = end
        while start > 0 and text[start - 1] in END_MARKS:
            start -= 1
        edit, kind = (Edit(start, end, ""), "stripped") if start < end else (Edit(end, end, "."), "added")
        if end and editable(spec, edit, ctx.inside_entities):
            yield make_variant(i, spec, "q1-punctuation", [edit], kind=kind)


def contraction(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        for direction, table in (("expanded", _EXPAND), ("contracted", _CONTRACT)):
            edits = [
                Edit(m.start(), m.end(), match_case(m.group(), replacement))
                for pattern, replacement in table
                for m in pattern.finditer(spec.text)
            ]
            edits = non_overlapping(
                e for e in sorted(edits, key=lambda e: (e.start, -e.end)) if editable(spec, e, ctx.inside_entities)
            )
            if edits:
                yield make_variant(i, spec, "q1-contraction", edits, direction=direction, changed=len(edits))


def number(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        rng = ctx.rng("q1-number", i)
        found: dict[str, list[Edit]] = {}
        for m in _NUMBER.finditer(spec.text):
            if editable(spec, (m.start(), m.end()), ctx.inside_entities):
                found.setdefault(m.group(), []).append(Edit(m.start(), m.end(), m.group()))
        for value in list(found)[:MAX_NUMBERS]:
            new = str(_moved(int(value), rng))
            edits = [Edit(e.start, e.end, new) for e in found[value]]
            yield make_variant(i, spec, "q1-number", edits, original=value, replacement=new)


YEARS = range(1000, 2101)
YEAR_STEP = 10


def _moved(x: int, rng) -> int:
    """x moved by a non-zero step of at most 20% (+1), never below 0 (CheckList's change_number); a year by at
    most YEAR_STEP (20% of a year is centuries: "the 1800s" -> "the 1531s")."""
    bound = YEAR_STEP if x in YEARS else int(x * 0.2) + 1
    steps = [d for d in range(-min(bound, x), bound + 1) if d != 0]
    return x + rng.choice(steps)


def _name_changer(test: str, lists: Mapping[str, Sequence[str]], alone: bool = False):
    """alone: the name must not touch another capitalised word mid-sentence ("Mexico City", "New Mexico")."""
    patterns = {
        kind: re.compile(
            r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w-])"
        )
        for kind, names in lists.items()
    }

    def generate(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
        for i, spec in enumerate(sources):
            rng = ctx.rng(test, i)
            chosen: dict[str, str] = {}
            edits = []
            for kind, pattern in patterns.items():
                for m in pattern.finditer(spec.text):
                    if alone and _joined(spec.text, m):
                        continue
                    if not editable(spec, (m.start(), m.end()), ctx.inside_entities):
                        continue
                    if m.group() not in chosen:
                        chosen[m.group()] = rng.choice([n for n in lists[kind] if n != m.group()])
                    edits.append(Edit(m.start(), m.end(), chosen[m.group()]))
            edits = non_overlapping(edits)
            if edits:
                yield make_variant(
                    i, spec, test, edits, names=", ".join(f"{a} -> {b}" for a, b in chosen.items()), changed=len(edits)
                )

    return generate


def _joined(text: str, m: re.Match) -> bool:
    """Whether the match touches another capitalised word (the start of a sentence aside)."""
    following = re.match(r"\s+[A-Z]", text[m.end() :])
    previous = re.search(r"([A-Z][\w'-]*)\s+$", text[: m.start()])
    return bool(following) or (previous is not None and not sentence_start(text, previous.start()))


person = _name_changer("q1-person", PERSON_LISTS)
location = _name_changer("q1-location", LOCATION_LISTS, alone=True)

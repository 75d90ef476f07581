"""Analysis units: one model input per labelled pair, with the character spans its statistics need.

Which pairs are built (ABSA):

* term data (SemEval-2014 laptops/restaurants terms, MAMS-ATSA, user JSONL terms) with a term
  checkpoint, or with a category checkpoint when the data has no categories: one pair per
  (sentence, aspect term), the term given with its character span (the aspect query is the term
  in the auxiliary sentence, e.g. "what do you think of the soup of it ?" for QA-M);
* category data with a category checkpoint (QA-M, NLI-M, QA-B, NLI-B): one pair per
  (sentence, category) over the checkpoint's categories (else those the data names), label
  "none" when the sentence does not name it. The aspect-term span is the union of the terms the
  data links to that category (user JSONL `category` on a term); without a link, the first
  whole-word occurrence of the category name in the review (encode_absa's default), which is
  what "aspect present" means for the aspect statistics. QA-B / NLI-B pairs use the gold
  polarity's auxiliary sentence;
* ASTE triplet data: one pair per distinct aspect span, with the gold opinion spans of its
  triplets;
* the other aspects of a pair: the other terms of the same sentence (MAMS: two or more per
  sentence), or for category pairs the spans of the sentence's other annotated categories.

Opinion words: gold ASTE opinion spans where the data has them; otherwise the words of the
review found in the opinion lexicon (Hu & Liu) when one is given (the aspect term's own words
excluded); otherwise none.

RE: one input per relation example, entity markers around e1 and e2 (examples with an empty,
masked entity cannot be encoded and are skipped).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.data.readers import AbsaSentence, OpinionLexicon, RelationExample, TargetedSentence, TripletSentence
from app.core.inputs.encoding import (
    B_FORMAT_POLARITIES,
    REVIEW_FIRST_FORMATS,
    EncodedInput,
    encode_absa,
    encode_absa_pairs,
    find_word,
)
from app.core.inputs.relations import encode_relation
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
from app.core.model.errors import InputError

CATEGORY_FORMATS = ("qa-m", "nli-m", "qa-b", "nli-b")

PAIRINGS = ("auto", "terms", "categories")  # which pairs an ABSA dataset becomes (unit_specs)


class AnalysisError(ValueError):
    """The data does not fit the checkpoint (task, format) or holds nothing to analyse."""


@dataclass
class UnitSpec:
    """One pair before tokenisation (cheap: built for the whole file, encoded batch by batch)."""

    sentence_id: str
    text: str
    aspect: str | None = None  # ABSA: the aspect in the auxiliary sentence
    term_spans: tuple[tuple[int, int], ...] = ()  # character spans of the aspect in the review
    opinion_spans: tuple[tuple[int, int], ...] = ()  # gold opinions (ASTE)
    other_spans: tuple[tuple[int, int], ...] = ()  # other aspects of the same sentence
    polarity: str | None = None  # gold label ("none": aspect absent)
    present: bool | None = None  # for the no-op contrast: None when the data cannot say
    relation: RelationExample | None = None


@dataclass
class Unit:
    spec: UnitSpec
    encoded: EncodedInput
    opinion: list[int] = field(default_factory=list)
    opinion_source: str | None = None  # "gold" / "lexicon" / None
    other_aspects: list[int] = field(default_factory=list)


def _category_pairs(sentences: Sequence[AbsaSentence], categories: Sequence[str]) -> list[UnitSpec]:
    specs = []
    for s in sentences:
        polarities = s.category_polarities()
        linked: dict[str, list[tuple[int, int]]] = {}
        for t in s.terms:
            if t.category:
                linked.setdefault(t.category, []).append(t.offsets)
        for category in categories:
            others = tuple(span for c in polarities if c != category for span in _category_spans(c, linked, s.text))
            polarity = polarities.get(category, "none")
            spans = _category_spans(category, linked, s.text)
            specs.append(UnitSpec(s.id, s.text, category, spans, (), others, polarity, present=polarity != "none"))
    return specs


def _category_spans(category: str, linked: dict[str, list[tuple[int, int]]], text: str) -> tuple[tuple[int, int], ...]:
    """The spans of a category in its sentence: its linked terms' offsets, else the category's own word in the text."""
    if category in linked:
        return tuple(linked[category])
    found = find_word(text, category)
    return (found,) if found else ()


def _term_pairs(sentences: Sequence[AbsaSentence]) -> list[UnitSpec]:
    specs = []
    for s in sentences:
        for i, t in enumerate(s.terms):
            others = tuple(o.offsets for j, o in enumerate(s.terms) if j != i and o.offsets != t.offsets)
            specs.append(
                UnitSpec(s.id, s.text, s.text[t.start : t.end] or t.term, (t.offsets,), (), others, t.polarity)
            )
    return specs


def _triplet_pairs(sentences: Sequence[TripletSentence]) -> list[UnitSpec]:
    names = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}
    specs = []
    for s in sentences:
        aspects: dict[tuple[int, int], list] = {}
        for triplet in s.triplets:
            aspects.setdefault(triplet.aspect.offsets, []).append(triplet)
        for offsets, triplets in aspects.items():
            others = tuple(o for o in aspects if o != offsets)
            polarity = names.get(triplets[0].polarity, triplets[0].polarity)
            specs.append(
                UnitSpec(
                    s.id,
                    s.text,
                    s.text[offsets[0] : offsets[1]],
                    (offsets,),
                    tuple(t.opinion.offsets for t in triplets),
                    others,
                    polarity,
                )
            )
    return specs


def sentihood_aspects(info: CheckpointInfo) -> list[str]:
    """The SentiHood aspects a checkpoint was trained on (qa-m / nli-m over them); [] for any other checkpoint."""
    from app.core.data.prepared import SENTIHOOD_ASPECTS

    if info.task != "absa" or info.format not in ("qa-m", "nli-m"):
        return []
    return [a for a in (info.metadata.get("categories") or ()) if a in SENTIHOOD_ASPECTS]


def _target_pairs(sentences: Sequence[TargetedSentence], aspects: Sequence[str]) -> list[UnitSpec]:
    """SentiHood as its checkpoints read it (app.core.data.prepared.sentihood_items, the trainer's order): the
    target's mentions are the aspect term, the other targets' mentions the other aspects."""
    from app.core.data.prepared import sentihood_aspect, sentihood_items, sentihood_targets

    specs = []
    for s, target, aspect, polarity in sentihood_items(sentences, aspects):
        own = tuple(span.offsets for span in s.spans_of(target))
        others = tuple(span.offsets for t in sentihood_targets(s) if t != target for span in s.spans_of(t))
        specs.append(
            UnitSpec(
                s.id, s.text, sentihood_aspect(aspect, target), own, (), others, polarity, present=polarity != "none"
            )
        )
    return specs


def unit_specs(
    checkpoint: LoadedCheckpoint | CheckpointInfo, examples: Sequence[Any], source: str = "data", pairs: str = "auto"
) -> tuple[list[UnitSpec], str]:
    """The pairs to analyse and how they were built ("terms", "categories", "triplets", "targets", "relations").

    pairs: "auto" (category pairs for a category checkpoint on data with categories, else term
    pairs), or force "terms" / "categories" for ABSA sentences that carry both (SemEval-2014
    restaurants). Needs only the checkpoint's info (a CheckpointInfo will do: no weights loaded).
    """
    if pairs not in PAIRINGS:
        raise AnalysisError(f"pairs {pairs!r}: accepted {', '.join(PAIRINGS)}")
    info = checkpoint.info if isinstance(checkpoint, LoadedCheckpoint) else checkpoint
    if not examples:
        raise AnalysisError(f"{source}: no examples")
    if info.task == "re":
        if not all(isinstance(e, RelationExample) for e in examples):
            raise AnalysisError(f"{source}: {info.id} is a relation-extraction checkpoint; give relation data")
        return [UnitSpec(e.id, e.text, relation=e, polarity=e.relation) for e in examples], "relations"
    if all(isinstance(e, TripletSentence) for e in examples):
        return _triplet_pairs(examples), "triplets"
    if all(isinstance(e, TargetedSentence) for e in examples):
        aspects = sentihood_aspects(info)
        if not aspects or pairs == "terms":
            raise AnalysisError(
                f"{source}: SentiHood pairs (location targets x aspects) need a qa-m or nli-m "
                f"checkpoint trained on SentiHood's aspects; {info.id} is {info.format} over "
                f"{', '.join(info.metadata.get('categories') or ()) or 'no recorded categories'}"
            )
        return _target_pairs(examples, aspects), "targets"
    if not all(isinstance(e, AbsaSentence) for e in examples):
        kind = type(next(e for e in examples if not isinstance(e, AbsaSentence))).__name__
        raise AnalysisError(
            f"{source}: {info.id} is an ABSA checkpoint; {kind} data is not supported by the analysis "
            "(give SemEval-2014/MAMS XML, ASTE triplets, SentiHood JSON or headscope JSONL)"
        )
    has_categories = any(s.categories for s in examples)
    has_terms = any(s.terms for s in examples)
    if pairs == "categories" and info.format not in CATEGORY_FORMATS:
        raise AnalysisError(f"{info.id} is a {info.format} checkpoint: category pairs need qa-m, nli-m, qa-b or nli-b")
    if pairs == "categories" and not has_categories:
        raise AnalysisError(f"{source}: no aspect categories in the data")
    if info.format in CATEGORY_FORMATS and has_categories and pairs != "terms":
        categories = info.metadata.get("categories") or list(
            dict.fromkeys(c.category for s in examples for c in s.categories)
        )
        return _category_pairs(examples, categories), "categories"
    if has_terms:
        return _term_pairs(examples), "terms"
    raise AnalysisError(f"{source}: no aspect terms in the data for the {info.format} checkpoint {info.id}")


_WORD = re.compile(r"[A-Za-z][A-Za-z'+-]*")


@functools.lru_cache(maxsize=4)
def _opinion_words(lexicon: OpinionLexicon) -> frozenset[str]:
    """Both polarities' words in one set, built once per lexicon (not once per pair)."""
    return lexicon.positive | lexicon.negative


def _lexicon_spans(text: str, lexicon: OpinionLexicon) -> list[tuple[int, int]]:
    words = _opinion_words(lexicon)
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if m.group().lower() in words]


def encode_unit(
    checkpoint: LoadedCheckpoint, spec: UnitSpec, lexicon: OpinionLexicon | None = None, max_length: int | None = None
) -> Unit | None:
    """Tokenise one pair and map its character spans to token indices; None when it cannot be encoded."""
    info = checkpoint.info
    max_length = max_length or info.max_length
    if info.task == "re":
        e = spec.relation
        assert e is not None, "an RE pair without its relation example"  # unit_specs gives every RE pair its example
        try:
            encoded = encode_relation(
                checkpoint.tokenizer, e.text, max_length, e.e1.offsets, e.e2.offsets, info.entity_markers
            )
        except InputError:
            return None
        return Unit(spec, encoded)
    try:
        encoded = encode_absa(
            checkpoint.tokenizer, spec.text.strip(), _aspect(spec), info.format, max_length, _polarity(info, spec)
        )
    except InputError:
        return None
    return _absa_unit(info, spec, encoded, lexicon)


def encode_units(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    lexicon: OpinionLexicon | None = None,
    max_length: int | None = None,
) -> list[Unit | None]:
    """`encode_unit` of many pairs; ABSA pairs with one tokenizer call (a GPU pass's batches)."""
    info = checkpoint.info
    if info.task == "re":
        return [encode_unit(checkpoint, spec, lexicon, max_length) for spec in specs]
    items = [(spec.text.strip(), _aspect(spec), _polarity(info, spec)) for spec in specs]
    encoded = encode_absa_pairs(checkpoint.tokenizer, items, info.format, max_length or info.max_length)
    return [
        None if isinstance(enc, InputError) else _absa_unit(info, spec, enc, lexicon)
        for spec, enc in zip(specs, encoded)
    ]


def _aspect(spec: UnitSpec) -> str:
    """An ABSA pair's aspect: every ABSA pair names one (only RE pairs leave it None)."""
    assert spec.aspect is not None, "an ABSA pair without an aspect"
    return spec.aspect


def _polarity(info: CheckpointInfo, spec: UnitSpec) -> str | None:
    """The polarity a B-format (QA-B, NLI-B) auxiliary sentence names; None for the other formats."""
    if info.format in ("qa-b", "nli-b"):
        return spec.polarity if spec.polarity in B_FORMAT_POLARITIES else B_FORMAT_POLARITIES[0]
    return None


def _absa_unit(info: CheckpointInfo, spec: UnitSpec, encoded: EncodedInput, lexicon: OpinionLexicon | None) -> Unit:
    """An encoded ABSA pair with the spec's term, other-aspect and opinion spans as token indices."""
    shift = len(spec.text) - len(spec.text.lstrip())
    segment = "a" if info.format in REVIEW_FIRST_FORMATS else "b"

    def tokens(spans: Iterable[tuple[int, int]], exclude: Sequence[int] = ()) -> list[int]:
        found = {i for start, end in spans for i in encoded.char_span_to_tokens(segment, start - shift, end - shift)}
        return sorted(found - set(exclude))

    if spec.term_spans:
        encoded.spans["aspect_term"] = tokens(spec.term_spans)
    term = encoded.spans.get("aspect_term", [])
    unit = Unit(spec, encoded, other_aspects=tokens(spec.other_spans, term))
    if spec.opinion_spans:
        unit.opinion, unit.opinion_source = tokens(spec.opinion_spans), "gold"
    elif lexicon is not None:
        unit.opinion, unit.opinion_source = tokens(_lexicon_spans(spec.text, lexicon), term), "lexicon"
    return unit


def example_record(spec: UnitSpec) -> dict[str, Any]:
    """What the summary page shows of an analysed pair, and the live-inspection input that reproduces it.

    `inspect` holds {text, aspect} as the /inspect page takes them (RE: the text with <e1>/<e2> tags), and for
    ABSA `marks`: the character spans of the review's other aspects and gold opinion words.
    """
    if spec.relation is not None:
        e = spec.relation
        marks = sorted(
            [(e.e1.start, "<e1>"), (e.e1.end, "</e1>"), (e.e2.start, "<e2>"), (e.e2.end, "</e2>")],
            key=lambda m: (m[0], m[1].startswith("</") is False),
        )
        text = e.text
        for offset, tag in reversed(marks):
            text = text[:offset] + tag + text[offset:]
        return {
            "id": spec.sentence_id,
            "text": text,
            "aspect": None,
            "label": spec.polarity,
            "inspect": {"text": text, "aspect": None},
        }
    # the review's other aspects and gold opinion words, for /inspect to highlight (character spans)
    highlights = {"other": [list(s) for s in spec.other_spans], "opinion": [list(s) for s in spec.opinion_spans]}
    return {
        "id": spec.sentence_id,
        "text": spec.text,
        "aspect": spec.aspect,
        "label": spec.polarity,
        "inspect": {"text": spec.text, "aspect": spec.aspect, "marks": {k: v for k, v in highlights.items() if v}},
    }


def gold_label(checkpoint: LoadedCheckpoint, spec: UnitSpec) -> int | None:
    """The gold class index of a pair, built like its input (None: the model has no such class).

    Category pairs: the polarity or "none"; term / triplet pairs: the polarity; RE: the relation
    label. QA-B / NLI-B: "yes" when the pair's auxiliary sentence names the gold polarity (the
    input uses it, see encode_unit), else "no".
    """
    info = checkpoint.info
    label = spec.polarity
    if info.task == "absa" and info.format in ("qa-b", "nli-b"):
        label = "yes" if spec.polarity in B_FORMAT_POLARITIES else "no"
    if label is None or label not in info.labels:
        return None
    return info.labels.index(label)

"""Bias probes of relation extraction, after DiagnoseRE (Li et al. 2021).

* Q4 selection bias (q4-rule-mask): per relation, the words whose TF-IDF over the training file is
  highest are the "rules" that give the relation away; every rule word of a test example's own gold
  relation is removed (DiagnoseRE masks a rule token with an empty token, i.e. deletes it). TF-IDF as
  in DiagnoseRE's generate_rules: a relation's sentences are one document; tf = the word's count in
  the relation / the relation's sentence count; idf = log(relations / (1 + relations using the word)).
  Deviation: words only (DiagnoseRE also scores punctuation tokens), lower-cased.
* Q5 semantic bias: q5-entity-only keeps the two entities and nothing else (in text order, one space
  between); q5-entity-mask replaces each entity's words with the mask token, the markers kept around
  it (DiagnoseRE drops the words, but an empty entity cannot be encoded with markers). The
  "debiased" subset, the examples whose entity-only variant the model gets wrong, needs predictions:
  the runner computes it from q5-entity-only (the registry marks that test `debiasing`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from app.core.data.readers import RelationExample
from app.core.inputs.units import UnitSpec
from app.core.robustness.context import GenerationContext, SuiteError
from app.core.robustness.generators.text import deletion, editable, free_words, non_overlapping, words
from app.core.robustness.variants import Edit, Variant, make_variant

TRAINING_FORMATS = "SemEval-2010 Task 8, OpenNRE json-lines or headscope RE JSONL"


def relation_training(training: Sequence[Any] | None) -> list[RelationExample]:
    """The training examples as relation examples; SuiteError when there are none or they are not RE data."""
    if not training:
        raise SuiteError(f"q4-rule-mask needs a training file ({TRAINING_FORMATS}) to find each relation's rule words")
    wrong = next((e for e in training if not isinstance(e, RelationExample)), None)
    if wrong is not None:
        raise SuiteError(
            f"q4-rule-mask: the training data holds {type(wrong).__name__} examples; "
            f"give relation data ({TRAINING_FORMATS})"
        )
    return list(training)


def selection_rules(training: Sequence[RelationExample], per_relation: int = 5) -> dict[str, list[str]]:
    """relation -> its `per_relation` highest-TF-IDF words (best first; ties alphabetical)."""
    counts: dict[str, Counter] = {}
    sentences: Counter = Counter()
    for example in training:
        sentences[example.relation] += 1
        counts.setdefault(example.relation, Counter()).update(w.lower for w in words(example.text))
    used_by = Counter(word for counter in counts.values() for word in counter)
    relations = len(counts)
    rules = {}
    for relation, counter in counts.items():
        scores = {
            word: count / sentences[relation] * math.log(relations / (1 + used_by[word]))
            for word, count in counter.items()
        }
        rules[relation] = sorted(scores, key=lambda word: (-scores[word], word))[:per_relation]
    return dict(sorted(rules.items(), key=lambda item: -sentences[item[0]]))


def rule_mask(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    rules = selection_rules(relation_training(ctx.training), ctx.rules_per_relation)
    for i, spec in enumerate(sources):
        rule_words = set(rules.get(spec.polarity, ()) if spec.polarity is not None else ())
        relation = spec.relation
        assert relation is not None  # the RE tests' sources are relation pairs, each with its example
        entities = {relation.e1.offsets, relation.e2.offsets}
        # Deleting a word that is a whole entity would leave nothing for its markers to hold.
        found = [
            w
            for w in free_words(spec, ctx.inside_entities)
            if w.lower in rule_words and (w.start, w.end) not in entities
        ]
        edits = non_overlapping(
            e for e in (deletion(spec.text, w) for w in found) if editable(spec, e, ctx.inside_entities)
        )
        if edits:
            masked = sorted({spec.text[e.start : e.end].strip().lower() for e in edits})
            yield make_variant(i, spec, "q4-rule-mask", edits, masked=len(edits), words=", ".join(masked))


def _entities(spec: UnitSpec) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two entity spans in text order; None when they overlap or one is empty (already masked)."""
    relation = spec.relation
    assert relation is not None  # the RE tests' sources are relation pairs, each with its example
    first, second = sorted([relation.e1.offsets, relation.e2.offsets])
    if first[0] == first[1] or second[0] == second[1] or first[1] > second[0]:
        return None
    return first, second


def entity_only(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        spans = _entities(spec)
        if spans is None:
            continue
        (a, b), (c, d) = spans
        text = spec.text
        edits = [Edit(0, a, "")] if a > 0 else []
        if c > b and text[b:c] != " ":  # adjacent entities stay adjacent: an insertion there would join a span
            edits.append(Edit(b, c, " "))
        if d < len(text):
            edits.append(Edit(d, len(text), ""))
        if edits:
            yield make_variant(i, spec, "q5-entity-only", edits)


def entity_mask(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        spans = _entities(spec)
        if spans is not None:
            edits = [Edit(start, end, ctx.mask_token) for start, end in spans]
            yield make_variant(i, spec, "q5-entity-mask", edits, mask=ctx.mask_token)

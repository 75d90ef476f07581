"""From dataset examples (app.core.data.readers) to training/evaluation inputs for each format.

A `PreparedData` holds the classifier's labels, a builder `build(tokenizer) -> [LabelledInput]`
and, per scored unit (a sentence × category, an aspect term, a relation instance), its gold
label and group, so the same object serves training and the benchmarks' metrics:

- ABSA categories, QA-M / NLI-M (Sun et al. 2019): one pair per sentence × category, labels
  positive/neutral/negative/conflict/none ("none" where the sentence does not name the category).
- ABSA categories, QA-B / NLI-B: per sentence × category, one yes/no pair per polarity
  (none included); the unit's label is the polarity whose pair scores highest "yes".
- ABSA terms ("term"): one pair per aspect term (review, term) with its character span;
  positive/neutral/negative (conflict terms are left out, as the ATSA literature does).
- RE: the sentence with entity markers around e1 and e2; one label per directed relation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.data.benchmark_metrics import benchmark_figures, is_semeval2010_labels
from app.core.data.demo import ABSA_LABELS
from app.core.data.readers import AbsaSentence, RelationExample, TargetedSentence
from app.core.data.readers.vocab import SEMEVAL2010_LABELS
from app.core.inputs.encoding import B_FORMAT_POLARITIES, LabelledInput, encode_absa
from app.core.inputs.relations import encode_relation
from app.core.model.checkpoint import ABSA_FORMATS, DEFAULT_ENTITY_MARKERS

CATEGORY_FORMATS = ("qa-m", "nli-m", "qa-b", "nli-b")
B_FORMATS = ("qa-b", "nli-b")
TERM_LABELS = ("positive", "neutral", "negative")
BINARY_LABELS = ("no", "yes")
# Sun et al. 2019 (after Ma et al. 2018) keep SentiHood's four most frequent aspects.
SENTIHOOD_ASPECTS = ("general", "price", "transit-location", "safety")
SENTIHOOD_LABELS = ("positive", "negative", "none")
BENCHMARK_NAMES = {  # benchmark kind -> how a prepared set's metrics name their benchmark
    "sentihood": "sentihood (Sun et al. 2019)",
    "absa-categories": "absa-categories (Sun et al. 2019)",
    "absa-terms": "absa-terms",
    "semeval2010": "semeval2010-task8 (official, directed, Other excluded)",
    "labels": "relation-classification",
}


class ExampleError(ValueError):
    """The data does not fit the asked task or format."""


@dataclass
class PreparedData:
    task: str
    format: str
    labels: tuple[str, ...]  # the classifier's outputs
    golds: list[str]  # one per scored unit
    groups: list[str]  # the unit's sentence, kept on one side of the dev split
    build: Callable[[Any], list[LabelledInput]]
    per_unit: int = 1  # inputs per unit: len(polarities) for QA-B / NLI-B
    metadata: dict[str, Any] = field(default_factory=dict)  # categories, polarities: stored in headscope.json
    added_tokens: tuple[str, ...] = ()
    aspects: list[str] | None = None  # per unit, where a benchmark scores by aspect (SentiHood's AUCs)

    def decode(self, probabilities: Sequence[Sequence[float]]) -> tuple[list[str], list[dict[str, float]]]:
        """Per unit: the predicted label and a {label: score} dict, from the inputs' probabilities."""
        if self.per_unit == 1:
            scores = [dict(zip(self.labels, p)) for p in probabilities]
            return [max(s, key=s.__getitem__) for s in scores], scores
        polarities = self.metadata["polarities"]
        yes = self.labels.index("yes")
        scores = [
            dict(zip(polarities, (row[yes] for row in probabilities[i : i + self.per_unit])))
            for i in range(0, len(probabilities), self.per_unit)
        ]
        return [max(s, key=s.__getitem__) for s in scores], scores

    def metrics(self, predicted: Sequence[str], scores: Sequence[dict[str, float]]) -> dict[str, Any]:
        """The benchmark metrics for this task and format (app.core.data.benchmark_metrics)."""
        kind = self.benchmark_kind()
        figures = benchmark_figures(kind, self.golds, predicted, scores, self.groups, self.aspects)
        return {"benchmark": BENCHMARK_NAMES[kind], **figures}

    def benchmark_kind(self) -> str:
        if self.metadata.get("benchmark") == "sentihood":
            return "sentihood"
        if self.task == "absa":
            return "absa-categories" if self.format in CATEGORY_FORMATS else "absa-terms"
        return "semeval2010" if is_semeval2010_labels(self.labels) else "labels"


def _absa_sentences(examples: Sequence[Any], source: str) -> list[AbsaSentence]:
    wrong = next((e for e in examples if not isinstance(e, AbsaSentence)), None)
    if wrong is not None:
        raise ExampleError(f"{source}: expected ABSA sentences (aspect terms/categories), got {type(wrong).__name__}")
    return list(examples)


def _relations(examples: Sequence[Any], source: str) -> list[RelationExample]:
    wrong = next((e for e in examples if not isinstance(e, RelationExample)), None)
    if wrong is not None:
        raise ExampleError(
            f"{source}: expected relation examples (two entities and a relation), got {type(wrong).__name__}"
        )
    return list(examples)


def absa_categories(
    sentences: Sequence[Any],
    fmt: str,
    categories: Sequence[str] | None = None,
    max_length: int = 128,
    source: str = "data",
) -> PreparedData:
    """Sentence × category pairs in format `fmt`; categories default to those the data names, in order."""
    if fmt not in CATEGORY_FORMATS:
        raise ExampleError(f"format {fmt!r} is not an aspect-category format; accepted: {', '.join(CATEGORY_FORMATS)}")
    sentences = _absa_sentences(sentences, source)
    if categories is None:
        categories = list(dict.fromkeys(c.category for s in sentences for c in s.categories))
    if not categories:
        raise ExampleError(f"{source}: no aspect categories in the data; for aspect terms use --format term")
    golds, groups = [], []
    for s in sentences:
        named = s.category_polarities()
        for category in categories:
            golds.append(named.get(category, "none"))
            groups.append(s.id)
    unknown = sorted({g for g in golds if g not in ABSA_LABELS})
    if unknown:
        raise ExampleError(f"{source}: polarities {unknown} are not among {list(ABSA_LABELS)}")
    binary = fmt in B_FORMATS
    polarities = tuple(B_FORMAT_POLARITIES)

    def build(tokenizer: Any) -> list[LabelledInput]:
        out: list[LabelledInput] = []
        i = 0
        for s in sentences:
            for category in categories:
                gold, i = golds[i], i + 1
                if binary:
                    out.extend(
                        LabelledInput(
                            encode_absa(tokenizer, s.text, category, fmt, max_length, polarity=p), int(p == gold), s.id
                        )
                        for p in polarities
                    )
                else:
                    out.append(
                        LabelledInput(
                            encode_absa(tokenizer, s.text, category, fmt, max_length), ABSA_LABELS.index(gold), s.id
                        )
                    )
        return out

    meta: dict[str, Any] = {"categories": list(categories)}
    if binary:
        meta["polarities"] = list(polarities)
    return PreparedData(
        "absa",
        fmt,
        BINARY_LABELS if binary else tuple(ABSA_LABELS),
        golds,
        groups,
        build,
        len(polarities) if binary else 1,
        meta,
    )


def target_words(target: str) -> str:
    """'LOCATION1' -> 'location - 1', as Sun et al. write SentiHood targets in auxiliary sentences."""
    name = target.rstrip("0123456789")
    return f"{name.lower()} - {target[len(name) :]}" if name != target else target.lower()


def sentihood_aspect(aspect: str, target: str) -> str:
    """The aspect as an auxiliary sentence names it: "safety of location - 1"."""
    return f"{aspect} of {target_words(target)}"


def split_sentihood_aspect(named: str) -> tuple[str, str]:
    """`sentihood_aspect` read back: "safety of location - 1" -> ("safety", "location - 1")."""
    aspect, _, target = named.partition(" of ")
    return aspect, target


def sentihood_targets(sentence: TargetedSentence) -> list[str]:
    """The sentence's location targets (mentioned or given an opinion), in a fixed order."""
    return sorted({m.target for m in sentence.mentions} | {o.target for o in sentence.opinions})


def sentihood_items(
    sentences: Sequence[TargetedSentence], aspects: Sequence[str]
) -> Iterator[tuple[TargetedSentence, str, str, str]]:
    """(sentence, target, aspect, polarity) per sentence × target × aspect, "none" where not discussed: the
    order the trainer's inputs and the analysis's pairs both follow."""
    for sentence in sentences:
        opinions = {(o.target, o.aspect): o.polarity for o in sentence.opinions}
        for target in sentihood_targets(sentence):
            for aspect in aspects:
                yield sentence, target, aspect, opinions.get((target, aspect), "none")


def sentihood_units(sentences: Sequence[Any], fmt: str, max_length: int = 128, source: str = "data") -> PreparedData:
    """SentiHood: one unit per (sentence, target) × the four aspects, "none" where not discussed.

    The auxiliary sentence's aspect is "<aspect> of location - 1" (QA-M: "what do you think of the
    safety of location - 1 of it ?"; NLI-M: "safety of location - 1"). Groups are (sentence, target),
    as SentiHood's aspect F1 and strict accuracy need. Labels: positive, negative, none.
    """
    if fmt not in ("qa-m", "nli-m"):
        raise ExampleError(f"SentiHood is trained in qa-m or nli-m here, not {fmt!r}")
    units = list(sentihood_items(sentences, SENTIHOOD_ASPECTS))
    if not units:
        raise ExampleError(f"{source}: no SentiHood targets")
    unknown = sorted({u[3] for u in units} - set(SENTIHOOD_LABELS))
    if unknown:
        raise ExampleError(f"{source}: polarities {unknown} are not among {list(SENTIHOOD_LABELS)}")

    def build(tokenizer: Any) -> list[LabelledInput]:
        return [
            LabelledInput(
                encode_absa(tokenizer, s.text, sentihood_aspect(aspect, target), fmt, max_length),
                SENTIHOOD_LABELS.index(gold),
                s.id,
            )
            for s, target, aspect, gold in units
        ]

    return PreparedData(
        "absa",
        fmt,
        SENTIHOOD_LABELS,
        [u[3] for u in units],
        [f"{u[0].id}/{u[1]}" for u in units],
        build,
        metadata={"benchmark": "sentihood", "categories": list(SENTIHOOD_ASPECTS)},
        aspects=[u[2] for u in units],
    )


def absa_terms(sentences: Sequence[Any], max_length: int = 128, source: str = "data") -> PreparedData:
    """One (review, aspect term) pair per term with a positive/neutral/negative polarity."""
    sentences = _absa_sentences(sentences, source)
    pairs = [(s, t) for s in sentences for t in s.terms if t.polarity in TERM_LABELS]
    if not pairs:
        raise ExampleError(
            f"{source}: no aspect terms with a positive/neutral/negative polarity; "
            "for aspect categories use --format qa-m, nli-m, qa-b or nli-b"
        )
    dropped = sum(len(s.terms) for s in sentences) - len(pairs)

    def build(tokenizer: Any) -> list[LabelledInput]:
        return [
            LabelledInput(
                encode_absa(tokenizer, s.text, t.term, "term", max_length, aspect_span=t.offsets),
                TERM_LABELS.index(t.polarity),
                s.id,
            )
            for s, t in pairs
        ]

    return PreparedData(
        "absa",
        "term",
        TERM_LABELS,
        [t.polarity for _, t in pairs],
        [s.id for s, _ in pairs],
        build,
        metadata={"dropped_terms": dropped},
    )


def relation_labels(examples: Sequence[RelationExample]) -> tuple[str, ...]:
    """SemEval-2010's 19 labels when the data uses only those; else the data's labels, sorted."""
    found = {e.relation for e in examples}
    if found <= set(SEMEVAL2010_LABELS):
        return tuple(SEMEVAL2010_LABELS)
    return tuple(sorted(found))


def relations(
    examples: Sequence[Any],
    labels: Sequence[str] | None = None,
    max_length: int = 128,
    markers: Sequence[str] = DEFAULT_ENTITY_MARKERS,
    source: str = "data",
) -> PreparedData:
    """Entity-marked sentences; `labels` default to relation_labels(examples). Gold labels the
    classifier does not know (evaluating on other data) count as wrong, never as an error."""
    examples = _relations(examples, source)
    if not examples:
        raise ExampleError(f"{source}: no relation examples")
    labels = tuple(labels) if labels is not None else relation_labels(examples)

    def build(tokenizer: Any) -> list[LabelledInput]:
        return [
            LabelledInput(
                encode_relation(tokenizer, e.text, max_length, e.e1.offsets, e.e2.offsets, markers),
                labels.index(e.relation) if e.relation in labels else -1,
                e.id,
            )
            for e in examples
        ]

    return PreparedData(
        "re",
        "re-markers",
        labels,
        [e.relation for e in examples],
        [e.id for e in examples],
        build,
        added_tokens=tuple(markers),
    )


def prepare(
    task: str,
    fmt: str,
    examples: Sequence[Any],
    max_length: int = 128,
    labels: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    source: str = "data",
) -> PreparedData:
    if task == "re":
        return relations(examples, labels, max_length, source=source)
    if task != "absa":
        raise ExampleError(f"unknown task {task!r}; accepted: absa, re")
    if examples and isinstance(examples[0], TargetedSentence):
        return sentihood_units(examples, fmt, max_length, source)
    if fmt == "term":
        return absa_terms(examples, max_length, source)
    if fmt not in ABSA_FORMATS:
        raise ExampleError(f"unknown ABSA format {fmt!r}; accepted: {', '.join(ABSA_FORMATS)}")
    return absa_categories(examples, fmt, categories, max_length, source)

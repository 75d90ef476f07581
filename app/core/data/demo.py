"""Readers for the demo data shipped in app/demo_data (JSON lines, written for this project).

restaurants.jsonl: {"id", "text", "terms": [{"term", "from", "to", "polarity", "category"}],
                    "categories": [{"category", "polarity"}]}; unlisted categories are absent.
relations.jsonl:   {"id", "text" with <e1>..</e1> and <e2>..</e2>, "relation"}

They yield the same typed examples as the benchmark loaders (app.core.data.readers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from app.core.data.readers.examples import AbsaSentence, AspectCategory, AspectTerm, RelationExample, char_span
from app.core.data.readers.formats import Dataset
from app.core.data.readers.semeval2010 import strip_entity_tags

RESTAURANT_CATEGORIES = ("food", "service", "price", "ambience", "anecdotes/miscellaneous")
ABSA_LABELS = ("positive", "neutral", "negative", "conflict", "none")
DEMO_OPINION_WORDS = "opinion_words"  # the demo reviews' own opinion words, in the Hu & Liu lexicon's layout


def demo_file(name: str) -> Path:
    return Path(str(resources.files("app.demo_data") / name))


def _json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc


def read_review_sentences(path: Path | None = None) -> list[AbsaSentence]:
    path = path or demo_file("restaurants.jsonl")
    sentences = []
    for number, row in _json_lines(path):
        terms = tuple(
            AspectTerm(t["term"], t["from"], t["to"], t["polarity"], t.get("category")) for t in row.get("terms", [])
        )
        for term in terms:
            if row["text"][term.start : term.end] != term.term:
                raise ValueError(f"{path}:{number}: term {term.term!r} is not at [{term.start}, {term.end})")
        categories = tuple(AspectCategory(c["category"], c["polarity"]) for c in row.get("categories", []))
        sentences.append(AbsaSentence(row["id"], row["text"], terms, categories))
    return sentences


def read_relation_sentences(path: Path | None = None) -> list[RelationExample]:
    path = path or demo_file("relations.jsonl")
    examples = []
    for _, row in _json_lines(path):
        clean, e1, e2 = strip_entity_tags(row["text"])
        examples.append(
            RelationExample(row["id"], clean, char_span(clean, *e1), char_span(clean, *e2), row["relation"])
        )
    return examples


@dataclass(frozen=True)
class DemoDataset:
    name: str
    task: str
    file: str
    description: str
    read: Callable[[], list]


DEMO_DATASETS = {
    d.name: d
    for d in (
        DemoDataset(
            "demo-absa",
            "absa",
            "restaurants.jsonl",
            "610 demo restaurant reviews with aspect terms and categories (the demo ABSA model's training data)",
            read_review_sentences,
        ),
        DemoDataset(
            "demo-re",
            "re",
            "relations.jsonl",
            "320 demo sentences with <e1>/<e2> entities and SemEval-2010 relations (the demo RE model's training data)",
            read_relation_sentences,
        ),
    )
}


def demo_dataset(name: str) -> Dataset:
    """The bundled demo data `name` (DEMO_DATASETS) as a Dataset; KeyError when there is none.

    The demo files have their own JSON-lines layout, so load_dataset does not read them; this does.
    """
    demo = DEMO_DATASETS[name]
    return Dataset(demo_file(demo.file), name, tuple(demo.read()))

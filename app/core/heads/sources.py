"""Named analysis datasets: the demo data bundled with headscope, as loaded `Dataset`s.

The demo files (app/demo_data) have their own JSON-lines layout (read by app.core.demo_data), so
`load_dataset` does not read them; `demo_dataset(name)` does, and `analyze` takes the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app.core.datasets import Dataset
from app.core.demo_data import demo_file, read_relation_sentences, read_review_sentences


@dataclass(frozen=True)
class DemoDataset:
    name: str
    task: str
    file: str
    description: str
    read: Callable[[], list]


DEMO_DATASETS = {d.name: d for d in (
    DemoDataset("demo-absa", "absa", "restaurants.jsonl",
                "320 demo restaurant reviews with aspect terms and categories (the demo ABSA model's training data)",
                read_review_sentences),
    DemoDataset("demo-re", "re", "relations.jsonl",
                "320 demo sentences with <e1>/<e2> entities and SemEval-2010 relations (the demo RE model's training data)",
                read_relation_sentences),
)}


def demo_dataset(name: str) -> Dataset:
    """The bundled demo data `name` (DEMO_DATASETS) as a Dataset; KeyError when there is none."""
    demo = DEMO_DATASETS[name]
    return Dataset(demo_file(demo.file), name, tuple(demo.read()))

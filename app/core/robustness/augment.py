"""DiagnoseRE's remedy: train on the original data plus the variants a robustness test makes of it.

`augment_examples` runs the chosen offline tests (catalog.py) over the training examples and turns
every variant back into a training example of the data's own kind: a RelationExample (RE, with the
variant's gold label, e.g. the masked-entity copy keeps its relation) or a one-term AbsaSentence
(aspect-term models; RevTgt's flipped polarity included). Category models are refused: a variant
edits one (sentence, category) pair, and a category sentence trains every category at once.
Tests that need the model (attacks, counterfactuals) are not offline and are refused too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.data.readers import AbsaSentence, AspectTerm, OpinionLexicon
from app.core.inputs.units import unit_specs
from app.core.model.checkpoint import CheckpointInfo
from app.core.robustness.context import GenerationContext, SuiteError
from app.core.robustness.generators import catalog
from app.core.robustness.variants import Variant

AUGMENTABLE_FORMATS = ("re-markers", "term")


def augment_examples(
    task: str,
    fmt: str,
    examples: Sequence[Any],
    tests: Sequence[str],
    *,
    seed: int = 0,
    lexicon: OpinionLexicon | None = None,
) -> list[tuple[str, Any]]:
    """[(test name, new training example)] for every variant the tests make of `examples`."""
    if fmt not in AUGMENTABLE_FORMATS:
        raise SuiteError(
            f"augmentation trains on edited pairs: accepted formats {', '.join(AUGMENTABLE_FORMATS)} "
            f"(relation models and aspect-term models), not {fmt}"
        )
    info = CheckpointInfo(
        id="training data",
        path=Path("."),
        task=task,
        format=fmt,
        labels=(),
        num_layers=0,
        num_heads=0,
        max_length=0,
        model_type="",
    )
    sources, _ = unit_specs(info, list(examples), "training data", "terms" if task == "absa" else "auto")
    context = GenerationContext(seed=seed, lexicon=lexicon, training=list(examples))
    suite = catalog.build_suite(list(tests), sources, context, task)
    return [(v.test, training_example(v, i)) for i, v in enumerate(suite.variants)]


def training_example(variant: Variant, index: int) -> Any:
    spec = variant.spec
    if spec.relation is not None:
        return spec.relation
    start, end = spec.term_spans[0]
    assert spec.polarity is not None  # term pairs carry their gold polarity; a variant keeps or flips it
    term = AspectTerm(spec.text[start:end], start, end, spec.polarity)
    return AbsaSentence(f"{spec.sentence_id}#{variant.test}#{index}", spec.text, (term,), ())

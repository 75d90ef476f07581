"""The columnar token masks of a batch (inputs/unit_batch.py, heads/token_masks.py) equal the per-pair ones
(encode_unit -> batched.batch_masks) on the shared benchmark data: SemEval-2014 terms with lexicon opinions and
category pairs, ASTE gold opinions in review-second formats, SentiHood targets, MAMS's other aspects, relation
entities, and pairs truncated to a short max_length. Skipped when HEADSCOPE_SHARED_DATA is absent."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from app.core.attribution import content_mask, entity_start_ids, query_tokens, query_weights
from app.core.data.prepared import SENTIHOOD_ASPECTS
from app.core.data.readers import load_dataset, load_opinion_lexicon
from app.core.heads.batched import batch_masks
from app.core.heads.interpretability import InterpretabilityAccumulator, interpretability_words
from app.core.heads.token_masks import column_masks, interpretability_columns, readout_weights
from app.core.inputs.unit_batch import encode_unit_batch
from app.core.inputs.units import encode_unit, unit_specs
from app.core.model.checkpoint import LoadedCheckpoint

SHARED = Path(os.environ.get("HEADSCOPE_SHARED_DATA", "/nonexistent"))
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="HEADSCOPE_SHARED_DATA is not set or absent")
PAIRS = 400  # per case: enough to meet every span kind, quick on a busy machine


def as_format(checkpoint: LoadedCheckpoint, fmt: str, **metadata) -> LoadedCheckpoint:
    info = replace(checkpoint.info, format=fmt, metadata={**checkpoint.info.metadata, **metadata})
    return replace(checkpoint, info=info)


def assert_same(checkpoint: LoadedCheckpoint, examples, lexicon=None, max_length=None, pairs="auto", batch=64):
    specs, _ = unit_specs(checkpoint, list(examples), pairs=pairs)
    specs = specs[:PAIRS]
    task = checkpoint.info.task
    start_ids = entity_start_ids(checkpoint.info, checkpoint.tokenizer)
    spans = ("e1", "e2") if task == "re" else ("aspect_term",)
    checked = truncated = 0
    for start in range(0, len(specs), batch):
        chunk = specs[start : start + batch]
        columns = encode_unit_batch(checkpoint, chunk, lexicon, max_length)
        units = [encode_unit(checkpoint, spec, lexicon, max_length) for spec in chunk]
        assert columns.kept == [i for i, unit in enumerate(units) if unit is not None]
        units = [unit for unit in units if unit is not None]
        if not units:
            continue
        length = max(len(u.encoded.input_ids) for u in units)
        assert columns.columns.ids.shape[1] == length
        expected = batch_masks(task, units, length)
        found = column_masks(task, columns)
        assert sorted(found) == sorted(expected)
        for name, mask in expected.items():
            assert torch.equal(found[name], mask), f"{name} differs"
        # what the interpretability rate and the agreement read, and each unit materialised from the columns
        reference, columnar = InterpretabilityAccumulator(), InterpretabilityAccumulator()
        attention = torch.rand(len(units), 1, 2, length, length)
        reference.add_batch(attention, *zip(*[interpretability_words(u.encoded, spans) for u in units]))
        columnar.add_columns(attention, *interpretability_columns(columns, spans))
        assert (reference.count, reference.hits, reference.random_total) == (
            columnar.count,
            columnar.hits,
            columnar.random_total,
        )
        assert torch.equal(columnar.head_hits, reference.head_hits) if reference.count else True
        weights = torch.stack(
            [query_weights(query_tokens(u.encoded, "readout", task, start_ids), length) for u in units]
        )
        assert torch.equal(readout_weights(columns, start_ids, None), weights)
        content = torch.stack([content_mask(u.encoded, length) for u in units])
        assert torch.equal(torch.from_numpy(columns.columns.content), content)
        for row, unit in enumerate(units):
            built = columns.units[row]
            assert built.encoded == unit.encoded
            assert (built.opinion, built.opinion_source, built.other_aspects) == (
                unit.opinion,
                unit.opinion_source,
                unit.other_aspects,
            )
            truncated += unit.encoded.truncated is not None
        checked += len(units)
    assert checked
    return checked, truncated


@pytest.fixture(scope="module")
def lexicon():
    return load_opinion_lexicon(SHARED / "opinion_lexicon")


def test_semeval_terms_with_lexicon_opinions_and_categories(tiny_absa, lexicon):
    data = load_dataset(SHARED / "semeval2014_task4/xml/Restaurants_Test_Gold.xml").examples
    checked, _ = assert_same(tiny_absa, data, lexicon, pairs="terms")
    categories = as_format(
        tiny_absa, "qa-m", categories=["food", "service", "price", "ambience", "anecdotes/miscellaneous"]
    )
    assert_same(categories, data, lexicon, pairs="categories")
    assert_same(as_format(categories, "nli-b"), data, None, pairs="categories")
    assert checked == PAIRS


def test_aste_gold_opinions_review_second(tiny_absa):
    data = load_dataset(SHARED / "aste_v2/14res/test_triplets.txt").examples
    for fmt in ("qa-b", "nli-m"):
        assert_same(as_format(tiny_absa, fmt), data)


def test_sentihood_targets_and_mams_other_aspects(tiny_absa):
    sentihood = as_format(tiny_absa, "qa-m", categories=list(SENTIHOOD_ASPECTS))
    assert_same(sentihood, load_dataset(SHARED / "sentihood/sentihood-test.json").examples)
    assert_same(tiny_absa, load_dataset(SHARED / "mams/atsa/val.xml").examples, pairs="terms")


def test_relation_entities(tiny_relation):
    data = load_dataset(SHARED / "semeval2010_task8/TEST_FILE_FULL.TXT").examples
    assert_same(tiny_relation, data)


def test_truncated_pairs(tiny_absa, tiny_relation, lexicon):
    data = load_dataset(SHARED / "semeval2014_task4/xml/Restaurants_Test_Gold.xml").examples
    _, truncated = assert_same(tiny_absa, data, lexicon, max_length=32, pairs="terms")
    assert truncated > 50
    _, truncated = assert_same(as_format(tiny_absa, "qa-b"), data, lexicon, max_length=32, pairs="terms")
    assert truncated > 50
    relations = load_dataset(SHARED / "semeval2010_task8/TEST_FILE_FULL.TXT").examples
    assert_same(tiny_relation, relations, max_length=20)

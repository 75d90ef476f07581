"""Activation patching (app/core/passes/patching.py) on tiny BERTs, correct by construction: patching
nothing is the corrupted run bit for bit, the residual stream patched at every position of any layer is
the clean run, each patch row equals its own separate forward, and in a hand-built model whose label only
head (1, 0) carries, that head alone restores the clean run's logit difference."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from planted_model import planted_model  # tests/ is on sys.path (rootdir conftest)
from tiny_model import tiny_checkpoint

from app.core.model.hooks import EMBEDDING_OUTPUT, block_out, cache, head_out, hooks, replace_heads
from app.core.passes import patching
from app.core.passes.inspection import InspectionInput, batch_inputs, prepare_inspection
from app.core.passes.patching import Patch, patched_logits, patching_map

# Same token count, one word changed; and a shorter input that flips the planted model's label.
CLEAN = InspectionInput("The food was great.", "food")
SAME_LENGTH = InspectionInput("The food was awful.", "food")
SHORTER = InspectionInput("Great food.", "food")


@pytest.fixture(scope="module")
def tiny():
    return tiny_checkpoint("absa", seed=1)


def prepared(loaded, *items):
    return [prepare_inspection(loaded, item) for item in items]


def plain(loaded, one):
    with torch.no_grad():
        return loaded.model(**batch_inputs(loaded, [one])).logits.float()


def every_position(one):
    return [[(i, i) for i in range(len(one.encodeds[0].input_ids))]]


def test_patching_nothing_is_the_corrupted_run_bit_for_bit(tiny):
    clean, corrupted = prepared(tiny, CLEAN, SHORTER)
    runs = patched_logits(tiny, corrupted, clean, [[(0, 0)]], [Patch(())])
    assert torch.equal(runs.patched[0], plain(tiny, corrupted))
    assert torch.equal(runs.target, plain(tiny, corrupted)) and torch.equal(runs.source, plain(tiny, clean))


@pytest.mark.parametrize("point", [EMBEDDING_OUTPUT, block_out(0), block_out(1)])
def test_the_residual_stream_at_every_position_of_a_layer_is_the_clean_run(tiny, point):
    clean, corrupted = prepared(tiny, CLEAN, SAME_LENGTH)
    runs = patched_logits(tiny, corrupted, clean, every_position(clean), [Patch((point,))])
    assert torch.allclose(runs.patched[0], plain(tiny, clean), atol=1e-5)
    # the two inputs do differ, by more than the patched run differs from the clean one
    assert (runs.target - runs.source).abs().max() > 100 * (runs.patched[0] - runs.source).abs().max()


def test_the_last_layer_at_cls_alone_is_the_clean_run_for_a_cls_classifier(tiny):
    clean, corrupted = prepared(tiny, CLEAN, SHORTER)
    runs = patched_logits(tiny, corrupted, clean, [[(0, 0), (2, 1)]], [Patch((block_out(1),), None, 0)])
    assert torch.allclose(runs.patched[0], plain(tiny, clean), atol=1e-5)


def test_each_head_row_equals_its_own_separate_forward(tiny):
    clean, corrupted = prepared(tiny, CLEAN, SHORTER)
    pairs = [(0, 0), (3, 2)]  # (clean position, corrupted position)
    runs = patched_logits(tiny, corrupted, clean, [pairs], [Patch((head_out(0),), 1)])
    clean_out, own = {}, {}
    with torch.no_grad():
        with hooks(tiny.model, {head_out(0): cache(clean_out)}):
            tiny.model(**batch_inputs(tiny, [clean]))
        with hooks(tiny.model, {head_out(0): cache(own)}):
            tiny.model(**batch_inputs(tiny, [corrupted]))
        source = own[head_out(0)].clone()  # the corrupted run's own outputs where nothing is aligned
        for at_clean, at_corrupted in pairs:
            source[:, at_corrupted] = clean_out[head_out(0)][:, at_clean]
        with hooks(tiny.model, {head_out(0): replace_heads(source, [1])}):
            separate = tiny.model(**batch_inputs(tiny, [corrupted])).logits
    assert torch.allclose(runs.patched[0], separate, atol=1e-6)


def test_a_map_in_many_small_batches_is_the_same_map(monkeypatch):
    planted = planted_model(value_bias=0.5)  # two labels, so a logit difference that is not 0
    clean, corrupted = prepared(planted, CLEAN, SHORTER)
    alignment = [[(0, 0), (2, 1), (5, 3)]]
    whole = patching_map(planted, clean, corrupted, alignment).raw
    monkeypatch.setattr(patching, "MAX_ROWS", 3)
    small = patching_map(planted, clean, corrupted, alignment).raw
    for part in ("heads", "residual"):
        assert small[part] == pytest.approx(whole[part], abs=1e-6)
    assert len(set(whole["residual"])) > 1


def test_the_planted_head_alone_restores_the_clean_difference():
    planted = planted_model(value_bias=0.5)
    clean, corrupted = prepared(planted, CLEAN, SHORTER)
    alignment = [[(0, 0), (2, 1), (5, 3)]]  # [CLS], "food", "." of the review
    found = patching_map(planted, clean, corrupted, alignment, "denoise")
    assert (found.clean_label, found.corrupted_label) == planted.info.labels[:2]
    assert found.clean_difference > 1 and found.corrupted_difference < -1
    assert found.heads[1][0] >= 0.9
    assert max(abs(found.heads[layer][head]) for layer, head in ((0, 0), (0, 1), (1, 1))) < 1e-6
    noised = patching_map(planted, clean, corrupted, alignment, "noise")
    assert abs(noised.heads[1][0]) < 0.1  # the corrupted head alone undoes the clean prediction
    assert min(noised.heads[layer][head] for layer, head in ((0, 0), (0, 1), (1, 1))) > 1 - 1e-6


def test_the_residual_map_has_a_row_per_layer_input_and_a_column_per_aligned_pair():
    planted = planted_model(value_bias=0.5)
    clean, corrupted = prepared(planted, CLEAN, SHORTER)
    alignment = [[(0, 0), (2, 1), (5, 3)]]
    found = patching_map(planted, clean, corrupted, alignment)
    assert found.residual_points == [EMBEDDING_OUTPUT, block_out(0), block_out(1)]
    assert [len(row) for row in found.residual] == [3, 3, 3] and found.columns == alignment[0]
    # the last layer's [CLS] is all the classifier reads: all of the difference; its other tokens nothing
    assert found.residual[-1][0] == pytest.approx(1.0, abs=1e-5)
    assert found.residual[-1][1] == pytest.approx(0.0, abs=1e-6)


def test_the_same_label_on_both_sides_has_no_fraction_and_says_why():
    planted = planted_model(value_bias=0.5)
    clean, corrupted = prepared(planted, CLEAN, SAME_LENGTH)  # both predict the first label
    found = patching_map(planted, clean, corrupted, every_position(clean))
    assert found.undefined is not None and "both inputs predict" in found.undefined
    assert all(value is None for row in found.heads + found.residual for value in row)
    assert found.to_json()["heads"][0][0] is None


def test_an_unknown_direction_or_no_alignment_is_refused(tiny):
    clean, corrupted = prepared(tiny, CLEAN, SHORTER)
    with pytest.raises(ValueError, match="accepted denoise, noise"):
        patching_map(tiny, clean, corrupted, [[(0, 0)]], "sideways")
    with pytest.raises(ValueError, match="no aligned tokens"):
        patching_map(tiny, clean, corrupted, [[]])


def test_a_qa_b_checkpoints_rows_are_patched_each_with_its_own_alignment(tiny):
    # QA-B scores one row per polarity (padded to the longest): each row's residual stream patched whole
    qa_b = dataclasses.replace(tiny, info=dataclasses.replace(tiny.info, format="qa-b"))
    clean, corrupted = prepared(qa_b, CLEAN, SAME_LENGTH)
    assert len(clean.encodeds) > 1
    alignment = [[(i, i) for i in range(len(row.input_ids))] for row in clean.encodeds]
    runs = patched_logits(qa_b, corrupted, clean, alignment, [Patch((block_out(0),)), Patch(())])
    assert torch.allclose(runs.patched[0], runs.source, atol=1e-5)
    assert torch.allclose(runs.patched[1], runs.target, atol=1e-6)
    assert (runs.target - runs.source).abs().max() > 100 * (runs.patched[0] - runs.source).abs().max()

"""Faithfulness by erasure on the tiny test BERT: a worked example recomputed by hand (one unbatched forward
per erased input, the ranking sorted in Python), erasure that keeps a pair's structure, and the bad requests."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from faithfulness_support import LIVE_SOURCES
from tiny_model import tiny_checkpoint

from app.core.attribution import gradient_x_input
from app.core.faithfulness import FaithfulnessRequest, erasable_mask, erased_inputs, evaluate_input
from app.core.faithfulness.erasure import replacement_id
from app.core.faithfulness.metrics import token_counts
from app.core.model.errors import InputError
from app.core.passes.inspection import InspectionInput, inspect

REVIEW = "The pasta was great but the waiter was rude."


@pytest.fixture(scope="module")
def loaded():
    return tiny_checkpoint("absa", seed=3, layers=2, heads=2)


@pytest.fixture(scope="module")
def inspection(loaded):
    return inspect(loaded, InspectionInput(REVIEW, "waiter"))


def probability_alone(loaded, ids: list[int], types: list[int], target: int) -> float:
    """p(target) from one forward of one hand-built input (no batch, no padding)."""
    with torch.inference_mode():
        logits = loaded.model(
            input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids)), token_type_ids=torch.tensor([types])
        ).logits
    return float(logits.softmax(-1)[0, target])


def test_worked_example_matches_hand_computed_probabilities(loaded, inspection):
    """grad x input's comprehensiveness and sufficiency per k and their AOPC, recomputed from scratch."""
    report = evaluate_input(loaded, inspection, FaithfulnessRequest(methods=("grad_x_input",)))
    encoded = inspection.encoded
    target = list(loaded.info.labels).index(inspection.prediction.label)
    ids, types = encoded.input_ids, encoded.token_type_ids
    # erasable by hand: the review's words, not [CLS]/[SEP], not the question, not the aspect term "waiter"
    erasable = [i for i, t in enumerate(encoded.tokens) if t.segment == "a" and not t.special and t.text != "waiter"]
    assert report.erasable == erasable
    scores = gradient_x_input(loaded.model, encoded.model_inputs(), torch.tensor([target]))[0].tolist()
    ranked = sorted(erasable, key=lambda i: (-scores[i], i))
    full = probability_alone(loaded, ids, types, target)
    assert report.probability == pytest.approx(full, abs=1e-6)
    counts = [min(len(erasable), max(1, math.ceil(k / 100 * len(erasable) - 1e-9))) for k in (1, 5, 10, 20, 50)]
    assert report.k_tokens == counts
    comprehensiveness, sufficiency = [], []
    for n in counts:
        top = set(ranked[:n])
        without = [i for i in range(len(ids)) if i not in top]
        only = [i for i in range(len(ids)) if i in top or i not in erasable]
        comprehensiveness.append(
            full - probability_alone(loaded, [ids[i] for i in without], [types[i] for i in without], target)
        )
        sufficiency.append(full - probability_alone(loaded, [ids[i] for i in only], [types[i] for i in only], target))
    source = report.sources["grad_x_input"]
    assert source.comprehensiveness == pytest.approx(comprehensiveness, abs=1e-5)
    assert source.sufficiency == pytest.approx(sufficiency, abs=1e-5)
    assert source.aopc["comprehensiveness"] == pytest.approx(sum(comprehensiveness) / 5, abs=1e-5)
    assert source.aopc["sufficiency"] == pytest.approx(sum(sufficiency) / 5, abs=1e-5)
    # sufficiency at 100% of the erasable tokens keeps the whole input: nothing may be lost
    whole = evaluate_input(loaded, inspection, FaithfulnessRequest(methods=("grad_x_input",), k_percents=(100.0,)))
    assert whole.sources["grad_x_input"].sufficiency == pytest.approx([0.0], abs=1e-6)


def test_every_source_scored_and_normalised_within_its_bounds(loaded, inspection):
    report = evaluate_input(loaded, inspection, FaithfulnessRequest())
    assert set(report.sources) == LIVE_SOURCES
    for method in ("attention", "norm_attention"):
        for name in ("aopc_comprehensiveness", "aopc_sufficiency", "normalised_comprehensiveness"):
            assert torch.tensor(report.heads[method][name]).shape == (2, 2)
    for source in report.sources.values():
        for metric, value in source.normalised.items():
            assert -1e-9 <= value <= 1 + 1e-9, (metric, value)
    assert report.rows["run"] < report.rows["asked"]  # identical erasures ran once


def test_removal_keeps_sep_segments_and_the_question_of_a_pair(loaded, inspection):
    encoded = inspection.encoded
    erasable = erasable_mask(encoded, "absa", "qa-m")
    review_words = [i for i, t in enumerate(encoded.tokens) if t.segment == "a" and not t.special]
    seps = [i for i, t in enumerate(encoded.tokens) if t.special and i > 0]
    question = [i for i, t in enumerate(encoded.tokens) if t.segment == "b" and not t.special]
    assert not erasable[seps].any() and not erasable[question].any() and not erasable[0]
    rows = torch.zeros(3, len(encoded.input_ids), dtype=torch.bool)
    rows[0, review_words[:2]] = True  # two review tokens
    rows[1] = erasable  # everything erasable
    batch = erased_inputs(encoded.model_inputs(), rows, None, loaded.tokenizer.pad_token_id)
    sep = loaded.tokenizer.sep_token_id
    for row in range(3):
        n = int(batch["attention_mask"][row].sum())
        ids = batch["input_ids"][row, :n].tolist()
        types = batch["token_type_ids"][row, :n].tolist()
        kept = [i for i in range(len(encoded.input_ids)) if not rows[row, i]]
        assert ids == [encoded.input_ids[i] for i in kept]
        assert types == [encoded.token_type_ids[i] for i in kept]  # segment ids travel with their tokens
        assert ids.count(sep) == 2 and ids[0] == loaded.tokenizer.cls_token_id
        assert ids[-len(question) - 1 : -1] == [encoded.input_ids[i] for i in question]
        assert types[-len(question) - 1 :] == [1] * (len(question) + 1)


def test_mask_erasure_replaces_in_place(loaded, inspection):
    encoded = inspection.encoded
    erasable = erasable_mask(encoded, "absa", "qa-m", erase_targets=True)
    assert erasable[encoded.spans["aspect_term"]].all()
    mask_id = replacement_id(loaded.tokenizer, "mask")
    batch = erased_inputs(encoded.model_inputs(), erasable.unsqueeze(0), mask_id, 0)
    expected = [mask_id if e else t for t, e in zip(encoded.input_ids, erasable.tolist())]
    assert batch["input_ids"][0].tolist() == expected
    assert batch["token_type_ids"][0].tolist() == encoded.token_type_ids


def test_k_counts_round_up_to_at_least_one_token():
    assert token_counts((1, 5, 10, 20, 50), 7) == [1, 1, 1, 2, 4]
    assert token_counts((100,), 7) == [7]


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        (FaithfulnessRequest(methods=("attention", "lime")), "accepted: attention, head_mean"),
        (FaithfulnessRequest(k_percents=(0.0, 10.0)), "(0, 100]"),
        (FaithfulnessRequest(k_percents=(150.0,)), "(0, 100]"),
        (FaithfulnessRequest(erasure="delete"), "accepted: remove, mask, pad"),
    ],
)
def test_bad_requests_name_what_is_accepted(loaded, inspection, request_, named):
    with pytest.raises(InputError, match=None) as raised:
        evaluate_input(loaded, inspection, request_)
    assert named in str(raised.value)


def test_mask_erasure_refused_for_a_tokenizer_without_mask(loaded, inspection):
    without = copy.copy(loaded)
    without.tokenizer = copy.deepcopy(loaded.tokenizer)
    without.tokenizer.mask_token = None
    with pytest.raises(InputError) as raised:
        evaluate_input(without, inspection, FaithfulnessRequest(methods=("random",), erasure="mask"))
    assert "accepted here: remove, pad" in str(raised.value)

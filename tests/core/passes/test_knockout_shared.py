"""One knock-out for one input and for a dataset (app/core/passes/knockout.py `knocked_logits`): a dataset's padded
batch under one keep gives each input the logit the per-input knock-out map gives it alone; the dataset ablation
(app.core.heads accuracy) counts those predictions; and over the planted model's dataset, knocking out each head
in turn ranks the head that carries the label first, as the per-input map does."""

from __future__ import annotations

import pytest
import torch
from planted_model import planted_model  # tests/ is on sys.path (rootdir conftest)
from tiny_model import tiny_checkpoint

from app.core.heads.importance import accuracy
from app.core.inputs.batching import pad_batch
from app.core.model.head_mask import mask_without
from app.core.passes.inspection import InspectionInput, prepare_inspection
from app.core.passes.knockout import knocked_logits, knockout_keep, knockout_keeps, knockout_map

TEXTS = ["The food was great.", "Great food.", "I liked the food a lot, the service less.", "We ate food."]


def dataset(loaded):
    prepared = [prepare_inspection(loaded, InspectionInput(text, "food")) for text in TEXTS]
    batch = pad_batch([p.encodeds[0] for p in prepared], loaded.tokenizer.pad_token_id, loaded.device)
    return prepared, batch


def test_a_dataset_batch_under_one_keep_is_each_inputs_own_map():
    tiny = tiny_checkpoint("absa", seed=2)
    prepared, batch = dataset(tiny)
    keep = knockout_keep(mask_without((2, 2), [(1, 0)]))
    logits = knocked_logits(tiny, batch, keep)[0]  # [inputs, labels]
    labels = list(tiny.info.labels)
    for row, one in enumerate(prepared):
        alone = knockout_map(tiny, one)
        assert float(logits[row, labels.index(alone.label)]) == pytest.approx(alone.heads[1][0].logit, abs=1e-5)
    gold = logits.argmax(-1).tolist()
    assert accuracy(tiny, [batch], [gold], mask_without((2, 2), [(1, 0)])) == 1.0
    assert knocked_logits(tiny, batch, torch.ones(1, 2, 2, dtype=torch.bool))[0].equal(tiny.model(**batch).logits)
    with pytest.raises(ValueError, match="0 \\(removed\\) or 1"):
        knockout_keep(torch.full((2, 2), 0.5))


def test_over_a_dataset_the_planted_head_is_the_one_knock_out_that_matters():
    planted = planted_model()
    _, batch = dataset(planted)
    keeps = knockout_keeps(2, 2)  # plain, each head alone, each layer whole
    logits = knocked_logits(planted, batch, keeps)  # [knock-outs, inputs, labels]
    probability = logits.softmax(-1)[..., 0]  # the label the planted head writes
    drop = (probability[0] - probability[1:5]).mean(-1)  # per head, mean over the dataset
    assert int(drop.argmax()) == 2 and float(drop[2]) > 0.3  # head (1, 0)
    assert float(drop[[0, 1, 3]].abs().max()) < 1e-6

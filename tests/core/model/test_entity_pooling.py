"""Entity-start pooling for relation classification: marker positions, training, loading, inspection."""

import json

import pytest
import torch

from app.core.model.checkpoint import load_checkpoint, read_checkpoint_info
from app.core.model.entity_pooling import BertForEntityStartClassification, entity_start_positions
from app.core.model.head_mask import head_mask, mask_shape
from app.core.passes.inspection import InspectionInput, inspect
from app.core.training.recipes import TrainSpec, train_on_data

DEMO_RELATIONS = "app/demo_data/relations.jsonl"


def test_marker_positions_first_occurrence_and_fallback():
    ids = torch.tensor([[101, 7, 50, 8, 60, 9, 102], [101, 60, 50, 50, 4, 102, 0], [101, 5, 6, 102, 0, 0, 0]])
    assert entity_start_positions(ids, [50, 60]).tolist() == [[2, 4], [2, 1], [0, 0]]


@pytest.fixture(scope="module")
def entity_start_checkpoint(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    spec = TrainSpec(
        task="re",
        format="re-markers",
        train=DEMO_RELATIONS,
        out="tiny-entity-start",
        epochs=1,
        batch_size=16,
        max_length=64,
        dev_fraction=0.2,
        pooling="entity-start",
    )
    result = train_on_data(spec, models, progress=False)
    return result.path


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_entity_start_checkpoint_loads_as_its_own_class(entity_start_checkpoint):
    meta = json.loads((entity_start_checkpoint / "headscope.json").read_text())
    config = json.loads((entity_start_checkpoint / "config.json").read_text())
    assert meta["pooling"] == "entity-start" and meta["training"]["spec"]["pooling"] == "entity-start"
    assert config["architectures"] == ["BertForEntityStartClassification"]
    loaded = load_checkpoint(read_checkpoint_info(entity_start_checkpoint), torch.device("cpu"))
    assert isinstance(loaded.model, BertForEntityStartClassification)
    e1, e2 = loaded.model.config.entity_start_token_ids
    assert loaded.tokenizer.convert_ids_to_tokens([e1, e2]) == ["<e1>", "<e2>"]


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_prediction_reads_the_marker_states_not_cls(entity_start_checkpoint):
    loaded = load_checkpoint(read_checkpoint_info(entity_start_checkpoint), torch.device("cpu"))
    result = inspect(loaded, InspectionInput("The <e1>fire</e1> was caused by a <e2>cigarette</e2>."))
    assert result.attention.shape[:2] == (6, 12)
    assert abs(sum(result.prediction.probabilities.values()) - 1) < 1e-5
    # The logits are the classifier over the <e1> and <e2> marker states, recomputed by hand.
    encoded = result.encoded
    batch = encoded.model_inputs(torch.device("cpu"))
    with torch.no_grad():
        hidden = loaded.model.bert(**batch).last_hidden_state
        starts = entity_start_positions(batch["input_ids"], loaded.model.config.entity_start_token_ids)[0]
        pooled = torch.cat([hidden[0, starts[0]], hidden[0, starts[1]]])
        expected = loaded.model.classifier(pooled)
        logits = loaded.model(**batch).logits[0]
    assert torch.allclose(logits, expected, atol=1e-5)
    assert encoded.tokens[int(starts[0])].text == "<e1>" and encoded.tokens[int(starts[1])].text == "<e2>"


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_head_mask_applies_to_the_entity_start_encoder(entity_start_checkpoint):
    loaded = load_checkpoint(read_checkpoint_info(entity_start_checkpoint), torch.device("cpu"))
    encoded = inspect(loaded, InspectionInput("The <e1>fire</e1> was caused by a <e2>cigarette</e2>.")).encoded
    inputs = encoded.model_inputs(torch.device("cpu"))
    with torch.no_grad():
        plain = loaded.model(**inputs).logits
        with head_mask(loaded.model, torch.zeros(mask_shape(loaded.model))):
            masked = loaded.model(**inputs).logits
    assert not torch.allclose(plain, masked)


def test_unknown_pooling_is_refused(tmp_path):
    spec = TrainSpec(task="re", format="re-markers", train=DEMO_RELATIONS, out="bad", epochs=1, pooling="mean")
    with pytest.raises(ValueError, match="pooling must be"):
        train_on_data(spec, tmp_path, progress=False)

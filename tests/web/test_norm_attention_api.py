"""POST /api/inspect's attention_kind on the tiny checkpoints: norm-based attention, normalised per row, is the
core's norm-based attention of the returned ids; weights stay the default; refusals name what is accepted."""

import numpy as np
import torch
from tiny_model import TINY_ABSA_ID

from app.core.model.norm_attention import norm_attention, row_normalised

ABSA_PAIR = {"model": TINY_ABSA_ID, "text": "The pasta was great but the waiter was rude.", "aspect": "service"}


def test_norm_based_attention_is_the_cores_normalised_per_row(tiny_client, tiny_absa):
    body = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "attention": "full", "attention_kind": "norm"}).json()
    assert body["attention_kind"] == "norm"
    values = np.asarray(body["attention"]["values"], dtype=np.float32)
    inputs = {"input_ids": torch.tensor([body["input_ids"]]), "token_type_ids": torch.tensor([body["token_type_ids"]])}
    expected = row_normalised(norm_attention(tiny_absa.model, inputs))[0].numpy()
    assert np.allclose(values, expected, atol=1e-6)
    assert np.allclose(values.sum(-1), 1.0, atol=1e-5)  # drawn on the weights' scale
    weights = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "attention": "full"}).json()
    assert weights["attention_kind"] == "weights"
    assert not np.allclose(np.asarray(weights["attention"]["values"]), values, atol=1e-3)  # not served from cache


def test_compact_norm_based_attention_and_word_level(tiny_client):
    body = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "attention_kind": "norm", "word_level": True}).json()
    assert body["attention_kind"] == "norm" and body["level"] == "word"
    assert body["attention"]["encoding"] == "uint8-base64" and set(body["attention"]["layers"]) == {
        str(i) for i in range(body["num_layers"])
    }


def test_unknown_kind_and_norm_with_intervene_are_refused(tiny_client):
    response = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "attention_kind": "value"})
    assert response.status_code == 422 and "weights" in response.text and "norm" in response.text
    intervened = {**ABSA_PAIR, "attention_kind": "norm", "intervene": {"heads": [[0, 1]]}}
    response = tiny_client.post("/api/inspect", json=intervened)
    assert response.status_code == 422 and "attention_kind=weights" in response.text

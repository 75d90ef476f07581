"""POST /api/inspect's default answer for a long input stays a size a script can hold: the compact attention of
the leading layers that fit in the budget, the rest named with how to get them ("layers": "all" or npz), whose
attention is the model's own within the 1/255 quantisation step (the tiny 6 x 12 checkpoint through the real app)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from tiny_model import TINY_ABSA_ID

from app.core.model.attention import forward_with_attention
from app.web.inspect_service import DEFAULT_ATTENTION_BYTES

SHORT = {"model": TINY_ABSA_ID, "text": "The pasta was great but the waiter was rude.", "aspect": "service"}
LONG = {**SHORT, "text": "The pasta was great but the waiter was rude. " * 40}
STEP = 1 / 510 + 1e-4  # round(a * 255) / 255 is within half a step; the fast path agrees with PyTorch within 1e-4


def layer_of(answer: dict, layer: int) -> np.ndarray:
    layers, heads, length, _ = answer["attention"]["shape"]
    sent = np.frombuffer(base64.b64decode(answer["attention"]["layers"][str(layer)]), dtype=np.uint8)
    return sent.reshape(heads, length, length)


def model_attention(client, answer: dict) -> np.ndarray:
    """The checkpoint's own attention [L, H, T, T] for the answer's input ids (eager PyTorch, no server code)."""
    loaded = client.app.state.registry.get(answer["model"])
    inputs = {
        "input_ids": torch.tensor([answer["input_ids"]]),
        "token_type_ids": torch.tensor([answer["token_type_ids"]]),
        "attention_mask": torch.ones(1, len(answer["input_ids"]), dtype=torch.long),
    }
    with torch.inference_mode():
        return forward_with_attention(loaded.model, inputs)[1][0].numpy()


@pytest.fixture(scope="module")
def long_default(tiny_client):
    response = tiny_client.post("/api/inspect", json=LONG)
    assert response.status_code == 200, response.text
    return response


def test_a_long_inputs_default_answer_sends_the_leading_layers_that_fit_and_names_the_rest(tiny_client, long_default):
    answer = long_default.json()
    attention = answer["attention"]
    layers, heads, length, _ = attention["shape"]
    assert length > 300  # every layer's compact attention would be over the budget
    layer_bytes = 4 * -(-heads * length * length // 3)
    assert layers * layer_bytes > DEFAULT_ATTENTION_BYTES
    fits = DEFAULT_ATTENTION_BYTES // layer_bytes
    assert sorted(attention["layers"], key=int) == [str(layer) for layer in range(max(fits, 1))]
    assert attention["omitted_layers"] == list(range(max(fits, 1), layers))
    assert '"layers": "all"' in attention["note"] and '"attention": "npz"' in attention["note"]
    assert len(long_default.content) <= 10_000_000

    every = tiny_client.post("/api/inspect", json={**LONG, "layers": "all"}).json()
    assert sorted(every["attention"]["layers"], key=int) == [str(layer) for layer in range(layers)]
    assert "omitted_layers" not in every["attention"] and "note" not in every["attention"]
    for layer in attention["layers"]:  # the default's layers are those of the whole answer
        assert attention["layers"][layer] == every["attention"]["layers"][layer]
    expected = model_attention(tiny_client, answer)
    for layer in range(layers):
        assert np.abs(layer_of(every, layer) / 255 - expected[layer]).max() <= STEP, layer


def test_the_npz_answer_holds_every_layer_of_the_models_attention(tiny_client, long_default):
    response = tiny_client.post("/api/inspect", json={**LONG, "attention": "npz"})
    assert response.status_code == 200, response.text
    found = np.load(io.BytesIO(response.content))
    expected = model_attention(tiny_client, long_default.json())
    assert sorted(found.files) == ["inspection.json"] + [f"layer_{layer}" for layer in range(len(expected))]
    for layer in range(len(expected)):
        assert np.abs(found[f"layer_{layer}"] / 255 - expected[layer]).max() <= STEP, layer
    assert len(response.content) < len(long_default.content)  # every layer in binary, smaller than the default


def test_a_short_inputs_default_answer_holds_every_layer_as_before(tiny_client):
    answer = tiny_client.post("/api/inspect", json=SHORT).json()
    attention = answer["attention"]
    assert sorted(attention["layers"], key=int) == [str(layer) for layer in range(answer["num_layers"])]
    assert "omitted_layers" not in attention and "note" not in attention
    asked = tiny_client.post("/api/inspect", json={**LONG, "layers": [3]}).json()["attention"]
    assert list(asked["layers"]) == ["3"] and "omitted_layers" not in asked  # layers named: exactly those


@pytest.mark.parametrize("layers", ["some", "ALL", 3, [0.5], ["0"], [True], {"0": 1}])
def test_layers_that_are_neither_numbers_nor_all_are_refused_saying_what_is_accepted(tiny_client, layers):
    response = tiny_client.post("/api/inspect", json={**SHORT, "layers": layers})
    assert response.status_code == 422
    assert "list of layer numbers" in response.text and '\\"all\\"' in response.text, response.text


def test_layers_out_of_range_or_for_the_float_form_are_refused(tiny_client):
    missing = tiny_client.post("/api/inspect", json={**SHORT, "layers": [0, 6]})
    assert missing.status_code == 422 and "0..5" in missing.text
    full = tiny_client.post("/api/inspect", json={**SHORT, "attention": "full", "layers": "all"})
    assert full.status_code == 422 and "compact or npz" in full.text

"""POST /api/inspect with "attention": "npz": the binary archive numpy opens, holding the same answer and the same
attention as the JSON forms, layer by layer (the tiny checkpoint through the real app)."""

from __future__ import annotations

import base64
import io

import numpy as np
from tiny_model import TINY_ABSA_ID

PAIR = {"model": TINY_ABSA_ID, "text": "The pasta was great but the waiter was rude.", "aspect": "service"}


def archive(client, **extra):
    response = client.post("/api/inspect", json={**PAIR, "attention": "npz", **extra})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return np.load(io.BytesIO(response.content))


def test_npz_holds_the_json_answer_and_the_compact_attention_per_layer(tiny_client):
    import orjson

    compact = tiny_client.post("/api/inspect", json={**PAIR, "layers": [0, 3]}).json()
    found = archive(tiny_client, layers=[0, 3])
    meta = orjson.loads(found["inspection.json"])
    assert {k: v for k, v in meta.items() if k != "attention"} == {k: v for k, v in compact.items() if k != "attention"}
    layers, heads, length, _ = compact["attention"]["shape"]
    assert meta["attention"] == {
        "encoding": "npz",
        "dtype": "uint8",
        "scale": 255,
        "shape": compact["attention"]["shape"],
        "layers": [0, 3],
    }
    assert sorted(found.files) == ["inspection.json", "layer_0", "layer_3"]
    for layer in (0, 3):
        sent = np.frombuffer(base64.b64decode(compact["attention"]["layers"][str(layer)]), dtype=np.uint8)
        assert found[f"layer_{layer}"].dtype == np.uint8
        assert np.array_equal(found[f"layer_{layer}"], sent.reshape(heads, length, length))


def test_float16_npz_is_the_full_attention_to_half_precision(tiny_client):
    full = np.asarray(
        tiny_client.post("/api/inspect", json={**PAIR, "attention": "full"}).json()["attention"]["values"]
    )
    found = archive(tiny_client, attention_dtype="float16")
    assert len(found.files) == 1 + full.shape[0]
    for layer in range(full.shape[0]):
        half = found[f"layer_{layer}"]
        assert half.dtype == np.float16
        assert np.allclose(half.astype(np.float32), full[layer], atol=1e-3, rtol=1e-3)
        assert np.allclose(half.astype(np.float32).sum(-1), 1, atol=1e-2)


def test_npz_options_are_refused_where_they_do_not_apply(tiny_client):
    dtype = tiny_client.post("/api/inspect", json={**PAIR, "attention_dtype": "float16"})
    assert dtype.status_code == 422 and "attention=npz" in dtype.text
    layers = tiny_client.post("/api/inspect", json={**PAIR, "attention": "full", "layers": [0]})
    assert layers.status_code == 422 and "compact or npz" in layers.text
    unknown = tiny_client.post("/api/inspect", json={**PAIR, "attention": "npz", "attention_dtype": "float64"})
    assert unknown.status_code == 422 and "float16" in unknown.text


def test_npz_is_sent_as_it_is_to_a_client_that_accepts_gzip(tiny_client):
    """The archive's members are deflated already: the server's gzip leaves it alone (JSON is still gzipped)."""
    headers = {"accept-encoding": "gzip"}
    found = tiny_client.post("/api/inspect", json={**PAIR, "attention": "npz"}, headers=headers)
    assert found.status_code == 200 and "content-encoding" not in found.headers
    assert np.load(io.BytesIO(found.content)).files[0] == "inspection.json"
    compact = tiny_client.post("/api/inspect", json=PAIR, headers=headers)
    assert compact.headers["content-encoding"] == "gzip"

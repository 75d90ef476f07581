"""POST /api/inspect with "thumbnails": S: every head of every layer max-pooled to min(T, S) cells a side, the
same bytes as pooling the compact attention (the tiny checkpoint through the real app); a size out of range is
a 422 naming the field."""

from __future__ import annotations

import base64

import numpy as np
from tiny_model import TINY_ABSA_ID

LONG = " ".join(["The pasta was great and fresh, but our waiter was rude and we waited for ages."] * 4)
PAIR = {"model": TINY_ABSA_ID, "text": LONG, "aspect": "service"}


def pooled(layer: np.ndarray, side: int) -> np.ndarray:
    """[H, T, T] -> [H, s, s]: each cell the largest byte of its block (token i in cell i * s // T)."""
    tokens = layer.shape[-1]
    block = np.arange(tokens) * side // tokens
    out = np.zeros((layer.shape[0], side, side), dtype=np.uint8)
    for head in range(layer.shape[0]):
        np.maximum.at(out[head], (block[:, None], block[None, :]), layer[head])
    return out


def test_thumbnails_are_the_max_pooled_compact_attention_of_every_layer(tiny_client):
    full = tiny_client.post("/api/inspect", json=PAIR).json()
    answer = tiny_client.post("/api/inspect", json={**PAIR, "layers": [2], "thumbnails": 16}).json()
    layers, heads, tokens, _ = full["attention"]["shape"]
    assert tokens > 16 and sorted(answer["attention"]["layers"]) == ["2"]
    thumbs = answer["thumbnails"]
    assert thumbs["shape"] == [layers, heads, 16, 16] and thumbs["scale"] == 255
    assert sorted(thumbs["layers"], key=int) == [str(layer) for layer in range(layers)]
    for layer in range(layers):
        sent = np.frombuffer(base64.b64decode(full["attention"]["layers"][str(layer)]), dtype=np.uint8)
        got = np.frombuffer(base64.b64decode(thumbs["layers"][str(layer)]), dtype=np.uint8)
        assert np.array_equal(got.reshape(heads, 16, 16), pooled(sent.reshape(heads, tokens, tokens), 16)), layer


def test_thumbnails_larger_than_the_input_keep_one_cell_per_token(tiny_client):
    short = {**PAIR, "text": "Great pasta."}
    answer = tiny_client.post("/api/inspect", json={**short, "attention": "none", "thumbnails": 256}).json()
    tokens = len(answer["tokens"])
    assert answer["thumbnails"]["shape"][2:] == [tokens, tokens]


def test_a_thumbnail_size_out_of_range_is_refused(tiny_client):
    response = tiny_client.post("/api/inspect", json={**PAIR, "thumbnails": 2})
    assert response.status_code == 422
    assert "thumbnails" in response.text

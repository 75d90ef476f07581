"""POST /api/compare/patching on the tiny checkpoints of the demo geometry (tiny_client, nothing trained):
the maps' shapes, the aligned columns and the unaligned tokens, one direction alone, and the refusals
naming what is accepted (two checkpoints, a pretrained side, inputs that share no token, a direction)."""

from __future__ import annotations

import pytest
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

CLEAN = {"model": TINY_ABSA_ID, "text": "The food was great but the service was slow.", "aspect": "food"}
CORRUPTED = {"text": "The food was awful but the service was slow."}


def post(client, body):
    return client.post("/api/compare/patching", json=body)


def test_both_directions_as_layer_by_head_and_residual_maps(tiny_client):
    r = post(tiny_client, {"left": CLEAN, "right": CORRUPTED})
    assert r.status_code == 200, r.text
    body = r.json()
    layers, heads = body["num_layers"], body["num_heads"]
    assert body["model"] == TINY_ABSA_ID and "logit[clean run's label] - logit[corrupted run's label]" in body["metric"]
    # the one changed word is the one unaligned token on each side; every other token is a column
    assert [body["clean_tokens"][i] for i in body["unaligned"]["clean"]] == ["great"]
    assert [body["corrupted_tokens"][j] for j in body["unaligned"]["corrupted"]] == ["awful"]
    assert len(body["columns"]) == len(body["clean_tokens"]) - 1
    assert all(
        body["clean_tokens"][c["clean"]] == c["token"] == body["corrupted_tokens"][c["corrupted"]]
        for c in body["columns"]
    )
    assert body["residual_points"] == ["embed.out", *(f"blocks.{i}.out" for i in range(layers))]
    assert "inserted or deleted" in body["note"]
    for direction in ("denoise", "noise"):
        found = body[direction]
        assert found["direction"] == direction
        assert len(found["heads"]) == layers and all(len(row) == heads for row in found["heads"])
        assert len(found["residual"]) == layers + 1 and all(
            len(row) == len(body["columns"]) for row in found["residual"]
        )
        cells = [v for row in found["heads"] + found["residual"] for v in row]
        if found["undefined"] is None:
            assert all(isinstance(v, float) for v in cells)
        else:  # the same label on both sides: no fraction anywhere, and why
            assert found["clean_label"] == found["corrupted_label"] and all(v is None for v in cells)


def test_one_direction_alone(tiny_client):
    body = post(tiny_client, {"left": CLEAN, "right": CORRUPTED, "direction": "noise"}).json()
    assert body["denoise"] is None and body["noise"]["direction"] == "noise"


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"left": CLEAN, "right": {**CORRUPTED, "model": TINY_RE_ID}}, "right.model", "one checkpoint on both sides"),
        ({"left": CLEAN, "right": {**CORRUPTED, "pretrained": True}}, "right.pretrained", "accepted as false"),
        ({"left": CLEAN, "right": {"text": "Awful!", "aspect": "price"}}, "right.text", "cannot be aligned"),
    ],
)
def test_inputs_that_cannot_be_patched_are_refused_naming_what_is_accepted(tiny_client, body, field, words):
    r = post(tiny_client, body)
    assert r.status_code == 422, r.text
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", *field.split(".")] or error["loc"] == ["body", field]
    assert words in error["msg"]


def test_an_unknown_direction_is_refused_naming_the_accepted_ones(tiny_client):
    r = post(tiny_client, {"left": CLEAN, "right": CORRUPTED, "direction": "sideways"})
    assert r.status_code == 422
    assert all(name in r.text for name in ("denoise", "noise", "both"))


def test_the_route_is_described_in_the_openapi_schema(tiny_client):
    paths = tiny_client.get("/openapi.json").json()["paths"]
    operation = paths["/api/compare/patching"]["post"]
    assert "PatchingResponse" in str(operation["responses"]["200"])

"""POST /api/inspect with `intervene` and POST /api/inspect/knockout: the answers' shape, 422s naming what
is accepted (on the tiny checkpoints, so they run in the fast loop), nothing stored touched, and on the
demo checkpoint: a zeroed head changes the later layers' attention, and "before" is the plain inspection."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest
from tiny_model import TINY_ABSA_ID, TINY_RE_ID  # tests/ is on sys.path (rootdir conftest)

ABSA = {"model": TINY_ABSA_ID, "text": "The food was great but the service was slow.", "aspect": "food"}
RE = {"model": TINY_RE_ID, "text": "The <e1>wine</e1> came from a small <e2>vineyard</e2>."}


def post(client, body, path="/api/inspect"):
    # Raw JSON: Python's json writes NaN, which a strict client would refuse to send.
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def stored(settings):
    return sorted((str(p), p.stat().st_mtime_ns) for p in settings.data_dir.rglob("*"))


@pytest.mark.parametrize("body", [ABSA, RE])
def test_an_intervention_answers_before_after_and_delta_besides_the_inspection(tiny_client, body):
    plain = post(tiny_client, body).json()
    answer = post(tiny_client, {**body, "intervene": {"heads": [[0, 1], [2, 3]], "mode": "scale", "factor": 0.25}})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert set(plain) <= set(found)  # every field of the plain answer stays
    intervention = found["intervention"]
    assert intervention["heads"] == [[0, 1], [2, 3]] and intervention["mode"] == "scale"
    assert intervention["factor"] == 0.25
    before, after = intervention["before"], intervention["after"]
    assert found["prediction"] == {"label": after["label"], "probabilities": after["probabilities"]}
    assert before["probabilities"] == pytest.approx(plain["prediction"]["probabilities"], abs=1e-5)
    for label, change in intervention["delta"].items():
        assert change == pytest.approx(after["probabilities"][label] - before["probabilities"][label])
    assert math.isfinite(before["logit"]) and math.isfinite(after["logit"])


def test_no_head_changes_nothing_and_scale_defaults_to_a_half(tiny_client):
    found = post(tiny_client, {**ABSA, "intervene": {"heads": []}}).json()["intervention"]
    assert found["before"] == found["after"] and set(found["delta"].values()) == {0.0}
    scaled = post(tiny_client, {**ABSA, "intervene": {"heads": [[5, 5]], "mode": "scale"}}).json()
    assert scaled["intervention"]["factor"] == 0.5


def test_mean_ablation_uses_the_demo_reference(tiny_client):
    answer = post(tiny_client, {**ABSA, "intervene": {"heads": [[1, 2]], "mode": "mean", "reference": "demo"}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["intervention"]["mode"] == "mean"


@pytest.mark.parametrize(
    ("intervene", "loc", "words"),
    [
        ({"heads": [[0, 0]], "mode": "drop"}, ["body", "intervene", "mode"], "'zero', 'mean' or 'scale'"),
        ({"heads": [[6, 0]]}, ["body", "intervene.heads"], "layers 0..5, heads 0..11"),
        ({"heads": [[0, 12]]}, ["body", "intervene.heads"], "layers 0..5, heads 0..11"),
        ({"heads": [[0, -1]]}, ["body", "intervene.heads"], "heads 0..11"),
        ({"heads": [[0, 1], [0, 1]]}, ["body", "intervene"], "more than once"),
        ({"heads": [[i // 12, i % 12] for i in range(72)] + [[6, 0]]}, ["body", "intervene.heads"], "has 72"),
        ({"heads": [[0, 0]], "mode": "scale", "factor": float("nan")}, ["body", "intervene", "factor"], "finite"),
        ({"heads": [[0, 0]], "mode": "scale", "factor": float("inf")}, ["body", "intervene", "factor"], "finite"),
        ({"heads": [[0, 0]], "mode": "scale", "factor": "big"}, ["body", "intervene", "factor"], "number"),
        ({"heads": [[0, 0]], "mode": "zero", "factor": 0.5}, ["body", "intervene"], "scale only"),
        ({"heads": [[0, 0]], "mode": "mean", "factor": 0.5}, ["body", "intervene"], "scale only"),
        ({"heads": [[0, 0]], "mode": "zero", "reference": "demo"}, ["body", "intervene"], "mean only"),
        ({"heads": [[0, 0]], "mode": "mean", "reference": "mine"}, ["body", "intervene.reference"], "demo-absa"),
        ({"heads": [[0, 0]], "mode": "mean", "reference": "demo-re"}, ["body", "intervene.reference"], "not fit"),
        ({"heads": [[0, 0]], "mode": "mean", "reference": ""}, ["body", "intervene", "reference"], "at least 1"),
        ({"heads": [[0]]}, ["body", "intervene", "heads", 0], ""),
    ],
)
def test_a_bad_intervention_is_a_422_naming_what_is_accepted(tiny_client, tiny_settings, intervene, loc, words):
    before = stored(tiny_settings)
    answer = post(tiny_client, {**ABSA, "intervene": intervene})
    assert answer.status_code == 422, answer.text
    error = answer.json()["detail"][0]
    assert error["loc"][: len(loc)] == loc and words in error["msg"]
    assert stored(tiny_settings) == before


def test_intervention_and_attribution_are_not_mixed(tiny_client):
    answer = post(tiny_client, {**ABSA, "intervene": {"heads": [[0, 0]]}, "attribution": ["grad_x_input"]})
    assert answer.status_code == 422 and "plain model" in answer.text


@pytest.mark.parametrize("body", [ABSA, RE])
def test_the_knockout_map_covers_every_head_and_layer(tiny_client, tiny_settings, body):
    before = stored(tiny_settings)
    answer = post(tiny_client, {**body, "mode": "zero"}, "/api/inspect/knockout")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    plain = post(tiny_client, body).json()["prediction"]
    assert found["label"] == plain["label"]
    assert found["plain"]["probability"] == pytest.approx(plain["probabilities"][plain["label"]], abs=1e-5)
    for name in ("probability", "logit", "effect"):
        assert np.array(found["heads"][name]).shape == (6, 12) and len(found["layers"][name]) == 6
    effects = [r["effect"] for r in found["ranking"]]
    assert len(effects) == 72 and effects == sorted(effects, reverse=True)
    first = found["ranking"][0]
    assert found["heads"]["effect"][first["layer"]][first["head"]] == first["effect"]
    assert stored(tiny_settings) == before


def test_a_bad_knockout_request_is_a_422(tiny_client):
    for body, field in (({**ABSA, "mode": "scale"}, "mode"), ({**ABSA, "aspect": None}, "aspect")):
        answer = post(tiny_client, body, "/api/inspect/knockout")
        assert answer.status_code == 422 and field in json.dumps(answer.json()["detail"][0]["loc"])


def layers_of(answer):
    attention = answer["attention"]
    shape = attention["shape"]
    return {
        int(layer): np.frombuffer(base64.b64decode(data), np.uint8).reshape(shape[1:])
        for layer, data in attention["layers"].items()
    }


def test_on_the_demo_checkpoint_a_zeroed_head_changes_the_later_layers_only(client):
    body = {"text": "The pasta was wonderful but the waiter was rude.", "aspect": "food"}
    plain = client.post("/api/inspect", json=body).json()
    answer = client.post("/api/inspect", json={**body, "intervene": {"heads": [[2, h] for h in range(12)]}})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    before, after = found["intervention"]["before"], found["intervention"]["after"]
    assert before["label"] == plain["prediction"]["label"]
    assert before["probabilities"] == pytest.approx(plain["prediction"]["probabilities"], abs=1e-4)
    assert found["prediction"]["probabilities"] == after["probabilities"]
    plain_layers, intervened = layers_of(plain), layers_of(found)
    for layer in range(3):  # up to the intervened layer: its pattern is computed before its heads' outputs
        assert np.abs(plain_layers[layer].astype(int) - intervened[layer]).max() <= 1  # fast path vs PyTorch
    for layer in range(3, 6):
        assert np.abs(plain_layers[layer].astype(int) - intervened[layer]).max() > 5

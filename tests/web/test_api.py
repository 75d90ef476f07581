"""The JSON API through FastAPI's TestClient over the real app: what the trained demo checkpoints list and
predict on `client`; the response's shape, spans, encodings and refusals on the tiny checkpoints of the
same geometry (6 layers x 12 heads, 512 positions) on `tiny_client`, which needs nothing trained."""

import base64

import numpy as np
import pytest
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

ABSA_PAIR = {"model": TINY_ABSA_ID, "text": "The pasta was great but the waiter was rude.", "aspect": "service"}
RE_TEXT = "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."


def decode_layer(body, layer):
    _, heads, queries, keys = body["attention"]["shape"]
    raw = np.frombuffer(base64.b64decode(body["attention"]["layers"][str(layer)]), dtype=np.uint8)
    return raw.reshape(heads, queries, keys).astype(np.float32) / body["attention"]["scale"]


def detail_text(response):
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else " ".join(f"{e['loc']} {e['msg']}" for e in detail)


def test_health_and_models(client):
    assert client.get("/api/health").json()["status"] == "ready"
    body = client.get("/api/models").json()
    models = {m["id"]: m for m in body["models"]}
    assert body["defaults"] == {"absa": "demo-absa-qa-m", "re": "demo-re"}
    for key in ("id", "task", "format", "labels", "path", "num_layers", "num_heads", "metrics"):
        assert key in models["demo-re"] and key in models["demo-absa-qa-m"]
    assert models["demo-absa-qa-m"]["loaded"] is True  # preloaded before ready
    assert models["pretrained-minilm-re"]["baseline"] == "pretrained" and models["demo-re"]["baseline"] is None


def test_compact_attention_matches_full(tiny_client):
    compact = tiny_client.post("/api/inspect", json=ABSA_PAIR).json()
    full = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "attention": "full"}).json()
    values = np.asarray(full["attention"]["values"], dtype=np.float32)
    assert values.shape == tuple(compact["attention"]["shape"]) == (6, 12, len(full["tokens"]), len(full["tokens"]))
    for layer in range(6):
        assert np.abs(decode_layer(compact, layer) - values[layer]).max() <= 1 / 510 + 1e-6
    assert np.allclose(values.sum(-1), 1, atol=1e-5)
    assert compact["prediction"] == full["prediction"]
    assert compact["prediction"]["label"] in compact["prediction"]["probabilities"]
    assert compact["input_ids"][0] == 101 and len(compact["token_type_ids"]) == len(compact["input_ids"])
    query = [compact["tokens"][i]["text"] for i in compact["spans"]["aspect_query"]]
    assert query == ["service"]
    assert [compact["tokens"][i]["text"] for i in compact["spans"]["aspect_term"]] == []


def test_full_attention_reproduces_from_returned_ids(tiny_client, tiny_absa):
    """A script can rebuild the model input from input_ids/token_type_ids alone."""
    import torch

    body = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "attention": "full"}).json()
    inputs = {"input_ids": torch.tensor([body["input_ids"]]), "token_type_ids": torch.tensor([body["token_type_ids"]])}
    with torch.no_grad():
        output = tiny_absa.model(**inputs, output_attentions=True)
    direct = torch.stack(output.attentions, dim=1)[0].numpy()
    assert np.allclose(np.asarray(body["attention"]["values"]), direct, atol=1e-6)


def test_selected_layers_only(tiny_client):
    body = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "layers": [2, 5]}).json()
    assert sorted(body["attention"]["layers"]) == ["2", "5"]


def test_word_level(tiny_client):
    pair = {**ABSA_PAIR, "text": "The tempura was unbelievably overpriced.", "aspect": "price"}
    pieces = tiny_client.post("/api/inspect", json=pair).json()
    words = tiny_client.post("/api/inspect", json={**pair, "word_level": True}).json()
    assert words["level"] == "word" and len(words["tokens"]) < len(pieces["tokens"])
    assert "unbelievably" in [t["text"] for t in words["tokens"]]
    assert np.allclose(decode_layer(words, 0).sum(-1), 1, atol=0.02)
    assert words["input_ids"] == pieces["input_ids"]


def test_relation(tiny_client):
    body = tiny_client.post("/api/inspect", json={"model": TINY_RE_ID, "text": RE_TEXT}).json()
    tokens = body["tokens"]
    assert [tokens[i]["text"] for i in body["spans"]["e1"]] == ["fire"]
    assert [tokens[i]["text"] for i in body["spans"]["e2"]] == ["cigarette"]
    assert body["task"] == "re" and body["prediction"]["label"] in body["prediction"]["probabilities"]
    assert sum(t["marker"] for t in tokens) == 4


def test_demo_models_learned_something(client):
    """The embedded checkpoints are fine-tuned, not just initialised: clear cases come out right."""

    def label(**payload):
        return client.post("/api/inspect", json={**payload, "attention": "none"}).json()["prediction"]["label"]

    assert label(model="demo-absa-qa-m", text="The food was absolutely delicious.", aspect="food") == "positive"
    assert label(model="demo-absa-qa-m", text="The waiter was rude and ignored us.", aspect="service") == "negative"
    assert label(model="demo-absa-qa-m", text="The waiter was rude and ignored us.", aspect="price") == "none"
    assert label(model="demo-re", text="The <e1>flood</e1> was caused by heavy <e2>rain</e2>.") == "Cause-Effect(e2,e1)"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({**ABSA_PAIR, "text": ""}, "text"),
        ({**ABSA_PAIR, "text": "   "}, "text"),
        ({**ABSA_PAIR, "aspect": ""}, "aspect"),
        ({"model": TINY_ABSA_ID, "text": "Nice place."}, "aspect"),
        ({**ABSA_PAIR, "layers": [6]}, "layers"),
        ({**ABSA_PAIR, "attention": "everything"}, "attention"),
    ],
)
def test_bad_input_names_the_field(tiny_client, payload, field):
    response = tiny_client.post("/api/inspect", json=payload)
    assert response.status_code == 422
    assert any(field in entry["loc"] for entry in response.json()["detail"]), response.json()


def test_unknown_model_lists_known_ids(tiny_client):
    response = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "model": "bert-nope"})
    assert response.status_code == 404
    assert "bert-nope" in response.json()["detail"] and TINY_RE_ID in response.json()["known_models"]


def test_relation_without_entities_shows_notations(tiny_client):
    response = tiny_client.post("/api/inspect", json={"model": TINY_RE_ID, "text": "A fire was caused by a cigarette."})
    assert response.status_code == 422
    assert "<e1>" in detail_text(response) and "e1_span" in detail_text(response)


def test_malformed_json(tiny_client):
    response = tiny_client.post(
        "/api/inspect", content=b'{"model": "tiny-re", "text": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in detail_text(response)


def test_long_text_is_truncated_and_says_where(tiny_client):
    body = tiny_client.post(
        "/api/inspect", json={**ABSA_PAIR, "text": "The soup was fine. " * 300, "attention": "none"}
    ).json()
    assert len(body["input_ids"]) == 512
    assert body["truncated"]["segment"] == "a" and "cut after character" in body["truncated"]["message"]


def test_absent_aspect_is_valid(tiny_client):
    body = tiny_client.post("/api/inspect", json={**ABSA_PAIR, "aspect": "ambience"}).json()
    assert body["spans"]["aspect_term"] == [] and body["prediction"]["label"]


def test_inspect_refuses_an_unknown_field_naming_the_accepted_ones(tiny_client):
    answer = tiny_client.post("/api/inspect", json={"text": "The soup was cold.", "aspect": "food", "bogus": 1})
    assert answer.status_code == 422
    message = answer.json()["detail"][0]["msg"]
    assert "unknown field 'bogus'" in message and "aspect" in message and "attention" in message


def test_a_validators_message_reads_without_pydantics_prefix(tiny_client):
    answer = tiny_client.post(
        "/api/inspect", json={"text": "x", "aspect": "food", "attribution": ["ig"], "ig_steps": 0}
    )
    assert answer.status_code == 422
    message = answer.json()["detail"][0]["msg"]
    assert message.startswith("ig_steps must be between 1 and") and "Value error" not in message


def test_a_failed_start_stops_what_it_had_started(tiny_settings):
    import threading

    from fastapi.testclient import TestClient

    from app.web.main import create_app

    settings = tiny_settings.model_copy(update={"preload": "no-such-checkpoint"})
    before = set(threading.enumerate())
    with pytest.raises(Exception, match="no-such-checkpoint"):
        with TestClient(create_app(settings)):
            pass
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert "jobs" not in left and "model_0" not in left, left  # the job thread and the model thread stopped


@pytest.mark.parametrize(
    "model, fields, field, words",
    [
        ("re", {"text": "The <e1>fire</e1> was caused by a <e2>cigarette</e2>.", "aspect": "food"}, "aspect", "<e1>"),
        ("absa", {"text": "The <e1>soup</e1> was cold.", "aspect": "food"}, "text", "without them"),
        ("absa", {"text": "The soup was cold.", "aspect": "food", "e1_span": [4, 8]}, "e1_span", "give an aspect"),
    ],
)
def test_a_field_only_the_other_task_reads_is_refused_not_dropped(tiny_client, model, fields, field, words):
    from tiny_model import TINY_ABSA_ID, TINY_RE_ID

    checkpoint = TINY_RE_ID if model == "re" else TINY_ABSA_ID
    answer = tiny_client.post("/api/inspect", json={"model": checkpoint, **fields})
    assert answer.status_code == 422, answer.text
    assert words in answer.text and field in answer.text and checkpoint in answer.text

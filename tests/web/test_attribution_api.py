"""POST /api/inspect with "attribution": the real app and demo checkpoints through FastAPI's TestClient; the
refusals on the tiny ABSA checkpoint (tiny_client), which needs nothing trained."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_model import TINY_ABSA_ID

from app.core.attribution.gradients import IG_MAX_STEPS

PAIR = {"model": "demo-absa-qa-m", "text": "The pasta was great but the waiter was rude.", "aspect": "service"}
RE = {"model": "demo-re", "text": "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."}
ALL = ["ig", "grad_x_input", "rollout", "flow"]
TINY_PAIR = {**PAIR, "model": TINY_ABSA_ID}  # refusals need an ABSA checkpoint, not a trained one


def messages(response) -> str:
    return " ".join(error["msg"] for error in response.json()["detail"])


def test_every_method_per_token_with_agreement_maps(client):
    body = client.post("/api/inspect", json={**PAIR, "attribution": ALL, "ig_steps": 16}).json()
    found, tokens = body["attribution"], body["tokens"]
    assert set(found["methods"]) == set(ALL)
    assert all(len(m["scores"]) == len(tokens) for m in found["methods"].values())
    assert found["target"] == {
        "label": body["prediction"]["label"],
        "index": found["target"]["index"],
        "predicted": True,
    }
    ig = found["methods"]["ig"]
    assert ig["steps"] == 16 and ig["completeness"]["gap"] == pytest.approx(
        ig["completeness"]["attribution_sum"] - ig["completeness"]["output_difference"], abs=1e-5
    )
    assert sum(ig["scores"]) == pytest.approx(ig["completeness"]["attribution_sum"], abs=1e-4)
    special = [i for i, t in enumerate(tokens) if t["special"]]
    assert found["query"] == {"name": "readout", "tokens": [0]}
    assert set(found["compared"]).isdisjoint(special) and len(found["compared"]) == len(tokens) - len(special)
    for _method, maps in found["agreement"]["methods"].items():
        for metric in ("spearman", "kendall", "top_k"):
            grid = np.asarray(maps[metric])
            assert grid.shape == (body["num_layers"], body["num_heads"])
            assert np.all(grid >= -1) and np.all(grid <= 1)


def test_word_level_sums_pieces_and_chosen_label(client):
    text = {**PAIR, "text": "The tiramisu was unbelievably scrumptious but overpriced."}
    pieces = client.post("/api/inspect", json={**text, "attribution": ["grad_x_input", "rollout"]}).json()
    words = client.post(
        "/api/inspect", json={**text, "attribution": ["grad_x_input", "rollout"], "word_level": True}
    ).json()
    assert len(words["tokens"]) < len(pieces["tokens"])  # some words are split into pieces
    for method in ("grad_x_input", "rollout"):
        per_word = np.zeros(len(words["tokens"]))
        np.add.at(per_word, [t["word"] for t in pieces["tokens"]], pieces["attribution"]["methods"][method]["scores"])
        assert np.allclose(words["attribution"]["methods"][method]["scores"], per_word, atol=1e-5)
    other = next(label for label in pieces["prediction"]["probabilities"] if label != pieces["prediction"]["label"])
    chosen = client.post(
        "/api/inspect", json={**text, "attribution": ["grad_x_input"], "attribution_label": other}
    ).json()
    assert chosen["attribution"]["target"]["label"] == other and chosen["attribution"]["target"]["predicted"] is False
    assert (
        chosen["attribution"]["methods"]["grad_x_input"]["scores"]
        != pieces["attribution"]["methods"]["grad_x_input"]["scores"]
    )


def test_relation_model_reads_from_the_entities(client):
    body = client.post("/api/inspect", json={**RE, "attribution": ["rollout"], "attribution_query": "entity"}).json()
    entity = sorted(set(body["spans"]["e1"]) | set(body["spans"]["e2"]))
    assert body["attribution"]["query"] == {"name": "entity", "tokens": entity}
    markers = set(body["spans"]["markers"])
    assert markers and markers.isdisjoint(body["attribution"]["compared"])


@pytest.mark.parametrize(
    "extra,field,says",
    [
        ({"attribution": ["saliency"]}, "attribution", "'ig', 'grad_x_input', 'rollout' or 'flow'"),
        ({"attribution": ["ig"], "ig_steps": 0}, "ig_steps", f"between 1 and {IG_MAX_STEPS}"),
        ({"attribution": ["ig"], "ig_steps": IG_MAX_STEPS + 1}, "ig_steps", f"between 1 and {IG_MAX_STEPS}"),
        ({"attribution_label": "positive"}, None, "only apply with attribution"),
        (
            {"attribution": ["rollout"], "attribution_query": "verb"},
            "attribution_query",
            "'readout', 'cls', 'aspect' or 'entity'",
        ),
    ],
)
def test_bad_attribution_options_are_422(tiny_client, extra, field, says):
    response = tiny_client.post("/api/inspect", json={**TINY_PAIR, **extra})
    assert response.status_code == 422
    assert says in messages(response)
    if field:
        assert any(field in error["loc"] for error in response.json()["detail"])


def test_label_or_query_the_model_lacks_is_422(tiny_client):
    response = tiny_client.post(
        "/api/inspect", json={**TINY_PAIR, "attribution": ["ig"], "attribution_label": "delicious"}
    )
    assert response.status_code == 422
    assert "accepted: positive, neutral, negative, conflict, none" in messages(response)
    response = tiny_client.post(
        "/api/inspect", json={**TINY_PAIR, "attribution": ["rollout"], "attribution_query": "entity"}
    )
    assert response.status_code == 422 and "accepted: readout, cls, aspect" in messages(response)
    long_text = " ".join(["the pasta was great"] * 40)
    response = tiny_client.post("/api/inspect", json={**TINY_PAIR, "text": long_text, "attribution": ["flow"]})
    assert response.status_code == 422 and "at most 128 tokens" in messages(response)

"""POST /api/inspect/faithfulness on the tiny checkpoints: every source's figures in a typed answer, a pair
and a relation instance, and the bad requests answered 422 naming what is accepted."""

from __future__ import annotations

import pytest
from faithfulness_support import LIVE_SOURCES
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

PATH = "/api/inspect/faithfulness"
ABSA = {"model": TINY_ABSA_ID, "text": "The pasta was great but the waiter was rude.", "aspect": "waiter"}


def test_every_source_and_every_head_for_an_absa_pair(tiny_client):
    answer = tiny_client.post(PATH, json={**ABSA, "ig_steps": 4})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert set(found["sources"]) == LIVE_SOURCES
    for method in ("attention", "norm_attention"):
        assert len(found["heads"][method]["aopc_comprehensiveness"]) == found["num_layers"]
        assert len(found["heads"][method]["normalised_sufficiency"][0]) == found["num_heads"]
    assert len(found["sources"]["rollout"]["comprehensiveness"]) == len(found["k_percents"]) == 5
    tokens = found["tokens"]
    assert all(tokens[i] not in ("[CLS]", "[SEP]", "waiter") for i in found["erasable"])
    assert "faithfulness;dur=" in answer.headers["server-timing"]


def test_a_relation_instance_keeps_its_markers_and_entities(tiny_client):
    body = {
        "model": TINY_RE_ID,
        "text": "The <e1>fire</e1> was caused by a <e2>cigarette</e2> left burning.",
        "methods": ["rollout", "random"],
        "erasure": "mask",
    }
    found = tiny_client.post(PATH, json=body).json()
    erased = {found["tokens"][i] for i in found["erasable"]}
    assert not erased & {"<e1>", "</e1>", "<e2>", "</e2>", "fire", "cigarette", "[CLS]", "[SEP]"}
    with_entities = tiny_client.post(PATH, json={**body, "erase_targets": True}).json()
    assert {"fire", "cigarette"} <= {with_entities["tokens"][i] for i in with_entities["erasable"]}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            {"methods": ["rollout", "lime"]},
            "accepted: attention, head_mean, norm_attention, rollout, flow, ig, grad_x_input, random",
        ),
        ({"k": [0, 10]}, "outside (0, 100]"),
        ({"k": [120]}, "outside (0, 100]"),
        ({"erasure": "drop"}, "accepted: remove, mask, pad"),
        ({"query": "entity"}, "accepted: readout, cls, aspect"),
    ],
)
def test_bad_requests_are_422_naming_what_is_accepted(tiny_client, change, named):
    answer = tiny_client.post(PATH, json={**ABSA, "methods": ["random"], **change})
    assert answer.status_code == 422
    assert named in answer.text

"""POST /api/compare on the demo checkpoints: two inspections, the token alignment, the per-head change; the
refusals and the page on the tiny checkpoints of the same geometry (tiny_client), which need nothing trained."""

from __future__ import annotations

import pytest
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

SOURCE = "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."
VARIANT = "The <e1>fire</e1> was started by a discarded <e2>cigarette</e2>."


def test_source_and_variant(client):
    r = client.post(
        "/api/compare", json={"left": {"model": "demo-re", "text": SOURCE}, "right": {"text": VARIANT}, "layers": [2]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    left, right = body["left"], body["right"]
    # each side is answered as /api/inspect answers it, with only the asked layer
    assert left["model"] == right["model"] == "demo-re" and left["task"] == "re"
    assert left["attention"]["encoding"] == "uint8-base64" and set(left["attention"]["layers"]) == {"2"}
    assert set(right["attention"]["layers"]) == {"2"}
    assert left["input"]["text"] == SOURCE and right["input"]["text"] == VARIANT
    # the one edited word is the one token not shared on each side
    a = body["alignment"]
    edited_left = [left["tokens"][i]["text"] for i in a["edited"]["left"]]
    edited_right = [right["tokens"][i]["text"] for i in a["edited"]["right"]]
    assert edited_left == ["caused"] and edited_right == ["started"]
    assert a["shared"] == len(left["tokens"]) - 1
    assert all(a["right"][j] == i for i, j in enumerate(a["left"]) if j >= 0)
    # per-head change: [L][H] per query set, in [0, 1], ranked in `top`
    for name in ("focus", "cls"):
        grid = body["change"][name]
        assert len(grid) == 6 and all(len(row) == 12 for row in grid)
        assert all(v is not None and 0 <= v <= 1 for row in grid for v in row)
        top = body["top"][name][0]
        assert top["change"] == max(v for row in grid for v in row) == grid[top["layer"]][top["head"]]
    assert body["change_note"] is None


def test_same_input_does_not_move(client):
    r = client.post(
        "/api/compare",
        json={"left": {"model": "demo-absa-qa-m", "text": "The pasta was great.", "aspect": "food"}, "layers": [0]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["alignment"]["edited"] == {"left": [], "right": []}
    assert max(v for row in body["change"]["focus"] for v in row) < 1e-5


def test_pretrained_base_against_fine_tuned(client):
    r = client.post(
        "/api/compare",
        json={
            "left": {"model": "demo-absa-qa-m", "text": "The pasta was great.", "aspect": "food"},
            "right": {"pretrained": True},
            "layers": [5],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["right"]["pretrained"] is True and body["left"]["pretrained"] is False
    assert body["alignment"]["edited"] == {"left": [], "right": []}
    # fine-tuning moved some head's view of the review
    assert body["top"]["focus"][0]["change"] > 0.05


def test_two_checkpoints_of_other_tasks(client):
    r = client.post(
        "/api/compare",
        json={
            "left": {"model": "demo-absa-qa-m", "text": "The pasta was great.", "aspect": "food"},
            "right": {"model": "demo-re", "text": "The <e1>pasta</e1> was <e2>great</e2>."},
            "layers": [0],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "tasks differ" in body["change_note"]
    assert body["right"]["input"].get("aspect") is None


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"left": {"model": TINY_ABSA_ID, "text": "The pasta was great."}}, 422, ["left.aspect"]),
        (
            {"left": {"model": TINY_ABSA_ID, "text": "x", "aspect": "food"}, "right": {"model": TINY_RE_ID}},
            422,
            ["right"],
        ),
        ({"left": {"model": "nope", "text": "x"}}, 404, ["unknown model", TINY_RE_ID]),
        ({"left": {"model": TINY_RE_ID, "text": SOURCE}, "layers": [6]}, 422, ["layers [6]", "0..5"]),
        ({"left": {"aspect": "food"}}, 422, ["left.text is required"]),
        ({"left": {"text": "x", "colour": 1}}, 422, ["colour"]),
    ],
)
def test_refusals(tiny_client, body, status, words):
    r = tiny_client.post("/api/compare", json=body)
    assert r.status_code == status, r.text
    assert all(w in r.text for w in words), r.text


def test_page(tiny_client):
    r = tiny_client.get("/compare?model=tiny-re&left=x")
    assert r.status_code == 200 and "/static/js/compare.js" in r.text
    assert 'href="/compare"' in r.text and 'aria-current="page"' in r.text

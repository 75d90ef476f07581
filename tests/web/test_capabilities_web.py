"""What a checkpoint and data can run, asked before the robustness form is submitted
(GET /api/robustness/capabilities): the demo data runs every ABSA test with its own opinion words and
no shared data; data that cannot support a test gets the true reason, the same one a run asking for it
is refused with; bad names are 422s.

Real app over the tiny checkpoints (what can run depends on the task and the data, not on training),
with HEADSCOPE_SHARED_DATA off, so no Hu & Liu lexicon and no shared training file.
"""

import json

import pytest
from job_support import wait_job
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

from app.config import Settings
from app.core.data.readers import load_opinion_lexicon
from app.core.data.sources import default_lexicon_path
from app.core.robustness.run import available_tests

# One aspect per sentence and no gold opinion spans: revnon has no other aspect to edit, revtgt no
# opinion words to reverse (no lexicon either), adddiff no training file to mine phrases from.
ONE_ASPECT = [
    {
        "id": f"u{i}",
        "text": text,
        "aspects": [{"term": term, "from": text.index(term), "to": text.index(term) + len(term), "polarity": polarity}],
    }
    for i, (text, term, polarity) in enumerate(
        [
            ("The soup was lovely.", "soup", "positive"),
            ("Our waiter was rude to us.", "waiter", "negative"),
            ("The bread came warm.", "bread", "positive"),
        ]
    )
]


@pytest.fixture(scope="module")
def bare_client(tiny_models_dir, tmp_path_factory):
    """The real app on the tiny checkpoints without shared data (as a fresh install runs)."""
    from fastapi.testclient import TestClient

    from app.web.main import create_app

    settings = Settings(
        models_dir=tiny_models_dir,
        data_dir=tmp_path_factory.mktemp("bare-data"),
        device="cpu",
        prepare_on_start=False,
        shared_data=None,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def capabilities(client, **params):
    return client.get("/api/robustness/capabilities", params=params)


def test_the_demo_data_runs_every_absa_test_without_shared_data(bare_client):
    answer = capabilities(bare_client, model=TINY_ABSA_ID, data="demo-absa")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["task"] == "absa" and body["opinion_words"] == "demo" and body["train"] == "demo-absa"
    assert body["sources"] > 0
    assert [t["name"] for t in body["tests"]] == [t["name"] for t in available_tests("absa")]
    assert all(t["runnable"] and t["reason"] is None for t in body["tests"]), body["tests"]


def test_the_demo_opinion_words_are_the_demo_reviews_own():
    folder = default_lexicon_path(None, "demo-absa")
    assert folder is not None and default_lexicon_path(None, "demo-re") is None
    words = load_opinion_lexicon(folder)
    assert {"delicious", "attentive"} <= words.positive and {"rude", "soggy"} <= words.negative
    assert not words.positive & words.negative
    reviews = (folder.parent / "restaurants.jsonl").read_text(encoding="utf-8").lower()
    assert all(word in reviews for word in words.positive | words.negative)  # derived from the reviews


def test_tests_the_data_cannot_support_are_marked_with_the_true_reason(bare_client):
    upload = "\n".join(json.dumps(row) for row in ONE_ASPECT) + "\n"
    small = {"tests": ["q1-typo"], "max_examples": 3, "batch_size": 4, "bootstrap": 20, "top_heads": 2}
    started = bare_client.post("/api/robustness", json={"model": TINY_ABSA_ID, "upload": upload, "settings": small})
    assert started.status_code in (200, 202), started.text
    name = started.json()["data"]["name"]
    wait_job(bare_client, "robustness", started.json()["id"])

    body = capabilities(bare_client, model=TINY_ABSA_ID, data=name).json()
    tests = {t["name"]: t for t in body["tests"]}
    assert body["opinion_words"] is None and body["train"] is None
    assert tests["q1-typo"]["runnable"] and tests["aspect-mask"]["runnable"]
    revtgt, revnon, adddiff = tests["revtgt"], tests["revnon"], tests["adddiff"]
    assert not revtgt["runnable"] and "opinion" in revtgt["reason"] and "WordNet" not in revtgt["reason"]
    assert not revnon["runnable"] and "two or more aspects" in revnon["reason"]
    assert not adddiff["runnable"] and "training file" in adddiff["reason"]

    # A run that asks for it anyway is refused with the same reason.
    refused = bare_client.post(
        "/api/robustness", json={"model": TINY_ABSA_ID, "data": name, "settings": {**small, "tests": ["revtgt"]}}
    )
    assert refused.status_code == 422
    assert revtgt["reason"] in refused.json()["detail"][0]["msg"]


def test_relation_tests_on_the_demo_relations(bare_client):
    body = capabilities(bare_client, model=TINY_RE_ID, data="demo-re").json()
    tests = {t["name"]: t for t in body["tests"]}
    assert body["task"] == "re" and body["train"] == "demo-re" and body["opinion_words"] is None
    assert tests["q4-rule-mask"]["runnable"], tests["q4-rule-mask"]["reason"]  # the demo data is its own training


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": TINY_ABSA_ID, "data": "no-such-data"}, "data"),
        ({"model": TINY_ABSA_ID, "data": "demo-re"}, "data"),  # relation data for an ABSA checkpoint
        ({"model": TINY_ABSA_ID, "data": "demo-absa", "train": "no-such-train"}, "train"),
    ],
)
def test_bad_names_are_refused_saying_what_is_accepted(bare_client, params, field):
    answer = capabilities(bare_client, **params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == field and answer.json().get("accepted")


def test_an_unknown_model_is_a_404(bare_client):
    assert capabilities(bare_client, model="no-such-model", data="demo-absa").status_code == 404


def test_the_report_offers_pwws_only_where_wordnet_is(bare_client, monkeypatch, tmp_path):
    attacks = {a["name"]: a for a in bare_client.get("/api/reports/capabilities").json()["attacks"]}
    assert attacks["pwws"]["runnable"] and attacks["hotflip"]["runnable"]  # WordNet installed (make wordnet)
    monkeypatch.setenv("HEADSCOPE_WORDNET", str(tmp_path))  # a folder without WordNet
    attacks = {a["name"]: a for a in bare_client.get("/api/reports/capabilities").json()["attacks"]}
    assert not attacks["pwws"]["runnable"] and "wordnet-base" in attacks["pwws"]["reason"]
    assert attacks["hotflip"]["runnable"] and attacks["hotflip"]["reason"] is None
    revtgt = capabilities(bare_client, model=TINY_ABSA_ID, data="demo-absa").json()["tests"]
    assert "WordNet" in next(t for t in revtgt if t["name"] == "revtgt")["reason"]  # now WordNet is what is missing

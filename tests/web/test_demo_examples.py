"""The examples the pages, README, notebook and API reference offer for the demo checkpoints come out right on them.

The texts are read from where they are shipped (the Inspect page's first-screen examples in static/js/inspect-fit.js,
the README, the tour notebook, the API reference's compare and patching examples), so changing an example there
without checking what the demo checkpoint answers fails here. None of these texts is in the demo training data
(checked below): they are held out, as a visitor's input would be.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABSA_ID, RE_ID = "demo-absa-qa-m", "demo-re"
PASTA = "The pasta was great but the waiter was rude."
CLEAN = "The food was great but the service was slow."  # the API reference's patching example, clean input
CORRUPTED = "The food was bland but the service was slow."  # ... and its corrupted input
FIRE = "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."
SHORT_FIRE = "The <e1>fire</e1> was caused by a <e2>cigarette</e2>."
STARTED_FIRE = "The <e1>fire</e1> was started by a <e2>cigarette</e2>."

# What a reader of each review would answer, for every category and term it names or leaves out.
ABSA_EXPECTED = {
    PASTA: {
        "service": "negative",
        "food": "positive",
        "pasta": "positive",
        "waiter": "negative",
        "price": "none",
        "ambience": "none",
    },
    CLEAN: {"food": "positive", "service": "negative", "price": "none"},
    CORRUPTED: {"food": "negative", "service": "negative", "price": "none"},
}
ABSA_CASES = sorted((text, aspect) for text, answers in ABSA_EXPECTED.items() for aspect in answers)
RE_EXPECTED = {FIRE: "Cause-Effect(e2,e1)", SHORT_FIRE: "Cause-Effect(e2,e1)", STARTED_FIRE: "Cause-Effect(e2,e1)"}


def first_screen_examples() -> dict[str, dict[str, str]]:
    """The Inspect page's EXAMPLES per task: {"absa": {"text", "aspect"}, "re": {...}}."""
    source = (ROOT / "static/js/inspect-fit.js").read_text(encoding="utf-8")
    found = re.findall(r'(absa|re): \{ text: "([^"]+)", aspect: "([^"]*)" \}', source)
    return {task: {"text": text, "aspect": aspect} for task, text, aspect in found}


def notebook_source() -> str:
    cells = json.loads((ROOT / "docs/tour.ipynb").read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


def label(client, **payload) -> str:
    answer = client.post("/api/inspect", json={**payload, "attention": "none"})
    assert answer.status_code == 200, answer.text
    return answer.json()["prediction"]["label"]


def test_the_shipped_examples_are_the_ones_checked_here():
    examples = first_screen_examples()
    assert examples["absa"] == {"text": PASTA, "aspect": "service"} and examples["re"]["text"] == FIRE
    assert PASTA in (ROOT / "README.md").read_text(encoding="utf-8") and PASTA in notebook_source()
    assert SHORT_FIRE in notebook_source()
    api = (ROOT / "docs/reference/api.md").read_text(encoding="utf-8")
    assert all(text in api for text in (SHORT_FIRE, STARTED_FIRE, CLEAN, CORRUPTED))
    reviews = (ROOT / "app/demo_data/restaurants.jsonl").read_text(encoding="utf-8")
    relations = (ROOT / "app/demo_data/relations.jsonl").read_text(encoding="utf-8")
    assert not [text for text in ABSA_EXPECTED if json.dumps(text) in reviews]
    assert not [text for text in RE_EXPECTED if json.dumps(text) in relations]


@pytest.mark.parametrize("text, aspect", ABSA_CASES)
def test_the_shipped_reviews_come_out_right(client, text, aspect):
    assert label(client, model=ABSA_ID, text=text, aspect=aspect) == ABSA_EXPECTED[text][aspect]


@pytest.mark.parametrize("text", sorted(RE_EXPECTED))
def test_the_shipped_relation_sentences_come_out_right(client, text):
    assert label(client, model=RE_ID, text=text) == RE_EXPECTED[text]


def test_the_models_list_says_what_the_demo_was_trained_on_and_how_well(client):
    """What the Inspect page's sentence under the model (model-provenance.js) is made of."""
    demo = {m["id"]: m for m in client.get("/api/models").json()["models"]}[ABSA_ID]
    training = demo["training"]
    assert [d["path"] for d in training["data"]] == ["app/demo_data/restaurants.jsonl"]
    assert training["examples"]["train"] > 0 and training["examples"]["dev"] > 0
    assert "demo reviews" in demo["description"]
    dev = demo["metrics"]["dev"]
    assert dev["n"] == training["examples"]["dev"] and dev["accuracy"] is not None

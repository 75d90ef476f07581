"""The first screen of /inspect in Debian's headless Chromium: with nothing in the URL the task's example is run
on load (no click) and comes out right, and the page says what the shown checkpoint was trained on, from its
headscope.json."""

import json

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser


def test_the_example_runs_on_first_load_and_the_checkpoint_says_what_it_learned_from(page, models_dir):
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(page.base + "/inspect")
    page.wait_for_function("window.headscope.response && window.headscope.edgesDrawn > 0", timeout=60_000)
    assert [p for p in posts if p.endswith("/api/inspect")] == [page.base + "/api/inspect"]  # one run, no click
    assert page.locator("#prediction").is_visible()
    meta = json.loads((models_dir / "demo-absa-qa-m" / "headscope.json").read_text())
    # the example review ("The pasta was great but the waiter was rude.", service) comes out as a reader says
    assert page.text_content("#prediction-label").strip() == "negative"
    # the example is the input shown and shared: the URL carries it
    shown = query(page)
    assert shown["text"] == [page.input_value("#text-input")] and shown["aspect"] == [page.input_value("#aspect-input")]

    trained = page.text_content("#model-trained")
    assert meta["description"] in trained
    assert "restaurants.jsonl" in trained and f"{meta['training']['examples']['train']} training examples" in trained
    assert f"n={meta['metrics']['dev']['n']}" in trained and f"{meta['training']['args']['epochs']} epochs" in trained
    # its measured accuracy and macro-F1 are defined one "?" away
    assert page.locator("#model-trained a.concept[href='/concepts#accuracy-and-f1-per-task']").count() == 1

    relation = json.loads((models_dir / "demo-re" / "headscope.json").read_text())
    page.select_option("#model-select", "demo-re")
    page.wait_for_function("document.getElementById('model-trained').textContent.includes('relations.jsonl')")
    assert relation["description"] in page.text_content("#model-trained")

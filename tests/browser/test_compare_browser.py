"""The /compare page in Debian's headless Chromium (Playwright) against a running uvicorn: a source and
its edited variant side by side, the edited tokens underlined, per-head change bars, a head toggle,
and "Save as finding". Every request the page makes must go to 127.0.0.1."""

from urllib.parse import urlencode

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser

SOURCE = "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."
VARIANT = "The <e1>fire</e1> was started by a discarded <e2>cigarette</e2>."


def drawn(page) -> dict:
    return page.evaluate("window.headscope.edgesDrawn")


def test_compare_source_and_variant(page):
    url = page.base + "/compare?" + urlencode({"model": "demo-re", "left": SOURCE, "right": VARIANT, "layer": 3})
    page.goto(url)
    page.wait_for_function(
        "window.headscope && window.headscope.response && document.body.dataset.ready === '1'", timeout=60_000
    )
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    # both head views drawn, at the layer of the URL
    assert page.input_value("#layer-select") == "3"
    edges = drawn(page)
    assert edges["left"] > 0 and edges["right"] > 0
    # the edited word is underlined on both sides, in both token columns, and nothing else is
    for side, word in (("left", "caused"), ("right", "started")):
        edited = page.locator(f"#{side}-panel .token.edited")
        assert edited.count() == 2  # the query column and the key column
        assert set(edited.all_text_contents()) == {word}
        assert "not in the other side (1)" in page.text_content(f"#{side}-legend")
    # the form holds both inputs
    assert page.input_value("#left-text") == SOURCE and page.input_value("#right-text") == VARIANT
    # one bar per head and query set, with the change the API computed
    bars = page.locator("#change-bars .cbar")
    assert bars.count() == 12 * 2
    values = [float(v) for v in bars.evaluate_all("els => els.map(e => e.dataset.value)") if v]
    assert len(values) == 24 and max(values) > 0
    widths = page.locator("#change-bars .cbar i").evaluate_all("els => els.map(e => parseFloat(e.style.width))")
    assert max(widths) > 0
    assert page.text_content("#bars-layer") == "3"

    # a head toggle hides that head in both views and in the bars; the URL keeps it
    before = drawn(page)
    page.click("#head-swatches .head-toggle[data-head='0']")
    page.wait_for_function("new URLSearchParams(location.search).get('heads') === '1,2,3,4,5,6,7,8,9,10,11'")
    after = drawn(page)
    assert after["left"] < before["left"] and after["right"] < before["right"]
    assert page.locator("#change-bars .cbar.off").count() == 2
    # double-click: only that head
    page.dblclick("#head-swatches .head-toggle[data-head='5']")
    page.wait_for_function("new URLSearchParams(location.search).get('heads') === '5'")
    assert page.evaluate("window.headscope.state.heads") == [5]
    # a grid cell opens that layer and head
    page.click("#grid-details summary")
    page.click("#change-grid td[data-layer='4'][data-head='2']")
    page.wait_for_function("new URLSearchParams(location.search).get('layer') === '4'")
    page.wait_for_function("document.getElementById('bars-layer').textContent === '4'")
    state = query(page)
    assert state["heads"] == ["2"] and state["model"] == ["demo-re"] and state["right"] == [VARIANT]
    assert drawn(page)["left"] > 0

    # save as finding: the form opens with a title; the finding reopens this comparison
    page.click("#save-finding")
    page.wait_for_selector("#finding-dialog[open]")
    assert "source vs variant" in page.input_value("#finding-title")
    page.click("#finding-submit")
    page.wait_for_selector("#finding-saved:not([hidden])")
    finding = page.evaluate("window.headscope.lastFinding")
    assert finding["view"]["kind"] == "compare" and finding["view"]["layer"] == 4 and finding["view"]["heads"] == [2]
    assert finding["view"]["right"]["text"] == VARIANT and finding["input"]["text"] == SOURCE
    assert finding["snapshot"]["attention"]["layers"].keys() == {"4"}
    page.goto(page.base + "/f/" + finding["id"])
    page.wait_for_url("**/compare?**")
    page.wait_for_function("document.body.dataset.ready === '1' && window.headscope.response", timeout=60_000)
    assert page.evaluate("window.headscope.state.layer") == 4 and page.evaluate("window.headscope.state.heads") == [2]


def test_compare_pretrained_and_errors(page):
    # one input on the checkpoint and on its pretrained base: nothing is edited, the change is fine-tuning's
    url = (
        page.base
        + "/compare?"
        + urlencode(
            {
                "model": "demo-absa-qa-m",
                "left": "The pasta was great.",
                "aspect": "food",
                "right_pretrained": "1",
                "layer": 5,
            }
        )
    )
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1' && window.headscope.response", timeout=60_000)
    assert page.locator(".cmp-side .token.edited").count() == 0
    assert "pretrained" in page.text_content("#right-title")
    assert page.locator("#change-bars .cbar").count() == 24
    # an ABSA model without an aspect: the server's 422 is shown
    page.fill("#left-aspect", "")
    page.fill("#right-aspect", "")
    page.click("#compare-button")
    page.wait_for_selector("#error-box:not([hidden])")
    assert "aspect" in page.text_content("#error-box")


def test_an_empty_right_text_is_refused_when_both_sides_would_be_one_run(page):
    page.goto(page.base + "/compare")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
    page.select_option("#left-model", "demo-re")
    page.select_option("#right-model", "demo-re")
    page.fill("#left-text", SOURCE)
    page.fill("#right-text", "")
    posts = []
    page.on("request", lambda r: posts.append((r.url, r.post_data_json)) if r.method == "POST" else None)
    page.click("#compare-button")
    assert "same run" in page.text_content("#error-box") and posts == []
    page.fill("#right-text", SOURCE)  # the same text typed out: the same run too
    page.click("#compare-button")
    assert "same run" in page.text_content("#error-box") and posts == []
    # the pretrained base on the right, its text empty: two models on the left text
    page.fill("#right-text", "")
    page.check("#right-pretrained")
    page.click("#compare-button")
    page.wait_for_function("window.headscope.response && document.body.dataset.busy !== '1'", timeout=60_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    compared = [body for url, body in posts if url.endswith("/api/compare")]
    assert compared and compared[0]["right"]["pretrained"] and compared[0]["right"]["text"] == SOURCE, compared

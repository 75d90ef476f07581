"""The /inspect switch "Draw: attention weights / norm-based" in Chromium on the demo checkpoint: switching asks
for norm-based attention, redraws the head view and the model view from it, says so on the page and in the URL."""

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser
REVIEW = "The pasta was great but the waiter was rude."


def painted_edges(page) -> int:
    page.wait_for_function("document.getElementById('headview-canvas').dataset.painted === '1'")
    return page.evaluate("window.headscope.edgesDrawn")


def layer_bytes(page, layer: int) -> str:
    return page.evaluate(f"window.headscope.response.attention.layers['{layer}']")


def test_the_switch_redraws_both_views_from_norm_based_attention(page):
    page.goto(page.base + "/inspect")
    page.wait_for_selector("#model-select option[value='demo-absa-qa-m']", state="attached")
    page.fill("#text-input", REVIEW)
    page.fill("#aspect-input", "service")
    page.click("#run-button")
    page.wait_for_function("window.headscope.response && window.headscope.edgesDrawn > 0")
    assert page.is_hidden("#attention-kind-note")
    weights_bytes, weights_edges = layer_bytes(page, 0), painted_edges(page)

    page.select_option("#attention-kind", "norm")
    page.wait_for_function("window.headscope.response.attention_kind === 'norm'")
    page.wait_for_function("window.headscope.edgesDrawn > 0")
    assert layer_bytes(page, 0) != weights_bytes  # other values drawn, not the weights again
    norm_edges = painted_edges(page)
    assert norm_edges > 0 and norm_edges != weights_edges  # the 70% mass needs another number of lines
    assert page.is_visible("#attention-kind-note") and "divided by its sum" in page.text_content("#attention-kind-note")
    assert query(page)["attn"] == ["norm"]

    page.click("#tab-model")
    page.wait_for_function("document.querySelectorAll('#modelview-grid .thumb').length > 0")
    # the canvas heatmap carries its title in its aria-label
    title = "(document.querySelector('#heatmap canvas.heatmap-canvas')?.getAttribute('aria-label') || '')"
    page.wait_for_function(f"({title}).includes('norm-based')")
    page.select_option("#attention-kind", "weights")  # the model view redraws from the weights
    page.wait_for_function("window.headscope.response.attention_kind === 'weights'")
    page.wait_for_function(f"({title}).startsWith('head ') && !({title}).includes('norm-based')")
    assert "attn" not in query(page)

    page.select_option("#attention-kind", "norm")
    page.wait_for_function("window.headscope.response.attention_kind === 'norm'")
    page.reload()  # the URL keeps the choice
    page.wait_for_function("window.headscope.response && window.headscope.response.attention_kind === 'norm'")
    assert page.input_value("#attention-kind") == "norm"


def test_analysis_on_norm_based_attention_shows_the_sep_survival(page):
    page.goto(page.base + "/analysis")
    page.wait_for_selector("#model-select option[value='demo-absa-qa-m']", state="attached", timeout=60_000)
    page.select_option("#model-select", "demo-absa-qa-m")
    page.wait_for_selector("#data-select option[value='demo-absa']", state="attached")
    page.select_option("#data-select", "demo-absa")
    page.fill("#max-examples", "24")
    page.fill("#batch-size", "8")
    page.fill("#bootstrap", "100")
    page.uncheck("#pretrained")
    page.uncheck("#agreement")
    page.select_option("#attention-kind", "norm")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    facts = page.text_content("#norm-facts")
    assert "norm-based attention, each row divided by its sum" in facts and "24 (" in facts
    rows = page.locator("#sep-survival-table tr")
    assert rows.count() >= 6  # the header and at least the five largest no-op contrasts
    assert "share kept" in rows.first.text_content() and "%" in rows.nth(1).text_content()
    page.reload()  # the job's settings go back into the form
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=60_000)
    assert page.input_value("#attention-kind") == "norm"

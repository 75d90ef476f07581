"""Activation patching on the /compare page in headless Chromium: "Patch heads" on a source and its edited
variant draws the 6 × 12 map of the demo checkpoint with its legend, the residual map with a column per
aligned token and the note on unaligned tokens; a click on a head cell opens that head."""

from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.browser

CLEAN = "The food was great but the service was slow."
CORRUPTED = "The food was bland but the service was slow."


def test_patch_heads_draws_the_map_and_a_cell_opens_its_head(page):
    query = {"model": "demo-absa-qa-m", "left": CLEAN, "right": CORRUPTED, "aspect": "food", "layer": 0}
    page.goto(page.base + "/compare?" + urlencode(query))
    page.wait_for_function(
        "window.headscope && window.headscope.response && document.body.dataset.ready === '1'", timeout=60_000
    )
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    page.click("#patch-button")
    page.wait_for_selector("#patching:not([hidden])", timeout=120_000)
    assert page.locator("#patch-button + .error").count() == 0 or page.locator("#patch-button + .error").is_hidden()
    # 6 layers x 12 heads, every cell a number: the demo checkpoint's labels differ on these two inputs
    cells = page.locator("#patch-heads button.pt-cell")
    assert cells.count() == 6 * 12
    values = cells.evaluate_all("els => els.map(e => e.dataset.value)")
    assert all(v != "" for v in values) and max(float(v) for v in values) > 0
    assert "restored fraction of logit difference" in page.text_content("#patch-heads .pt-legend")
    # the residual map: the embeddings and 6 layers, a column per aligned token (all but the changed word)
    tokens = page.locator("#patch-residual .pt-token")
    assert "bland" not in tokens.all_text_contents() and "great" not in tokens.all_text_contents()
    assert page.locator("#patch-residual .pt-cell").count() == 7 * tokens.count()
    note = page.text_content("#patch-note")
    assert "inserted or deleted" in note and "left “great”; right “bland”" in note
    assert page.locator("#patching-panel a.concept[href='/concepts#activation-patching']").count() == 1
    # a head cell opens that head in the compare view
    page.click("#patch-heads button.pt-cell[data-layer='3'][data-head='9']")
    page.wait_for_function("window.headscope.state.layer === 3", timeout=60_000)
    page.wait_for_function("new URLSearchParams(location.search).get('heads') === '9'", timeout=60_000)
    page.wait_for_function("document.querySelector('#layer-select').value === '3'", timeout=60_000)
    assert not page.locator("#patching").is_hidden()  # the same inputs: the map stays

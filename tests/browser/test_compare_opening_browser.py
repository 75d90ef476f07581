"""Where /compare opens, in Debian's Chromium: without a layer in the URL, at the layer and head whose
attention moved most (not layer 0), saying so; the bars and the grid carry their unit."""

from urllib.parse import urlencode

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser

SOURCE = "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."
VARIANT = "The <e1>fire</e1> was started by a discarded <e2>cigarette</e2>."


def test_compare_opens_where_the_attention_moved_most(page):
    page.goto(page.base + "/compare?" + urlencode({"model": "demo-re", "left": SOURCE, "right": VARIANT}))
    page.wait_for_function(
        "document.body.dataset.ready === '1' && window.headscope.response && !document.body.dataset.busy",
        timeout=60_000,
    )
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    grid = page.evaluate("window.headscope.response.change.focus")
    best = max((v, layer, head) for layer, row in enumerate(grid) for head, v in enumerate(row) if v is not None)
    value, layer, head = best
    assert value > 0
    state = page.evaluate("window.headscope.state")
    assert (state["layer"], state["heads"]) == (layer, [head])
    assert query(page)["layer"] == [str(layer)] and query(page)["heads"] == [str(head)]
    assert page.text_content("#bars-layer") == str(layer) and page.input_value("#layer-select") == str(layer)
    note = page.text_content("#opened-at")
    assert page.locator("#opened-at").is_visible() and f"layer {layer}, head {head}" in note and "moved most" in note
    # the shown layer's bars are not all zero: the head that moved most is among them, at full length
    bars = page.locator("#change-bars .cbar[data-query='focus']")
    values = [float(bars.nth(h).get_attribute("data-value") or 0) for h in range(bars.count())]
    assert max(values) == pytest.approx(value) and values.index(max(values)) == head
    assert page.evaluate("window.headscope.edgesDrawn.left") > 0

    # the units: the bars' heading, the grid's caption and its summary
    assert "Jensen–Shannon divergence" in page.text_content("#compare-result h2:has(#bars-layer)")
    page.click("#grid-details summary")
    assert "JS divergence × 100" in page.text_content("#change-grid caption")
    assert "JS divergence × 100" in page.text_content("#grid-details summary")
    cell = page.locator(f"#change-grid td[data-layer='{layer}'][data-head='{head}']")
    assert cell.text_content() == f"{100 * value:.0f}" and "JS divergence" in cell.get_attribute("title")

    # moving to another layer hides the note; a URL that names a layer keeps it
    other = (layer + 1) % 6
    page.select_option("#layer-select", str(other))
    page.wait_for_function(f"document.getElementById('bars-layer').textContent === '{other}'")
    assert page.locator("#opened-at").is_hidden()
    page.goto(page.base + "/compare?" + urlencode({"model": "demo-re", "left": SOURCE, "right": VARIANT, "layer": 0}))
    page.wait_for_function("document.body.dataset.ready === '1' && window.headscope.response", timeout=60_000)
    assert page.evaluate("window.headscope.state.layer") == 0 and page.locator("#opened-at").is_hidden()

    # refused inputs: said at the top of the form, and the comparison below marked stale until one succeeds
    page.fill("#left-text", "A fire was caused by a cigarette.")
    page.click("#compare-button")
    page.wait_for_selector("#error-box:not([hidden])")
    assert "<e1>" in page.text_content("#error-box")
    assert "stale" in page.get_attribute("#compare-result", "class")
    assert "previous inputs" in page.get_attribute("#compare-result", "data-stale")
    page.fill("#left-text", SOURCE)
    page.click("#compare-button")
    page.wait_for_function("!document.getElementById('compare-result').classList.contains('stale')", timeout=60_000)
    assert page.locator("#error-box").is_hidden()

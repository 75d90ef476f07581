"""Switching heads off on the inspect page, and its knock-out map, in Debian's headless Chromium against a
running uvicorn: heads picked in the model view are sent as `intervene`, marked, listed and kept in the URL;
the knock-out map opens the head clicked; a factor that is not a number is refused before anything is sent."""

from __future__ import annotations

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser
REVIEW = "The pasta was great but the waiter was rude."
URL = f"/inspect?model=demo-absa-qa-m&text={REVIEW}&aspect=service"


def wait_for_heads(page, heads: list[list[int]]) -> None:
    page.wait_for_function(
        "want => { const r = window.headscope.response; return r && r.intervention && "
        "JSON.stringify(r.intervention.heads) === want && !document.body.dataset.busy; }",
        arg=str(heads).replace(" ", ""),
        timeout=60_000,
    )


def chips(page) -> list[str]:
    return page.locator("#iv-chips .iv-chip").all_text_contents()


def marked(page) -> list[list[int]]:
    return page.evaluate(
        "[...document.querySelectorAll('#modelview-grid .thumb.switched-off')]"
        ".map(t => [+t.dataset.layer, +t.dataset.head])"
    )


def test_picked_heads_show_before_and_after_and_survive_a_reload(page):
    page.goto(page.base + URL + "&view=model")
    page.wait_for_selector(".thumb[data-layer='5'][data-head='11']", timeout=60_000)
    page.check("#iv-pick")
    page.click(".thumb[data-layer='5'][data-head='3']")
    wait_for_heads(page, [[5, 3]])
    page.click(".thumb[data-layer='4'][data-head='7']")
    wait_for_heads(page, [[4, 7], [5, 3]])
    assert query(page)["view"] == ["model"]  # picking does not open the head

    outcome = page.evaluate("window.headscope.response.intervention")
    assert outcome["mode"] == "zero"
    rows = page.locator("#intervention-outcome .iv-row")
    assert rows.count() == len(outcome["after"]["probabilities"])
    for label, after in outcome["after"]["probabilities"].items():
        text = page.text_content(f"#intervention-outcome .iv-row[data-label='{label}']")
        before = outcome["before"]["probabilities"][label]
        assert f"{label} {before:.2f} → {after:.2f} (Δ " in text
    assert chips(page) == ["4.7", "5.3"]
    assert sorted(marked(page)) == [[4, 7], [5, 3]]
    assert query(page)["iv"] == ["4.7,5.3"]

    # a chip's click switches its head on again
    page.click("#iv-chips .iv-chip:text('5.3')")
    wait_for_heads(page, [[4, 7]])
    page.click(".thumb[data-layer='5'][data-head='3']")
    wait_for_heads(page, [[4, 7], [5, 3]])

    page.reload()
    wait_for_heads(page, [[4, 7], [5, 3]])
    page.wait_for_selector("#modelview-grid .thumb.switched-off")
    assert chips(page) == ["4.7", "5.3"]
    assert sorted(marked(page)) == [[4, 7], [5, 3]]
    assert page.is_visible("#intervention-outcome") and "→" in page.text_content("#intervention-outcome")

    # clear: the plain model again
    page.click("#iv-clear")
    page.wait_for_function("window.headscope.response && !window.headscope.response.intervention")
    assert page.is_hidden("#intervention-outcome") and chips(page) == [] and "iv" not in query(page)


def test_knockout_map_opens_the_clicked_head(page):
    page.goto(page.base + URL + "&view=model")
    page.wait_for_selector(".thumb[data-layer='5'][data-head='11']", timeout=60_000)
    page.click("#knockout-button")
    page.wait_for_selector("#knockout .ko-cell", timeout=120_000)
    assert page.locator("#knockout-map .ko-cell").count() == 6 * 12
    assert page.locator("#knockout-map .ko-layer").count() == 6
    label = page.evaluate("window.headscope.response.prediction.label")
    assert f"Δ probability of {label}" in page.text_content("#knockout-map .ko-legend")
    assert page.get_attribute("#knockout h2 a.concept", "href") == "/concepts#knock-out"

    # the table: largest drop first, or by layer.head
    deltas = page.evaluate("[...document.querySelectorAll('#knockout-map .ko-cell')].map(c => +c.dataset.delta)")
    first = page.locator("#knockout-table .ko-row").first
    layer, head = int(first.get_attribute("data-layer")), int(first.get_attribute("data-head"))
    assert deltas[layer * 12 + head] == min(deltas)
    page.click("#knockout-table button[data-sort='position']")
    assert page.locator("#knockout-table .ko-row").first.text_content().startswith("0.0")

    page.click("#knockout-map .ko-cell[data-layer='3'][data-head='7']")
    page.wait_for_function("new URLSearchParams(location.search).get('view') === 'head'")
    assert query(page)["layer"] == ["3"] and query(page)["heads"] == ["7"]
    assert page.evaluate("[window.headscope.state.layer, window.headscope.state.heads]") == [3, [7]]

    # another input: the map of the old one is cleared
    page.click("#tab-model")
    page.wait_for_selector("#knockout .ko-cell")
    page.fill("#aspect-input", "food")
    page.click("#run-button")
    page.wait_for_function("window.headscope.state.aspect === 'food' && !document.body.dataset.busy")
    assert page.is_hidden("#knockout")


def test_a_factor_that_is_not_a_number_is_refused_before_sending(page):
    page.goto(page.base + URL + "&iv=5.3")
    wait_for_heads(page, [[5, 3]])
    page.select_option("#iv-mode", "scale")
    page.wait_for_function("(window.headscope.response.intervention || {}).mode === 'scale'", timeout=60_000)
    assert page.input_value("#iv-factor") == "0.5"
    assert query(page)["iv_mode"] == ["scale"] and query(page)["iv_factor"] == ["0.5"]

    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/inspect" in r.url else None)
    error = page.locator("#intervene-controls + .error")
    for bad in ("abc", ""):
        page.fill("#iv-factor", bad)
        page.press("#iv-factor", "Tab")  # the change event
        error.wait_for(state="visible")
        assert "not a number" in error.text_content()
    page.wait_for_timeout(300)
    assert sent == []

    page.fill("#iv-factor", "0")
    page.press("#iv-factor", "Tab")
    page.wait_for_function("(window.headscope.response.intervention || {}).factor === 0", timeout=60_000)
    assert error.is_hidden() and len(sent) >= 1


def test_mean_ablation_over_a_chosen_reference_set(page):
    page.goto(page.base + URL + "&iv=5.3")
    wait_for_heads(page, [[5, 3]])
    assert page.is_hidden("#iv-reference-label")  # zero: no reference to choose
    page.select_option("#iv-mode", "mean")
    page.wait_for_function("(window.headscope.response.intervention || {}).mode === 'mean'", timeout=60_000)
    assert page.is_visible("#iv-reference-label")
    options = page.eval_on_selector_all("#iv-reference option", "os => os.map(o => o.value)")
    assert options[:2] == ["demo", "demo-absa"] and "demo-re" not in options  # the ABSA model's task only
    assert page.evaluate("window.headscope.response.intervention.reference") == "demo"
    assert "mean-ablated over demo" in page.text_content("#intervention-outcome")
    assert "iv_ref" not in query(page)  # the default stays out of the URL

    page.select_option("#iv-reference", "demo-absa")
    page.wait_for_function(
        "(window.headscope.response.intervention || {}).reference === 'demo-absa' && !document.body.dataset.busy",
        timeout=60_000,
    )
    assert "mean-ablated over demo-absa" in page.text_content("#intervention-outcome")
    assert query(page)["iv_ref"] == ["demo-absa"]
    page.reload()
    page.wait_for_function(
        "(window.headscope.response || {}).intervention && window.headscope.response.intervention.reference === "
        "'demo-absa'",
        timeout=60_000,
    )
    assert page.input_value("#iv-reference") == "demo-absa"

"""The /analysis summary page in Debian's headless Chromium (Playwright) against a running uvicorn.

Every request the page makes is checked: anything not to 127.0.0.1 is blocked and fails the test.
"""

import pytest
from browser_support import query, start_analysis  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser


def test_summary_runs_an_analysis_and_opens_a_typical_example(page):
    start_analysis(page)
    page.wait_for_selector("#progress-panel:not([hidden])")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    assert "16 / 16 pairs" in page.text_content("#progress-text")
    # plotly heatmap of the chosen statistic, drawn from our own static route
    page.wait_for_selector("#heatmap-main .main-svg")
    assert page.locator("#heatmap-main .hm, #heatmap-main .heatmaplayer").count() >= 1
    assert page.locator("#label-maps .label-map").count() >= 3  # aspect, no-op, phrase, ...
    # ranked table: one row per head, with scores and CIs
    rows = page.locator("#ranked-table tr[data-layer]")
    assert rows.count() == 6 * 12
    first = rows.first.locator("td").all_text_contents()
    greyed = "small-n" in (rows.first.get_attribute("class") or "")  # 16 pairs: maybe below the minimum n
    assert first[0] == ("–" if greyed else "1") and first[3].startswith("[")
    assert page.text_content("#interpretability").count("rate") >= 1
    state = query(page)
    assert state["stat"] == ["aspect_mass"] and state["id"][0]
    assert page.get_attribute("#download-link", "href") == f"/api/analyses/{state['id'][0]}/result.json"

    # pick a head in the table: the detail panel follows and the URL keeps it
    rows.nth(3).click()
    layer, head = int(rows.nth(3).get_attribute("data-layer")), int(rows.nth(3).get_attribute("data-head"))
    page.wait_for_function(f"new URLSearchParams(location.search).get('head') === '{head}'")
    assert page.text_content("#head-title") == f"Head {layer}.{head} (layer {layer}, head {head})"
    link = page.locator("#typical-list a.typical-link").first
    href = link.get_attribute("href")
    assert "/inspect?" in href
    link.click()
    page.wait_for_url("**/inspect?**")
    state = query(page)
    assert state["layer"] == [str(layer)] and state["heads"] == [str(head)] and state["model"] == ["demo-absa-qa-m"]
    assert state["aspect"][0] and state["text"][0]
    page.wait_for_function(
        "window.headscope && window.headscope.response && window.headscope.edgesDrawn > 0", timeout=60_000
    )
    assert page.evaluate("window.headscope.state.layer") == layer
    assert page.evaluate("window.headscope.state.heads") == [head]
    assert page.input_value("#layer-select") == str(layer)


def test_second_open_is_cached_and_errors_are_shown(page):
    for _ in range(2):  # the first test may have run it already; the second open is from the cache either way
        start_analysis(page)
        page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert "from the cache" in page.text_content("#result-meta")
    # a reload with the analysis id in the URL reopens the result
    page.reload()
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=60_000)
    assert page.locator("#ranked-table tr[data-layer]").count() == 72
    # Save as finding (a refusal would be shown in the error box, never swallowed)
    page.click("#save-finding")
    page.wait_for_function("document.getElementById('finding-status').textContent !== 'saving…'")
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    assert page.text_content("#finding-status a").startswith("saved as finding")
    # a task/data mismatch comes back as a readable 422
    page.goto(page.base + "/analysis")
    page.wait_for_selector("#model-select option[value='demo-re']", state="attached")
    page.select_option("#model-select", "demo-re")
    page.evaluate("document.getElementById('data-select').add(new Option('demo-absa', 'demo-absa'))")
    page.select_option("#data-select", "demo-absa")
    page.click("#start-button")
    page.wait_for_selector("#error-box:not([hidden])")
    assert "relation" in page.text_content("#error-box")

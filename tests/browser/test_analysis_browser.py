"""The /analysis summary page in Debian's headless Chromium (Playwright) against a running uvicorn.

Every request the page makes is checked: anything not to 127.0.0.1 is blocked and fails the test.
"""

import os
import re

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
    assert page.input_value("#max-examples") == "16"  # the form shows the run's settings, not its defaults
    assert page.get_attribute("#max-examples", "placeholder") == "all"  # what an empty field asks for
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


def test_the_data_list_offers_only_what_the_models_task_can_read(page):
    page.goto(page.base + "/analysis")
    page.wait_for_selector("#model-select option[value='demo-absa-qa-m']", state="attached", timeout=60_000)
    listing = page.evaluate("fetch('/api/analyses/datasets').then(r => r.json())")
    by_task = {task: {d["name"] for d in listing["shared"] if d.get("task") == task} for task in ("absa", "re")}
    if os.environ.get("HEADSCOPE_SHARED_DATA"):  # the benchmarks hold files of both tasks: the filter is put to work
        assert by_task["absa"] and by_task["re"], listing["shared"]
    for model, own, other in (("demo-absa-qa-m", "demo-absa", "demo-re"), ("demo-re", "demo-re", "demo-absa")):
        page.select_option("#model-select", model)
        page.wait_for_selector(f"#data-select option[value='{own}']", state="attached")
        offered = set(page.eval_on_selector_all("#data-select option", "os => os.map(o => o.value)"))
        task = "absa" if own == "demo-absa" else "re"
        other_task = "re" if task == "absa" else "absa"
        assert other not in offered and not offered & by_task[other_task], offered  # nothing of the other task
        assert by_task[task] <= offered  # every shared file of its own
        label = page.eval_on_selector(f"#data-select option[value='{own}']", "o => o.textContent")
        assert "training data" in label  # the demo data is what the demo model learnt from: said in the list


def test_an_unreadable_upload_is_named_by_its_file(page, tmp_path):
    bad = tmp_path / "my-reviews.jsonl"
    bad.write_text('{"text": "The soup was cold."}\n')  # no aspects, no entities: nothing to analyse
    page.goto(page.base + "/analysis")
    page.wait_for_selector("#model-select option[value='demo-absa-qa-m']", state="attached", timeout=60_000)
    page.select_option("#model-select", "demo-absa-qa-m")
    page.set_input_files("#upload-input", str(bad))
    page.click("#start-button")
    page.wait_for_selector("#error-box:not([hidden])")
    message = page.text_content("#error-box")
    assert 'your file "my-reviews.jsonl"' in message and not re.search(r"[0-9a-f]{64}", message), message

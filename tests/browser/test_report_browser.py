"""The /report page in Debian's headless Chromium (Playwright) against a running uvicorn: two demo checkpoints
side by side — start a small report, follow its progress, read the comparison chart, the reliability diagrams,
the ROC curves, the scatter and the tables, reopen it from its URL. Every request goes to 127.0.0.1."""

import os
import re

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser
MODELS = ("demo-absa-qa-m", "demo-re")


def test_two_demo_checkpoints_side_by_side(page):
    page.goto(page.base + "/report")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
    for model in MODELS:  # the default checkpoint of each task is ticked
        assert page.is_checked(f"#model-choices input[value='{model}']")
    page.fill("#max-examples", "16")
    page.fill("#batch-size", "16")
    page.uncheck("#attack-choices input[value='pwws']")
    page.fill("#attack-examples", "2")
    page.fill("#budget", "8")
    page.click("#start-button")
    page.wait_for_selector("#progress-panel:not([hidden])")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=300_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    assert "inputs" in page.text_content("#progress-text")
    state = query(page)
    assert state["models"] == [",".join(MODELS)] and state["id"][0]
    assert page.get_attribute("#download-link", "href") == f"/api/reports/{state['id'][0]}/result.json"

    # one bar trace per checkpoint across the six perspectives (vendored plotly)
    page.wait_for_selector("#chart-perspectives .main-svg")
    assert page.locator("#chart-perspectives .barlayer .trace").count() == 2
    legend = page.text_content("#chart-perspectives .legend")
    assert all(m in legend for m in MODELS)
    # no shifted set: said on the chart, not drawn as a zero
    assert "not available" in page.text_content("#chart-perspectives .annotation")
    # every chart names its axes; what each perspective is and which way is better, per axis
    for chart in ("#chart-perspectives", "#chart-scatter", "#reliability-charts", "#roc-charts"):
        assert page.locator(f"{chart} .g-xtitle").count() >= 1 and page.locator(f"{chart} .g-ytitle").count() >= 1
    axes = page.text_content("#perspective-axes")
    assert "3-way sentiment accuracy" in axes and "ranks nothing" in axes and "higher is better on every" not in axes
    # one colour per checkpoint on the whole page: the scatter's in distribution / under attack differ by shape
    colours = page.evaluate(
        "[...document.querySelectorAll('#chart-perspectives .barlayer .trace')]"
        ".map(t => t.querySelector('path').style.fill)"
    )
    scatter = page.evaluate(
        "[...document.querySelectorAll('#chart-scatter .scatterlayer .point')].map(p => p.style.stroke)"
    )
    assert len(set(colours)) == 2 and set(scatter) == set(colours)
    # a reliability diagram and a ROC chart per checkpoint, and the scatter
    for box in ("#reliability-charts", "#roc-charts"):
        assert page.locator(f"{box} .rp-chart.js-plotly-plot").count() == 2
        assert [page.get_attribute(f"{box} .rp-chart >> nth={i}", "data-model") for i in range(2)] == list(MODELS)
    assert page.locator("#reliability-charts .barlayer .point").count() >= 2
    assert page.locator("#roc-charts .scatterlayer .trace").count() >= 4  # a curve and chance, per checkpoint
    assert page.locator("#chart-scatter .scatterlayer .point").count() >= 2
    assert "three or more" in page.text_content("#correlation-note")
    # the tables: one summary row per checkpoint, each checkpoint's details with the reasons for what is missing
    rows = page.locator("#summary-table tr[data-model]")
    assert [rows.nth(i).get_attribute("data-model") for i in range(rows.count())] == list(MODELS)
    relation = page.locator('#summary-table tr[data-model="demo-re"]')
    assert "not available" in relation.text_content()  # relation extraction has no shifted set, whatever the data
    absa_row = page.text_content('#summary-table tr[data-model="demo-absa-qa-m"]')
    assert "3-way sentiment accuracy" in absa_row and "aspect-detection F1" in absa_row  # each number named
    sentence = page.text_content('#model-details [data-model="demo-re"] .in-distribution')
    assert sentence.count("accuracy") == 1, sentence  # the relation headline accuracy is said once
    absa_sentence = page.text_content('#model-details [data-model="demo-absa-qa-m"] .in-distribution')
    # 3-way accuracy rests on the pairs whose gold is a sentiment, fewer than the set's: said beside it
    assert re.search(r"\(n=(\d+)\): 3-way sentiment accuracy [\d.]+ \(over (\d+) of them\)", absa_sentence), (
        absa_sentence
    )
    details = page.text_content("#model-details")
    assert "hotflip" in details and "SemEval-2010" in details
    if not os.environ.get("HEADSCOPE_SHARED_DATA"):  # without the benchmarks the reasons name the setting
        assert "HEADSCOPE_SHARED_DATA" in details
    drawn = page.evaluate("window.headscope.plots")

    # the URL reopens the same report: its stored result, no new job
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(page.url)
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=60_000)
    assert page.evaluate("window.headscope.job.status") == "done" and posts == []
    assert page.evaluate("window.headscope.job.id") == state["id"][0]
    assert page.locator("#chart-perspectives .barlayer .trace").count() == 2
    assert page.evaluate("window.headscope.plots") == drawn  # the same charts again

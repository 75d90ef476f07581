"""The /robustness page in Debian's headless Chromium (Playwright) against a running uvicorn: start a small
run, follow its progress, read the charts and tables, and open an example in the compare view.
Every request the page makes must go to 127.0.0.1."""

import colorsys

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser


def start_run(page, tests=("q1-typo", "q5-entity-only"), sources=12, submit=True):
    page.goto(page.base + "/robustness")
    page.wait_for_selector("#model-select option[value='demo-re']", state="attached", timeout=60_000)
    page.select_option("#model-select", "demo-re")
    page.wait_for_selector("#test-choices input[value='q5-entity-only']")
    page.select_option("#data-select", "demo-re")
    for name in tests:
        page.check(f"#test-choices input[value='{name}']")
    page.fill("#max-examples", str(sources))
    page.fill("#batch-size", "8")
    page.fill("#bootstrap", "50")
    if submit:
        page.click("#start-button")


def hue_family(hex_colour: str) -> str:
    """'red', 'blue' or 'other' for a saturated #rrggbb colour ('grey' when it has next to no hue)."""
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(r, g, b)
    if saturation < 0.25:
        return "grey"
    degrees = hue * 360
    return "red" if degrees < 20 or degrees > 340 else "blue" if 195 <= degrees <= 245 else "other"


def test_run_charts_tables_and_the_compare_link(page):
    start_run(page)
    page.wait_for_selector("#progress-panel:not([hidden])")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    assert "inputs" in page.text_content("#progress-text") and "done" in page.text_content("#progress-text")
    state = query(page)
    assert state["model"] == ["demo-re"] and state["id"][0]
    assert page.get_attribute("#download-link", "href") == f"/api/robustness/{state['id'][0]}/result.json"
    # charts from the vendored plotly: accuracy with CI error bars, rates, heads × tests
    for chart in ("#chart-accuracy", "#chart-rates", "#chart-heads"):
        page.wait_for_selector(f"{chart} .main-svg")
    assert page.locator("#chart-accuracy .errorbar").count() >= 2
    assert page.locator("#chart-heads .hm, #chart-heads .heatmaplayer").count() >= 1
    # colours mean one thing per page: red and blue are the heads map's (broken vs held moved more), no bar's
    bar_colours = page.evaluate(
        "['chart-accuracy', 'chart-rates'].flatMap(id => document.getElementById(id).data.map(t => t.marker.color))"
    )
    assert len(set(bar_colours)) == len(bar_colours), bar_colours
    assert not [c for c in bar_colours if hue_family(c) in ("red", "blue")], bar_colours
    # one row per test; the examples of the selected test, broken first, each with a compare link
    assert page.locator("#tests-table tr[data-test]").count() == 2
    page.click("#tests-table tr[data-test='q5-entity-only']")
    page.wait_for_function("new URLSearchParams(location.search).get('test') === 'q5-entity-only'")
    assert page.locator("#tests-table tr.selected").get_attribute("data-test") == "q5-entity-only"
    rows = page.locator("#examples-table tr[data-variant]")
    assert rows.count() >= 1
    link = rows.first.locator("a.compare-link")
    href = link.get_attribute("href")
    assert href.startswith("/compare?") and "model=demo-re" in href

    link.click()
    page.wait_for_url("**/compare?**")
    page.wait_for_function("document.body.dataset.ready === '1' && window.headscope.response", timeout=60_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    opened = query(page)
    assert opened["model"] == ["demo-re"] and opened["left"][0] != opened["right"][0]
    assert opened["right"][0].startswith("<e1>")  # the entities alone
    edges = page.evaluate("window.headscope.edgesDrawn")
    assert edges["left"] > 0 and edges["right"] > 0
    assert page.locator("#left-panel .token.edited").count() > 0  # the context the variant left out
    assert page.locator("#change-bars .cbar").count() == 24


def test_reload_reopens_the_stored_run(page):
    start_run(page)
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert "from the cache" in page.text_content("#result-meta")  # the first test ran the same request
    page.reload()
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=60_000)
    assert page.locator("#tests-table tr[data-test]").count() == 2
    # the [CLS] query set redraws the heads chart and the table's moved heads
    drawn = int(page.get_attribute("#chart-heads", "data-drawn"))
    page.select_option("#query-select", "cls")
    page.wait_for_function(f"+document.getElementById('chart-heads').dataset.drawn > {drawn}")
    assert query(page)["query"] == ["cls"]
    assert "(cls)" in page.locator("#tests-table tr").first.text_content()  # the heading row (a caption may precede it)
    # the demo data is its own training file: the rule test that needs one is offered, not refused
    # (tests this data cannot run are disabled with their reason: test_capabilities_browser.py)
    page.goto(page.base + "/robustness")
    page.wait_for_selector("#model-select option[value='demo-re']", state="attached")
    page.select_option("#model-select", "demo-re")
    page.select_option("#data-select", "demo-re")
    page.wait_for_selector("#test-choices input[value='q4-rule-mask']")
    page.wait_for_function("!document.querySelector('#test-choices input:disabled')")
    assert page.locator("#test-choices input[value='q4-rule-mask']").is_enabled()


def test_a_patched_run_shows_the_heads_that_carry_the_flips(page):
    start_run(page, tests=("q5-entity-only",), sources=30, submit=False)  # demo-re breaks on a third of these
    page.check("#patch")
    page.fill("#patch-limit", "3")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1' && !!window.headscope.result", timeout=240_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    result = page.evaluate("window.headscope.result")
    assert result["settings"]["patch"] is True and result["settings"]["patch_limit"] == 3
    patched = result["tests"][0]["patched"]
    assert page.locator("#carriers-panel").is_visible()
    assert "at most 3 flipped pairs per test" in page.text_content("#carriers-note")
    row = page.locator("#carriers-table tr[data-test='q5-entity-only']")
    assert f"{patched['pairs']} of {patched['eligible']} flipped" in row.text_content()
    carriers = patched["carriers"]
    lines = row.locator("td:nth-child(3) div[data-layer]")
    assert lines.count() == len(carriers)
    if carriers:
        top = carriers[0]
        assert lines.first.get_attribute("data-layer") == str(top["layer"])
        assert f"{top['layer']}.{top['head']}" in lines.first.text_content()
        lines.first.locator("button").click()
        page.wait_for_function(f"new URLSearchParams(location.search).get('layer') === '{top['layer']}'")
        assert query(page)["head"] == [str(top["head"])]
    else:
        assert "no head above its control" in row.text_content()
    moved = row.locator("td:nth-child(4) button")
    assert moved.count() == len(patched["moved"])


def test_moved_heads_from_too_few_pairs_are_greyed_out_not_ranked(page):
    # 12 sources: at most 12 broken + held pairs, so at least one side is below the minimum n (10).
    start_run(page)
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    rows = page.locator("#tests-table tr[data-test]")
    assert rows.count() == 2
    greyed = page.locator("#tests-table td.heads-cell.small-n")
    assert greyed.count() >= 1, page.text_content("#tests-table")
    note = greyed.first.locator(".small-n-note").text_content()
    assert "not ranked" in note and "broken /" in note and "held pairs" in note and "minimum n of 10" in note
    assert greyed.first.locator("a.concept[href='/concepts#minimum-n']").count() == 1
    assert page.locator("#tests-table td.heads-cell:not(.small-n) .small-n-note").count() == 0
    # the rates on 12 sources or fewer are greyed too, and the table says why
    assert page.locator("#tests-table td.num.small-n").count() >= 1
    assert "minimum n" in page.text_content("#tests-table caption")


def test_a_test_on_fewer_sources_says_why_without_squeezing_the_table(page):
    # few demo relation sentences hold a number: q1-number runs on fewer sources than asked
    page.set_viewport_size({"width": 1400, "height": 900})
    start_run(page, tests=("q1-typo", "q1-number"))
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert page.is_hidden("#untrained-note")  # a fine-tuned checkpoint
    note = page.locator("#tests-table tr[data-test='q1-number'] .fewer-sources")
    assert "of 12" in note.text_content() and "no variant" in note.text_content()
    # the note wraps in its column: each row stays a few lines high and the moved heads keep their room
    rows = page.evaluate(
        "[...document.querySelectorAll('#tests-table tr[data-test]')].map((tr) => "
        "({h: tr.getBoundingClientRect().height, heads: tr.lastElementChild.getBoundingClientRect().width}))"
    )
    assert all(r["h"] < 120 and r["heads"] >= 200 for r in rows), rows
    # and the whole table fits its panel at 1400 px: a rate's CI and n sit under its value
    fits = page.evaluate(
        "(() => { const t = document.getElementById('tests-table');"
        " return [t.scrollWidth, t.parentElement.clientWidth]; })()"
    )
    assert fits[0] <= fits[1], fits
    assert page.locator("#chart-accuracy .modebar, #chart-rates .modebar").count() == 0  # nothing over the titles
    # the charts title their axes, and fade the bars from fewer pairs than the minimum n, as the table greys them
    assert page.text_content("#chart-accuracy .g-ytitle") == "accuracy"
    assert page.text_content("#chart-rates .g-ytitle") == "rate"
    assert page.text_content("#chart-accuracy .g-xtitle") == "test"
    faded = page.evaluate(
        "(() => { const d = document.getElementById('chart-accuracy').data[1];"
        " return Object.fromEntries(d.x.map((t, i) => [t, d.marker.opacity[i]])); })()"
    )
    assert faded["q1-number"] < 1 and faded["q1-typo"] == 1
    assert "faded: n < 10" in page.text_content("#chart-accuracy .gtitle")


def test_the_form_keeps_labels_beside_their_selects_and_the_patch_limit_off_without_patching(page):
    page.set_viewport_size({"width": 1400, "height": 900})
    start_run(page, tests=(), submit=False)
    tops = page.evaluate(
        "['model-select', 'data-select', 'train-select']"
        ".map((id) => document.getElementById(id).getBoundingClientRect().top)"
    )
    assert max(tops) - min(tops) < 4, tops
    assert page.is_disabled("#patch-limit") and "patch heads" in page.get_attribute("#patch-limit", "title")
    page.check("#patch")
    assert page.is_enabled("#patch-limit")


def test_an_untrained_checkpoints_run_says_so_beside_its_predictions(page):
    page.goto(page.base + "/robustness")
    page.wait_for_selector("#model-select option[value='pretrained-minilm-re']", state="attached", timeout=60_000)
    page.select_option("#model-select", "pretrained-minilm-re")
    page.wait_for_selector("#test-choices input[value='q1-typo']")
    page.select_option("#data-select", "demo-re")
    page.check("#test-choices input[value='q1-typo']")
    page.fill("#max-examples", "8")
    page.fill("#bootstrap", "50")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert page.is_visible("#untrained-note")
    assert page.text_content("#untrained-note").startswith("Untrained checkpoint:")


def test_a_run_that_broke_nothing_says_so_instead_of_a_blank_heads_map(page):
    # a typo and a punctuation change on a few sources of the relation demo: no prediction flips
    start_run(page, tests=("q1-typo", "q1-punctuation"), sources=6)
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    broken = page.evaluate("window.headscope.result.tests.map(t => t.moved && t.moved.focus ? 1 : 0)")
    if any(broken):
        pytest.skip(f"these sources broke under a test here ({broken}): the empty state is not reached")
    assert page.get_attribute("#chart-heads", "data-empty") == "1"
    assert "no test had both broken and held pairs" in page.text_content("#chart-heads .chart-empty")
    assert page.locator("#chart-heads .main-svg").count() == 0  # no blank map with a numeric axis

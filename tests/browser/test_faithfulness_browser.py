"""The faithfulness map on /inspect (model view): every head of the demo checkpoint scored by erasure, every source
in the table, a click on a cell opens that head, and the /analysis panel after an analysis with faithfulness pairs."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from browser_support import query, start_analysis  # tests/ is on sys.path (rootdir conftest)
from faithfulness_support import LIVE_SOURCES

pytestmark = pytest.mark.browser

URL = "/inspect?model=demo-absa-qa-m&text=" + quote("The pasta was great but the waiter was rude.") + "&aspect=service"


def test_faithfulness_map_draws_every_head_and_source(page):
    page.goto(page.base + URL + "&view=model")
    page.wait_for_selector(".thumb[data-layer='5'][data-head='11']", timeout=60_000)
    page.click("#faith-button")
    page.wait_for_selector("#faithfulness-map .faith-cell", timeout=240_000)
    assert page.locator("#faithfulness-map .faith-cell").count() == 6 * 12
    sources = page.evaluate(
        "[...document.querySelectorAll('.faith-sources tr[data-source]')].map(r => r.dataset.source)"
    )
    assert set(sources) == LIVE_SOURCES
    shown = page.evaluate("[...document.querySelectorAll('#faithfulness-map .faith-cell')].map(c => c.dataset.value)")
    expected = page.evaluate("window.headscope.faithfulness.heads.attention.normalised_comprehensiveness.flat()")
    assert [None if v in ("null", "undefined") else float(v) for v in shown] == expected
    page.select_option("#faithfulness-map .faith-kind", "norm_attention")
    expected = page.evaluate("window.headscope.faithfulness.heads.norm_attention.normalised_comprehensiveness.flat()")
    shown = page.evaluate("[...document.querySelectorAll('#faithfulness-map .faith-cell')].map(c => c.dataset.value)")
    assert [None if v in ("null", "undefined") else float(v) for v in shown] == expected

    # a click on a cell opens that head in the head view, as the agreement map's cells do
    page.click("#faithfulness-map .faith-cell[data-layer='3'][data-head='7']")
    page.wait_for_function("window.headscope.state.view === 'head'")
    assert page.evaluate("window.headscope.state.layer") == 3
    assert page.evaluate("window.headscope.state.heads") == [7]
    page.wait_for_function("new URLSearchParams(location.search).get('view') === 'head'")
    state = query(page)
    assert state["layer"] == ["3"] and state["heads"] == ["7"]
    assert page.input_value("#layer-select") == "3"


def test_analysis_panel_shows_faithfulness_of_every_source(page):
    """An analysis with faithfulness pairs fills the "Plausibility vs faithfulness" panel from its result."""
    start_analysis(page, pairs=8, faithfulness=2)  # erasure on the first 2 of 8 pairs
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=480_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    result = page.evaluate("fetch(document.getElementById('download-link').href).then(r => r.json())")
    section = result["faithfulness"]
    assert section["pairs"] == 2
    facts = dict(
        zip(
            page.locator("#faithfulness-facts dt").all_text_contents(),
            page.locator("#faithfulness-facts dd").all_text_contents(),
            strict=True,
        )
    )
    assert "not computed" not in facts
    assert "2 pairs" in facts["erasure"] and section["settings"]["erasure"] in facts["erasure"]
    assert set(section["sources"]) <= set(facts) and "random" in section["sources"]
    for name, figures in section["sources"].items():
        mean = figures["aopc_comprehensiveness"]["mean"]
        assert facts[name].startswith(f"compr. {mean:.4f} ["), (name, facts[name])
    shown = page.locator("#faithful-heads tr[data-layer]")
    assert shown.count() == len(section["faithful"])
    assert page.locator("#faithful-heads").is_visible() == bool(section["faithful"])
    # source against source on the same pairs: a row per paired difference, its mean and CI as in the result
    rows = page.locator("#faith-paired tr[data-figure]")
    assert rows.count() == len(section["paired"]) > 0
    first = section["paired"][0]
    cells = rows.nth(0).locator("td").all_text_contents()
    assert cells[1] == f"{first['first']} − {first['second']}" and cells[2] == str(first["pairs"])
    assert cells[3].startswith(f"{first['mean']:.4f} [")

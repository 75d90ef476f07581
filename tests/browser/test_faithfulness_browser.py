"""The faithfulness map on /inspect (model view): every head of the demo checkpoint scored by erasure, every source
in the table, and a bad choice answered with the server's message."""

from __future__ import annotations

from urllib.parse import quote

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
    assert set(sources) == {
        "head_mean",
        "norm_head_mean",
        "rollout",
        "flow",
        "ig",
        "grad_x_input",
        "random",
        "occlusion",
    }
    shown = page.evaluate("[...document.querySelectorAll('#faithfulness-map .faith-cell')].map(c => c.dataset.value)")
    expected = page.evaluate("window.headscope.faithfulness.heads.attention.normalised_comprehensiveness.flat()")
    assert [None if v in ("null", "undefined") else float(v) for v in shown] == expected
    page.select_option("#faithfulness-map .faith-kind", "norm_attention")
    expected = page.evaluate("window.headscope.faithfulness.heads.norm_attention.normalised_comprehensiveness.flat()")
    shown = page.evaluate("[...document.querySelectorAll('#faithfulness-map .faith-cell')].map(c => c.dataset.value)")
    assert [None if v in ("null", "undefined") else float(v) for v in shown] == expected

"""Attribution on the inspect page, in Debian's headless Chromium against a running uvicorn: token strips
under the head view (pieces and words), the agreement map of the model view, and findings and their
offline export keeping the attribution that was shown."""

from __future__ import annotations

import pytest
from browser_support import guarded_page, query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser
REVIEW = "The tiramisu was unbelievably scrumptious but the waiter was rude."
MODEL = "demo-absa-qa-m"
URL = f"/inspect?model={MODEL}&text={REVIEW}&aspect=service"


@pytest.fixture
def page(browser, server):
    with guarded_page(browser, accept_downloads=True) as (page, offsite):
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.base = server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"
    assert errors == [], f"script errors on the page: {errors}"


def strips(page) -> dict[str, list[float]]:
    """method -> the scores its strip shows, token by token."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#attribution-strips .attr-row')]
        .map(r => [r.dataset.method, [...r.querySelectorAll('.attr-tok')].map(t => +t.dataset.score)]))""")


def test_strips_under_the_head_view_in_pieces_and_words(page):
    page.goto(page.base + URL + "&attr=ig,rollout&ig_steps=8")
    page.wait_for_selector("#attribution-strips[data-rows='2']", timeout=60_000)
    resp = page.evaluate("window.headscope.response")
    shown = strips(page)
    assert set(shown) == {"ig", "rollout"}
    assert all(len(scores) == len(resp["tokens"]) for scores in shown.values())
    assert shown["ig"] == pytest.approx(resp["attribution"]["methods"]["ig"]["scores"], abs=1e-6)
    assert sum(shown["ig"]) == pytest.approx(
        resp["attribution"]["methods"]["ig"]["completeness"]["attribution_sum"], abs=1e-3
    )
    assert "completeness gap" in page.text_content("#attribution-strips .attr-caption")
    # the aspect tokens are marked; [CLS] (the query) is outlined
    aspect = resp["spans"]["aspect_query"][0]
    style = page.eval_on_selector(
        f".attr-row[data-method='ig'] .attr-tok[data-index='{aspect}']", "e => e.style.borderBottom"
    )
    assert "transparent" not in style
    assert (
        page.eval_on_selector(".attr-row[data-method='ig'] .attr-tok[data-index='0']", "e => e.style.outline") != "none"
    )
    # the controls show the URL's choice; a strip token pins that token in the head view
    assert page.is_checked("#attribution-controls input[value='ig']") and page.input_value("#ig-steps") == "8"
    page.click(".attr-row[data-method='rollout'] .attr-tok[data-index='3']")
    page.wait_for_selector("#tokens-left .token.pinned[data-index='3']")

    # words: one chip per word, each the sum of its pieces
    page.check("#word-mode")
    page.wait_for_function(
        "() => window.headscope.response && window.headscope.response.level === 'word' "
        "&& document.querySelector('#attribution-strips').dataset.rows === '2'"
    )
    words = page.evaluate("window.headscope.response")
    per_word = [0.0] * len(words["tokens"])
    for token, score in zip(resp["tokens"], shown["ig"]):
        per_word[token["word"]] += score
    assert strips(page)["ig"] == pytest.approx(per_word, abs=1e-4)

    # methods off: no strips and nothing left in the URL
    page.uncheck("#attribution-controls input[value='ig']")
    page.wait_for_selector("#attribution-strips[data-rows='1']")
    page.uncheck("#attribution-controls input[value='rollout']")
    page.wait_for_selector("#attribution-strips", state="hidden")
    assert "attr" not in query(page)


def test_agreement_map_opens_the_clicked_head(page):
    page.goto(page.base + URL + "&view=model&attr=rollout,grad_x_input")
    page.wait_for_selector("#agreement-map .agree-cell", timeout=60_000)
    resp = page.evaluate("window.headscope.response")
    cells = page.query_selector_all("#agreement-map .agree-cell")
    assert len(cells) == resp["num_layers"] * resp["num_heads"]
    page.select_option("#agreement-map .agree-method", "grad_x_input")
    page.select_option("#agreement-map .agree-metric", "kendall")
    page.wait_for_selector("#agreement-map[data-metric='kendall'][data-method='grad_x_input']")
    assert query(page)["agree"] == ["grad_x_input:kendall"]
    value = float(page.get_attribute("#agreement-map .agree-cell[data-layer='4'][data-head='7']", "data-value"))
    assert value == pytest.approx(
        resp["attribution"]["agreement"]["methods"]["grad_x_input"]["kendall"][4][7], abs=1e-6
    )
    page.click("#agreement-map .agree-cell[data-layer='4'][data-head='7']")
    page.wait_for_function("() => !document.getElementById('headview-panel').hidden && window.headscope.edgesDrawn > 0")
    state = query(page)
    assert state["view"] == ["head"] and state["layer"] == ["4"] and state["heads"] == ["7"]


def test_finding_and_offline_export_keep_the_attribution(page, tmp_path, browser):
    page.goto(page.base + URL + "&attr=grad_x_input,flow")
    page.wait_for_selector("#attribution-strips[data-rows='2']", timeout=60_000)
    page.click("#save-finding-head")
    page.wait_for_selector("#finding-dialog[open]")
    page.fill("#finding-title", "Attribution kept")
    page.click("#finding-submit")
    page.wait_for_selector("#finding-saved:not([hidden])", timeout=30_000)
    finding = page.evaluate("window.headscope.lastFinding")
    assert set(finding["snapshot"]["attribution"]["methods"]) == {"grad_x_input", "flow"}

    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.get_attribute(".snapshot-view .attr-strips", "data-rows") == "2"
    with page.expect_download() as download:
        page.click("#export-html")
    path = tmp_path / "finding.html"
    download.value.save_as(path)
    with guarded_page(browser, lambda url: url.startswith("file://")) as (offline, requested):
        offline.goto(path.as_uri())
        offline.wait_for_function("() => document.body.dataset.ready === '1'")
        chips = offline.eval_on_selector_all(
            ".snapshot-view .attr-row[data-method='flow'] .attr-tok", "els => els.map(e => +e.dataset.score)"
        )
        assert chips == pytest.approx(finding["snapshot"]["attribution"]["methods"]["flow"]["scores"], abs=1e-6)
    assert requested == []

    # the permalink asks the live view for the same attribution again
    page.goto(f"{page.base}/f/{finding['id']}")
    page.wait_for_url("**/inspect?*")
    assert query(page)["attr"] == ["grad_x_input,flow"]
    page.wait_for_selector("#attribution-strips[data-rows='2']", timeout=60_000)


def test_analysis_page_shows_agreement_and_ig(page):
    """/analysis with integrated gradients: the agreement statistics, their label map and the IG figures."""
    page.goto(page.base + "/analysis")
    page.wait_for_selector("#data-select option[value='demo-absa']", state="attached", timeout=60_000)
    page.select_option("#model-select", "demo-absa-qa-m")
    page.select_option("#data-select", "demo-absa")
    page.fill("#max-examples", "16")
    page.fill("#batch-size", "8")
    page.fill("#bootstrap", "100")
    page.uncheck("#pretrained")
    page.check("#ig")
    page.fill("#ig-steps", "4")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    result = page.evaluate("window.headscope.result")
    assert result["settings"]["ig"] is True and result["attribution"]["ig"]["steps"] == 4
    facts = page.text_content("#attribution-facts")
    assert "integrated gradients4 steps, 16 pairs" in facts and "pairs/s" in facts and "completeness gap" in facts
    assert "interpretability, IG vs attention" in facts
    assert page.locator("#label-maps .label-map[data-label='attribution']").count() == 1
    page.select_option("#stat-select", "ig_agreement")
    page.wait_for_function("new URLSearchParams(location.search).get('stat') === 'ig_agreement'")
    page.wait_for_selector("#heatmap-main .main-svg")

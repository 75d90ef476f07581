"""End to end in Debian's headless Chromium (driven by Playwright) against a running uvicorn.

Every request the page makes is checked: anything not to 127.0.0.1 is blocked and fails the test.
"""

import pytest
from browser_support import guarded_page, query  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser
REVIEW = "The pasta was great but the waiter was rude."


@pytest.fixture
def page(browser, server):
    with guarded_page(browser) as (page, offsite):
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.base = server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"
    assert dialogs == [], f"a script in the input ran: {dialogs}"


def edges(page) -> int:
    """Edges drawn once the canvas has finished painting (it paints in batches per frame)."""
    page.wait_for_function("document.getElementById('headview-canvas').dataset.painted === '1'")
    return page.evaluate("window.headscope.edgesDrawn")


def run_inspection(page, model: str, text: str, aspect: str | None = None) -> None:
    page.goto(page.base + "/inspect")
    # the example runs on first load: let it finish, so that what is waited for below is this input's answer
    page.wait_for_function("window.headscope && window.headscope.response && document.body.dataset.busy !== '1'")
    page.wait_for_selector(f"#model-select option[value='{model}']", state="attached")
    page.select_option("#model-select", model)
    page.fill("#text-input", text)
    if aspect is not None:
        page.fill("#aspect-input", aspect)
    page.click("#run-button")
    page.wait_for_function(
        "document.body.dataset.busy !== '1' && window.headscope.response && window.headscope.edgesDrawn > 0"
    )


def test_type_a_pair_toggle_a_head_and_reload(page):
    run_inspection(page, "demo-absa-qa-m", REVIEW, "service")
    labels = ["positive", "neutral", "negative", "conflict", "none"]
    assert page.text_content("#prediction-label").strip() in labels
    assert page.get_attribute("body", "data-ready") == "1"
    all_heads = edges(page)
    assert all_heads > 0 and "edges" in page.text_content("#edge-count")
    assert query(page)["text"] == [REVIEW] and query(page)["aspect"] == ["service"]
    # Gold span: the question's aspect token is highlighted.
    assert page.locator(".token.gold").count() >= 2  # left and right columns

    page.click('.head-toggle[data-head="3"]')
    page.wait_for_function(f"window.headscope.edgesDrawn < {all_heads}")
    assert "off" in page.get_attribute('.head-toggle[data-head="3"]', "class")
    heads = query(page)["heads"][0].split(",")
    assert "3" not in heads and len(heads) == 11
    page.select_option("#layer-select", "4")
    page.wait_for_function("new URLSearchParams(location.search).get('layer') === '4'")
    page.wait_for_function("window.headscope.state.layer === 4")
    # The layer's attention arrives by its own request; count edges only once it is drawn.
    page.wait_for_function("window.headscope.response.attention.layers['4'] !== undefined")
    before = (page.url, edges(page))

    page.reload()
    page.wait_for_function("window.headscope && window.headscope.edgesDrawn > 0")
    assert "off" in page.get_attribute('.head-toggle[data-head="3"]', "class")
    assert page.input_value("#layer-select") == "4"
    assert page.input_value("#text-input") == REVIEW
    assert (page.url, edges(page)) == before


def test_filters_prune_edges(page):
    run_inspection(page, "demo-absa-qa-m", REVIEW, "food")
    everything = edges(page)
    page.select_option("#pair-filter", "ab")
    page.wait_for_function(f"window.headscope.edgesDrawn < {everything}")
    assert query(page)["filter"] == ["ab"]
    page.select_option("#pair-filter", "all")
    page.check("#hide-special")
    page.wait_for_function("new URLSearchParams(location.search).get('hide_special') === '1'")
    page.locator("#mass-slider").fill("30")
    page.wait_for_function("new URLSearchParams(location.search).get('mass') === '30'")
    assert edges(page) < everything
    page.check("#word-mode")
    page.wait_for_function("window.headscope.response.level === 'word'")
    assert query(page)["word"] == ["1"]


def test_model_view_opens_a_head(page):
    run_inspection(page, "demo-absa-qa-m", REVIEW, "service")
    page.click("#tab-model")
    page.wait_for_selector(".thumb[data-layer='5'][data-head='11']")
    assert page.locator("#modelview-grid .thumb").count() == 6 * 12
    page.wait_for_selector("#heatmap canvas.heatmap-canvas", timeout=30_000)
    # the heatmap's axes and colour bar say what they hold, on the page and in its SVG download
    titles = page.evaluate(
        """async () => {
          const m = await import('/static/js/token-heatmap.js');
          const svg = m.tokenHeatmapSVG(document.getElementById('heatmap').drawing);
          return [...svg.querySelectorAll('[data-axis-title]')].map((t) => t.textContent);
        }"""
    )
    assert titles == ["attention", "key token (column)", "query token (row)"]
    # with its axis titles it still sits beside the thumbnails at 1400 px, not below them
    page.set_viewport_size({"width": 1400, "height": 900})
    grid = page.locator("#modelview-grid").bounding_box()
    heatmap = page.locator("#heatmap canvas").bounding_box()
    assert heatmap["x"] >= grid["x"] + grid["width"] and heatmap["x"] + heatmap["width"] <= 1400, (grid, heatmap)
    page.click(".thumb[data-layer='2'][data-head='5']")
    page.wait_for_function("new URLSearchParams(location.search).get('view') === 'head'")
    state = query(page)
    assert state["layer"] == ["2"] and state["heads"] == ["5"]
    assert page.is_visible("#headview-canvas")
    # its head buttons name their heads layer.head, as every page writes a head
    assert page.get_attribute("#head-swatches .head-toggle[data-head='5']", "title").startswith("head 2.5 ")


def test_relation_entities_are_highlighted(page):
    run_inspection(page, "demo-re", "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>.")
    assert page.is_hidden("#aspect-input")
    gold = page.locator("#tokens-left .token.gold").all_text_contents()
    assert "fire" in gold and "cigarette" in gold


def test_markup_in_text_is_shown_not_run(page):
    text = 'Nice <img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script> food.'
    run_inspection(page, "demo-absa-qa-m", text, "food")
    assert page.evaluate("window.__xss") is None
    assert page.locator("#headview img, #tokens-left script").count() == 0
    shown = "".join(page.locator("#tokens-left .token").all_text_contents())
    assert "<script>" in shown and "<im" in shown  # the markup shows as tokens


def test_errors_are_shown(page):
    page.goto(page.base + "/inspect")
    page.wait_for_selector("#model-select option[value='demo-re']", state="attached")
    page.select_option("#model-select", "demo-re")
    page.fill("#text-input", "A fire was caused by a cigarette.")
    page.click("#run-button")
    page.wait_for_selector("#text-input + .error:not([hidden])")  # beside the text it is about
    assert "<e1>" in page.text_content("#text-input + .error")


def test_models_page_has_a_card_per_checkpoint(page):
    page.goto(page.base + "/models")
    page.wait_for_selector("article.card[data-model='pretrained-minilm-re']")
    assert "not fine-tuned" in page.text_content("article.card[data-model='pretrained-minilm-re'] h2")
    untrained = page.locator("article.card[data-model='pretrained-minilm-re'] .untrained-note")
    assert untrained.text_content().startswith("Untrained checkpoint:")
    assert page.locator("article.card[data-model='demo-re'] .untrained-note").count() == 0
    demo = page.locator("article.card[data-model='demo-absa-qa-m']")
    assert "dev" in demo.text_content() and "accuracy" in demo.text_content()
    # the metrics are defined one "?" away, and no card's table runs past the card's edge at 1400 px
    assert demo.locator("caption a.concept[href='/concepts#accuracy-and-f1-per-task']").count() == 1
    assert page.locator("main a.concept[href='/concepts#checkpoint-card']").count() == 1  # what a card's fields mean
    page.set_viewport_size({"width": 1400, "height": 900})
    overflowing = page.evaluate(
        "[...document.querySelectorAll('article.card')].filter((c) => [...c.children]"
        ".some((e) => e.getBoundingClientRect().right > c.getBoundingClientRect().right + 1))"
        ".map((c) => c.dataset.model)"
    )
    assert overflowing == []
    # a nested breakdown (SemEval-2010's per relation) is not written into one cell; keys read as words
    assert "[object Object]" not in page.text_content("#model-cards")
    assert "macro-F1" in demo.locator("table.metrics").text_content()
    demo.get_by_role("link", name="Inspect").click()
    page.wait_for_url("**/inspect?model=demo-absa-qa-m*")

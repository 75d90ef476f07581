"""Pages understood on first use (Debian's Chromium, Playwright, a real uvicorn over the tiny checkpoints,
whose cards record no training run): /analysis greys out and leaves unranked the statistics below the
minimum n, with every column's definition one "?" away; its form disables what the checkpoint cannot run
with the reason; /inspect fits a relation checkpoint (no aspect field, no A→B pair filter) and warns that
an untrained checkpoint's predictions mean little."""

from urllib.parse import urlencode

import pytest
from browser_support import finished_analysis, guarded_page  # tests/ is on sys.path (rootdir conftest)
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

from app.devserver import ServerProcess

pytestmark = pytest.mark.browser
SETTINGS = {"max_examples": 12, "bootstrap": 50, "pretrained": False, "agreement": False, "js_sample": 0}
TINY_ANALYSIS = {"model": TINY_ABSA_ID, "data": "demo-absa", "settings": SETTINGS}


@pytest.fixture(scope="module")
def tiny_server(tiny_models_dir, tmp_path_factory):
    env = {
        "HEADSCOPE_MODELS_DIR": str(tiny_models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("first-use-data")),
        "HEADSCOPE_SHARED_DATA": str(tmp_path_factory.mktemp("first-use-shared")),  # no lexicon
        "HEADSCOPE_DEVICE": "cpu",
    }
    with ServerProcess(env) as running:
        yield running.url


@pytest.fixture
def page(browser, tiny_server):
    with guarded_page(browser) as (page, offsite):
        page.base = tiny_server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"


def test_analysis_greys_out_small_n_and_defines_every_column(page):
    job_id, result = finished_analysis(page, page.base, TINY_ANALYSIS)
    n = result["heads"][0]["statistics"]["aspect_mass"]["n"]
    assert n < result["min_n"] == 10  # 12 pairs, fewer with the aspect present: below the minimum n
    page.goto(f"{page.base}/analysis?id={job_id}&stat=aspect_mass")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=120_000)
    note = page.locator("#ranked-note")
    assert note.is_visible()
    assert "not ranked" in note.text_content() and "fewer than 10 examples" in note.text_content()
    assert note.locator("a.concept[href='/concepts#minimum-n']").count() == 1
    rows = page.locator("#ranked-table tr.small-n")
    assert rows.count() == len(result["heads"])
    assert rows.first.locator("td").first.text_content() == "–"  # no rank
    headings = page.locator("#ranked-table th")
    assert headings.filter(has_text="n").count() >= 1
    assert rows.first.locator("td").nth(4).text_content() == str(n)
    for anchor in ("head-statistic", "bootstrap-ci", "minimum-n", "baseline", "head-label", "typical-examples"):
        link = page.locator(f"#ranked-table th a.concept[href='/concepts#{anchor}']")
        assert link.count() >= 1, anchor
        assert link.first.get_attribute("title"), anchor
    # the head panel says why the selected head is not ranked
    assert "below the minimum n of 10" in page.text_content("#head-facts")
    assert page.locator("#analysis-untrained").is_visible()
    assert "no training run recorded" in page.text_content("#analysis-untrained")


def test_the_analysis_form_disables_opinion_words_for_a_relation_checkpoint_saying_why(page):
    page.goto(page.base + "/analysis")
    page.wait_for_selector(f"#model-select option[value='{TINY_RE_ID}']", state="attached", timeout=60_000)
    with page.expect_response(lambda r: "/api/analyses/capabilities" in r.url and TINY_RE_ID in r.url):
        page.select_option("#model-select", TINY_RE_ID)
    page.wait_for_selector("#analysis-options label:has(#lexicon) .cannot-run")
    assert page.locator("#lexicon").is_disabled() and not page.locator("#lexicon").is_checked()
    assert "relation" in page.text_content("#analysis-options label:has(#lexicon) .cannot-run")
    assert page.locator("#importance").is_enabled() and page.locator("#pretrained").is_enabled()
    with page.expect_response(lambda r: "/api/analyses/capabilities" in r.url and TINY_ABSA_ID in r.url):
        page.select_option("#model-select", TINY_ABSA_ID)
    page.wait_for_selector("#analysis-options label:has(#lexicon) .cannot-run")  # demo reviews: no opinion words
    assert "no gold opinion words" in page.text_content("#analysis-options label:has(#lexicon) .cannot-run")


def test_inspect_fits_a_relation_checkpoint_and_marks_it_untrained(page):
    page.goto(f"{page.base}/inspect?model={TINY_RE_ID}")
    page.wait_for_selector("#prediction:not([hidden])", timeout=120_000)
    assert page.locator("#aspect-row").is_hidden()
    assert page.text_content("#text-label") == "Sentence"
    assert page.locator("#pair-filter").is_hidden()  # one segment: no A→B / B→A pairs
    warning = page.locator("#model-untrained")
    assert warning.is_visible() and "Untrained checkpoint" in warning.text_content()
    assert page.locator("#prediction-untrained").is_visible()
    # an ABSA checkpoint's two segments bring the aspect field and the pair filter back
    page.select_option("#model-select", TINY_ABSA_ID)
    page.wait_for_selector("#aspect-row:not([hidden])")
    assert page.text_content("#text-label") == "Review"
    page.wait_for_selector("#pair-filter-label:not([hidden])", timeout=120_000)


def test_a_typical_example_opens_the_head_view_with_its_query_pinned_and_other_aspects_marked(page):
    job_id, result = finished_analysis(page, page.base, TINY_ANALYSIS)  # the same analysis: from the cache
    marked = next(
        (index, ex) for index, ex in result["examples"].items() if (ex["inspect"].get("marks") or {}).get("other")
    )
    row = result["heads"][0]
    page.goto(f"{page.base}/analysis?id={job_id}&stat=aspect_mass&layer={row['layer']}&head={row['head']}")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=120_000)
    href = page.locator("#typical-list a.typical-link").first.get_attribute("href")
    assert "pin=query" in href and f"layer={row['layer']}" in href

    # an example with other aspects: the link marks them, /inspect highlights them and pins the aspect query
    inspect = marked[1]["inspect"]
    spans = ",".join(f"{a}-{b}" for a, b in inspect["marks"]["other"])
    query = {"model": TINY_ABSA_ID, "text": inspect["text"], "aspect": inspect["aspect"], "pin": "query"}
    page.goto(f"{page.base}/inspect?{urlencode(query | {'marks': 'other:' + spans})}")
    page.wait_for_selector("#span-legend :text('other aspects')", timeout=120_000)
    page.wait_for_function("window.headscope.response && window.headscope.state.token != null")
    shown = page.evaluate("({token: headscope.state.token, pin: headscope.state.pin, spans: headscope.response.spans})")
    assert shown["token"] == shown["spans"]["aspect_query"][0] and shown["pin"] == ""  # pinned once, then consumed
    assert shown["spans"]["other aspects"]


def test_flow_is_disabled_with_its_reason_on_an_input_longer_than_it_takes(page):
    long_review = " ".join(["The soup was lovely and the waiter was friendly."] * 16)  # well over 128 pieces
    page.goto(f"{page.base}/inspect?{urlencode({'model': TINY_ABSA_ID, 'text': long_review, 'aspect': 'food'})}")
    page.wait_for_selector("#attribution-controls label:has(input[value=flow]) .cannot-run", timeout=120_000)
    flow = page.locator("#attribution-controls input[value=flow]")
    assert flow.is_disabled() and not flow.is_checked()
    assert "at most 128 word pieces" in page.text_content("#attribution-controls label:has(input[value=flow])")
    assert page.locator("#attribution-controls input[value=rollout]").is_enabled()
    page.fill("#text-input", "The soup was lovely.")
    page.click("#run-button")
    page.wait_for_function("!document.querySelector('#attribution-controls input[value=flow]').disabled")

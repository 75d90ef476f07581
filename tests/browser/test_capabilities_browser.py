"""The /robustness form offers only what can run (Debian's Chromium, Playwright, a real uvicorn): on the demo
data every ABSA test can be ticked; on data with one aspect per sentence and no opinion words, the tests
that cannot run are disabled and unticked with the server's true reason beside them, and choosing the
demo data again enables them. The server has an empty shared folder: no Hu & Liu lexicon."""

import json

import pytest
from browser_support import guarded_page  # tests/ is on sys.path (rootdir conftest)
from tiny_model import TINY_ABSA_ID

from app.devserver import ServerProcess

pytestmark = pytest.mark.browser

ROWS = [
    {
        "id": "b1",
        "text": "The soup was lovely.",
        "aspects": [{"term": "soup", "from": 4, "to": 8, "polarity": "positive"}],
    },
    {
        "id": "b2",
        "text": "The waiter was rude.",
        "aspects": [{"term": "waiter", "from": 4, "to": 10, "polarity": "negative"}],
    },
]


@pytest.fixture(scope="module")
def bare_server(tiny_models_dir, tmp_path_factory):
    env = {
        "HEADSCOPE_MODELS_DIR": str(tiny_models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("bare-server-data")),
        "HEADSCOPE_SHARED_DATA": str(tmp_path_factory.mktemp("empty-shared")),
        "HEADSCOPE_DEVICE": "cpu",
    }
    with ServerProcess(env) as running:
        yield running.url


@pytest.fixture
def page(browser, bare_server):
    with guarded_page(browser) as (page, offsite):
        page.base = bare_server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"


def choice(page, name):
    return page.locator(f"#test-choices input[value='{name}']")


def reason(page, name):
    return page.locator(f"#test-choices label:has(input[value='{name}']) .cannot-run")


def open_form(page, data):
    page.goto(page.base + "/robustness")
    page.wait_for_selector(f"#model-select option[value='{TINY_ABSA_ID}']", state="attached", timeout=60_000)
    page.select_option("#model-select", TINY_ABSA_ID)
    page.wait_for_selector("#test-choices input[value='revtgt']")
    page.wait_for_selector(f"#data-select option[value='{data}']", state="attached")
    with page.expect_response(lambda r: "/api/robustness/capabilities" in r.url and f"data={data}" in r.url):
        page.select_option("#data-select", data)


def test_demo_data_offers_every_test_and_other_data_disables_what_cannot_run_with_the_reason(page):
    open_form(page, "demo-absa")
    page.wait_for_timeout(200)
    boxes = page.locator("#test-choices input[type=checkbox]")
    assert boxes.count() >= 10
    assert page.locator("#test-choices input:disabled").count() == 0
    assert page.locator("#test-choices .cannot-run").count() == 0

    # Upload one-aspect data without opinion words (a small run stores it), then choose it in the form.
    upload = "\n".join(json.dumps(row) for row in ROWS) + "\n"
    settings = {"tests": ["q1-typo"], "max_examples": 2, "batch_size": 2, "bootstrap": 20, "top_heads": 1}
    started = page.request.post(
        page.base + "/api/robustness", data={"model": TINY_ABSA_ID, "upload": upload, "settings": settings}
    )
    assert started.ok, started.text()
    name = started.json()["data"]["name"]
    open_form(page, "demo-absa")
    page.wait_for_function("!document.querySelector('#test-choices input:disabled')")
    page.check("#test-choices input[value='revtgt']")  # ticked before the data changes: unticked after
    with page.expect_response(lambda r: "/api/robustness/capabilities" in r.url and "data=upload" in r.url):
        page.select_option("#data-select", name)
    page.wait_for_selector("#test-choices label:has(input[value='revtgt']) .cannot-run")
    assert choice(page, "revtgt").is_disabled() and not choice(page, "revtgt").is_checked()
    revtgt = reason(page, "revtgt").text_content()
    assert "opinion" in revtgt and "WordNet" not in revtgt
    assert "two or more aspects" in reason(page, "revnon").text_content()
    assert "training file" in reason(page, "adddiff").text_content()
    assert choice(page, "q1-typo").is_enabled() and reason(page, "q1-typo").count() == 0

    # Back to the demo data: everything can run again.
    with page.expect_response(lambda r: "/api/robustness/capabilities" in r.url and "data=demo-absa" in r.url):
        page.select_option("#data-select", "demo-absa")
    page.wait_for_function("!document.querySelector('#test-choices input:disabled')")
    assert page.locator("#test-choices .cannot-run").count() == 0
    page.check("#test-choices input[value='revtgt']")
    assert choice(page, "revtgt").is_checked()


@pytest.fixture(scope="module")
def no_wordnet_server(tiny_models_dir, tmp_path_factory):
    env = {
        "HEADSCOPE_MODELS_DIR": str(tiny_models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("no-wordnet-data")),
        "HEADSCOPE_WORDNET": str(tmp_path_factory.mktemp("no-wordnet")),
        "HEADSCOPE_DEVICE": "cpu",
    }
    with ServerProcess(env) as running:
        yield running.url


def test_the_report_form_disables_pwws_without_wordnet_saying_so(browser, no_wordnet_server):
    with guarded_page(browser) as (page, offsite):
        page.goto(no_wordnet_server + "/report")
        page.wait_for_selector("#attack-choices label:has(input[value='pwws']) .cannot-run", timeout=60_000)
        pwws = page.locator("#attack-choices input[value='pwws']")
        assert pwws.is_disabled() and not pwws.is_checked()
        why = page.text_content("#attack-choices label:has(input[value='pwws']) .cannot-run")
        assert "WordNet" in why and "wordnet-base" in why
        hotflip = page.locator("#attack-choices input[value='hotflip']")
        assert hotflip.is_enabled() and hotflip.is_checked()
    assert offsite == []

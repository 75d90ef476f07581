"""The pages that write, with accounts off and on (HEADSCOPE_AUTH_ENABLED=true), in Debian's Chromium.

Save as finding from the head view (/inspect), start an analysis and save a head of it as a finding
(/analysis), and edit a finding (/findings/<id>). With accounts on, the visitor logs in through the
/login page and the server refuses cookie-authenticated writes without the X-CSRF-Token header: each
test checks through the API that the write took effect, so a page that forgot the header fails.
"""

from __future__ import annotations

import uuid

import pytest
from browser_support import csrf_header, guarded_page, log_in, start_analysis  # tests/ is on sys.path

pytestmark = pytest.mark.browser
MODEL = "demo-absa-qa-m"
REVIEW = "The pasta was great but the waiter was rude."
ACCOUNTS = {"accounts off": None, "accounts on": "alice"}


@pytest.fixture(params=list(ACCOUNTS))
def writer(request, browser):
    """A page on a server with accounts off (the local user) or on (alice, logged in through /login)."""
    user = ACCOUNTS[request.param]
    base = request.getfixturevalue("auth_server" if user else "server")
    with guarded_page(browser) as (page, offsite):
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.base, page.user = base, user
        if user:
            log_in(page, user)
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"
    assert errors == [], f"script errors on the page: {errors}"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def api_finding(page, finding_id: str) -> dict:
    """The finding as the API gives it to the page's visitor (their cookies, no CSRF needed for a read)."""
    response = page.context.request.get(f"{page.base}/api/findings/{finding_id}")
    assert response.ok, response.text()
    return response.json()


def check_author(page, finding: dict) -> None:
    if page.user:
        assert finding["author"] == page.user


def test_save_from_head_view(writer):
    page = writer
    page.goto(f"{page.base}/inspect?model={MODEL}&text={REVIEW}&aspect=service&layer=2&heads=0,5")
    page.wait_for_function("() => window.headscope && window.headscope.edgesDrawn > 0")
    title = unique("Head 2.5 with accounts" if page.user else "Head 2.5 without accounts")
    page.click("#save-finding-head")
    page.wait_for_selector("#finding-dialog[open]")
    page.fill("#finding-title", title)
    page.check("#finding-dialog input[name=labels][value='aspect']")
    page.click("#finding-submit")
    page.wait_for_selector("#finding-saved:not([hidden]), #finding-form-error:not([hidden])", timeout=30_000)
    assert page.locator("#finding-form-error").is_hidden(), page.text_content("#finding-form-error")
    saved = page.evaluate("window.headscope.lastFinding")
    finding = api_finding(page, saved["id"])
    assert finding["title"] == title and finding["view"]["heads"] == [0, 5] and finding["labels"] == ["aspect"]
    check_author(page, finding)


def test_start_an_analysis_and_save_a_head(writer):
    page = writer
    start_analysis(page)
    page.wait_for_function(
        "document.body.dataset.rendered === '1' || !document.getElementById('error-box').hidden", timeout=240_000
    )
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    assert "16 / 16 pairs" in page.text_content("#progress-text")
    assert page.evaluate("document.getElementById('progress-bar').value") == 1
    page.locator("#ranked-table tr[data-layer]").nth(1).click()
    layer, head = page.evaluate("[window.headscope.view.layer, window.headscope.view.head]")
    page.click("#save-finding")
    page.wait_for_selector("#finding-status a, #error-box:not([hidden])")
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    saved = page.evaluate("window.headscope.lastFinding")
    assert page.get_attribute("#finding-status a", "href") == f"/findings/{saved['id']}"
    finding = api_finding(page, saved["id"])
    assert finding["view"]["kind"] == "summary" and finding["view"]["heads"] == [[layer, head]]
    assert finding["view"]["analysis_id"] == page.evaluate("window.headscope.result.analysis_id")
    check_author(page, finding)


def test_edit_a_finding(writer):
    page = writer
    body = {
        "title": unique("To edit"),
        "note": "first",
        "model": MODEL,
        "input": {"text": REVIEW, "aspect": "food"},
        "view": {"kind": "head", "layer": 1, "heads": [3]},
    }
    created = page.context.request.post(f"{page.base}/api/findings", data=body, headers=csrf_header(page.context))
    assert created.status == 201, created.text()
    finding = created.json()
    page.goto(f"{page.base}/findings/{finding['id']}")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.click("#edit-finding")
    page.wait_for_selector("#finding-dialog[open]")
    page.fill("#finding-note", "second *take*")
    page.check("#finding-dialog input[value='phrase']")
    page.select_option("#finding-visibility", "shared")
    page.click("#finding-submit")  # saved: the page reloads with the note rendered by the server
    page.wait_for_selector(".note em, #finding-form-error:not([hidden])", timeout=30_000)
    assert page.locator("#finding-form-error").is_hidden(), page.text_content("#finding-form-error")
    edited = api_finding(page, finding["id"])
    assert edited["note"] == "second *take*" and edited["labels"] == ["phrase"] and edited["visibility"] == "shared"
    check_author(page, edited)


def test_writes_without_the_csrf_header_are_refused(browser, auth_server):
    """What the tests above rely on: with accounts on, a logged-in cookie alone does not write."""
    with guarded_page(browser) as (page, _):
        page.base = auth_server
        log_in(page, "bob")
        body = {
            "title": unique("No header"),
            "model": MODEL,
            "input": {"text": REVIEW, "aspect": "food"},
            "view": {"kind": "head", "layer": 1, "heads": [3]},
        }
        refused = page.context.request.post(f"{auth_server}/api/findings", data=body)
        assert refused.status == 403 and "X-CSRF-Token" in refused.text()
        # logging out is a write too: the /login page's button sends the header
        page.goto(auth_server + "/login")
        page.click("#logout-button")
        page.wait_for_selector("#login-form")
        assert page.locator("#error-box").is_hidden()
        assert page.context.request.get(f"{auth_server}/api/auth/me").status == 401

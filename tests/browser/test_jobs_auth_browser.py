"""The /analysis page with accounts on (HEADSCOPE_AUTH_ENABLED=true), in Debian's Chromium.

A visitor who is not logged in is sent to /login and comes back; alice runs an analysis as herself;
bob, another user, cannot open it until alice shares it; a client without an account gets 401.
"""

from __future__ import annotations

import httpx
import pytest
from browser_support import PASSWORDS, csrf_header, guarded_page, query, start_analysis  # tests/ is on sys.path

pytestmark = pytest.mark.browser


def test_analysis_page_as_a_signed_in_user(browser, auth_server):
    with guarded_page(browser) as (alice, alice_offsite), guarded_page(browser) as (bob, bob_offsite):
        alice.base = bob.base = auth_server
        errors: list[str] = []
        alice.on("pageerror", lambda e: errors.append(str(e)))

        # not logged in: the page sends alice to log in, then back to /analysis
        alice.goto(auth_server + "/analysis")
        assert "/login?next=%2Fanalysis" in alice.url
        alice.fill("#login-name", "alice")
        alice.fill("#login-password", PASSWORDS["alice"])
        with alice.expect_navigation(url="**/analysis"):
            alice.click("#login-button")

        start_analysis(alice)
        alice.wait_for_function(
            "document.body.dataset.rendered === '1' || !document.getElementById('error-box').hidden", timeout=240_000
        )
        assert alice.locator("#error-box").is_hidden(), alice.text_content("#error-box")
        job_id = query(alice)["id"][0]
        url = f"{auth_server}/api/analyses/{job_id}"
        mine = alice.context.request.get(url + "?result=false").json()
        assert mine["owner"] == "alice" and mine["visibility"] == "private" and mine["status"] == "done"

        # bob, logged in, sees neither the job nor its result while it is alice's alone
        assert bob.context.request.post(
            auth_server + "/api/auth/login", data={"name": "bob", "password": PASSWORDS["bob"]}
        ).ok
        assert bob.context.request.get(url).status == 404
        bob.goto(f"{auth_server}/analysis?id={job_id}")
        bob.wait_for_selector("#error-box:not([hidden])")
        assert f"no analysis '{job_id}'" in bob.text_content("#error-box")
        bob.wait_for_selector(
            "#job-history .history-empty:not([hidden])", state="attached"
        )  # alice's run is not in his list
        assert httpx.get(url).status_code == 401  # no account at all
        assert httpx.get(auth_server + "/api/analyses/history").status_code == 401

        shared = alice.context.request.patch(url, data={"visibility": "shared"}, headers=csrf_header(alice.context))
        assert shared.ok and shared.json()["visibility"] == "shared"
        # shared: in bob's list of recent runs, said to be alice's, and it opens from there
        bob.goto(f"{auth_server}/analysis")
        row = bob.locator(f"#job-history tr[data-id='{job_id}']")
        row.wait_for()
        assert "shared by alice" in row.text_content() and row.get_attribute("data-status") == "done"
        row.get_by_text("Open").click()
        bob.wait_for_function("document.body.dataset.rendered === '1'", timeout=60_000)
        assert query(bob)["id"] == [job_id]
        assert bob.locator("#ranked-table tr[data-layer]").count() == 72
        assert bob.context.request.get(url).json()["can_edit"] is False
    assert alice_offsite == [] and bob_offsite == []
    assert errors == [], f"script errors on the page: {errors}"

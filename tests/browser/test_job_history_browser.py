"""Job history across a killed server, in Debian's Chromium: a real `headscope serve` process is killed
(SIGKILL) with one analysis running and one queued; the restarted server lists both as interrupted beside
the finished one, the finished result reopens from the list, and Rerun asks again with the same settings.
"""

from __future__ import annotations

import httpx
import pytest
from browser_support import guarded_page, query, start_analysis  # tests/ is on sys.path (rootdir conftest)

from app.devserver import ServerProcess

pytestmark = pytest.mark.browser
RENDERED = "document.body.dataset.rendered === '1' || !document.getElementById('error-box').hidden"
LIGHT = {"max_examples": 6, "batch_size": 6, "bootstrap": 100, "pretrained": False, "agreement": False}
HEAVY = {"max_examples": 60, "batch_size": 2, "bootstrap": 5000, "importance": True, "ablation_draws": 20}


def post(url: str, settings: dict) -> dict:
    answer = httpx.post(
        url + "/api/analyses", json={"model": "demo-absa-qa-m", "data": "demo-absa", "settings": settings}
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


def history_rows(page) -> dict[str, str]:
    page.wait_for_selector("#job-history .history-table tr[data-id]")
    rows = page.locator("#job-history tr[data-id]")
    return {rows.nth(i).get_attribute("data-id"): rows.nth(i).get_attribute("data-status") for i in range(rows.count())}


def test_history_survives_a_killed_server(browser, models_dir, tmp_path):
    env = {"HEADSCOPE_MODELS_DIR": str(models_dir), "HEADSCOPE_DATA_DIR": str(tmp_path), "HEADSCOPE_DEVICE": "cpu"}
    errors: list[str] = []
    with guarded_page(browser) as (page, offsite):
        page.on("pageerror", lambda e: errors.append(str(e)))
        with ServerProcess(env) as first:
            page.base = first.url
            start_analysis(page, pairs=8)  # finishes before the kill
            page.wait_for_function(RENDERED, timeout=240_000)
            assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
            finished = query(page)["id"][0]
            running, queued = post(first.url, HEAVY), post(first.url, LIGHT)
            status = httpx.get(f"{first.url}/api/analyses/{running['id']}?result=false").json()
            assert status["status"] in ("queued", "running") and queued["status"] == "queued"
            first.process.kill()  # SIGKILL: no shutdown, nothing written on the way out
            first.process.wait(timeout=30)

        with ServerProcess(env) as second:
            page.base = second.url
            page.goto(second.url + "/analysis")
            assert page.locator("#job-history").get_attribute("open") is not None  # no job named: the list is open
            assert history_rows(page) == {queued["id"]: "interrupted", running["id"]: "interrupted", finished: "done"}
            assert "2 interrupted" in page.text_content("#job-history summary")
            row = page.locator(f"#job-history tr[data-id='{finished}']")
            assert "demo-absa-qa-m" in row.text_content() and "demo-absa" in row.text_content()
            assert "max_examples=8" in row.locator("td.settings").text_content()
            assert row.locator("button.rerun").count() == 0  # done: nothing to rerun

            # the finished result reopens from the list, after the restart
            row.get_by_text("Open").click()
            page.wait_for_function(RENDERED, timeout=60_000)
            assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
            assert query(page)["id"] == [finished] and page.locator("#ranked-table tr[data-layer]").count() == 72

            # the running one, opened by its URL: interrupted, said beside the form, with a Rerun button
            page.goto(f"{second.url}/analysis?id={running['id']}")
            page.wait_for_selector("#error-box:not([hidden])")
            assert "was interrupted" in page.text_content("#error-box")
            assert page.locator("#error-box button.rerun").is_visible()
            assert page.locator("#job-history").get_attribute("open") is None

            # one click (in the list, opened) reruns the queued one with its settings: same id, done, drawn
            page.click("#job-history summary")
            page.locator(f"#job-history tr[data-id='{queued['id']}'] button.rerun").click()
            page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
            assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
            assert query(page)["id"] == [queued["id"]] and page.input_value("#max-examples") == "6"
            assert "6 pairs" in page.text_content("#result-meta")
            page.wait_for_selector(f"#job-history tr[data-id='{queued['id']}'][data-status='done']")
            assert page.locator(f"#job-history tr.current[data-id='{queued['id']}']").count() == 1
    assert offsite == []
    assert errors == [], f"script errors on the page: {errors}"

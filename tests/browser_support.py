"""What every browser test shares: Debian's Chromium, and pages whose requests are checked.

Never `playwright install`: the tests drive /usr/bin/chromium (`make test` installs it via apt).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}


def on_this_machine(url: str) -> bool:
    return urlparse(url).hostname == "127.0.0.1"


@contextmanager
def guarded_page(
    browser: Any, allowed: Callable[[str], bool] = on_this_machine, **context_args: Any
) -> Iterator[tuple[Any, list[str]]]:
    """(page, blocked): every request `allowed` refuses is aborted and its URL recorded in `blocked`."""
    context = browser.new_context(viewport=VIEWPORT, **context_args)
    blocked: list[str] = []

    def route(request_route) -> None:
        if allowed(request_route.request.url):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    try:
        yield context.new_page(), blocked
    finally:
        context.close()


def query(page: Any) -> dict[str, list[str]]:
    """The page's URL state."""
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def start_analysis(page: Any, pairs: int = 16, faithfulness: int = 0) -> None:
    """Fill the /analysis form (demo ABSA model and data, a quick bootstrap, faithfulness on the first
    `faithfulness` pairs) and press Analyse."""
    page.goto(page.base + "/analysis")
    page.wait_for_selector("#model-select option[value='demo-absa-qa-m']", state="attached", timeout=60_000)
    page.select_option("#model-select", "demo-absa-qa-m")
    page.wait_for_selector("#data-select option[value='demo-absa']", state="attached")
    page.select_option("#data-select", "demo-absa")
    page.fill("#max-examples", str(pairs))
    page.fill("#batch-size", "8")
    page.fill("#bootstrap", "100")
    page.fill("#faith-limit", str(faithfulness))
    page.click("#start-button")


def finished_analysis(page: Any, base: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """POST /api/analyses with `body` through the page's own request context and wait (≤ 2 min) until it is done:
    (job id, result)."""
    started = page.request.post(base + "/api/analyses", data=body)
    assert started.ok, started.text()
    job_id = started.json()["id"]
    for _ in range(240):
        status = page.request.get(f"{base}/api/analyses/{job_id}").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert status["status"] == "done", status.get("error")
    return job_id, status["result"]


# ---- accounts (HEADSCOPE_AUTH_ENABLED=true): the `auth_server` fixture (conftest.py) has these users ----

PASSWORDS = {"alice": "alice-pass-4821", "bob": "bob-pass-9930"}


def log_in(page: Any, name: str) -> None:
    """Log in through the /login page (its script posts to /api/auth/login), back on page.base + "/findings"."""
    page.goto(page.base + "/login?next=/findings")
    page.fill("#login-name", name)
    page.fill("#login-password", PASSWORDS[name])
    with page.expect_navigation(url="**/findings"):
        page.click("#login-button")


def csrf_header(context: Any) -> dict[str, str]:
    """The X-CSRF-Token header a signed-in browser context's scripts send on writes ({} when there is no token)."""
    token = next((c["value"] for c in context.cookies() if c["name"] == "headscope_csrf"), None)
    return {"X-CSRF-Token": token} if token else {}

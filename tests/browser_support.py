"""What every browser test shares: Debian's Chromium, and pages whose requests are checked.

Never `playwright install`: the tests drive /usr/bin/chromium (`make test` installs it via apt).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}


def on_this_machine(url: str) -> bool:
    return urlparse(url).hostname == "127.0.0.1"


@contextmanager
def guarded_page(browser: Any, allowed: Callable[[str], bool] = on_this_machine,
                 **context_args: Any) -> Iterator[tuple[Any, list[str]]]:
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

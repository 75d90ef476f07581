"""The page fixture most browser tests share: a guarded Chromium page on the test server, failing the test
when the page asked for any host other than 127.0.0.1 (the pages must work offline). A module that
needs more (downloads, page errors, dialogs) defines its own `page`."""

import pytest
from browser_support import guarded_page  # tests/ is on sys.path (rootdir conftest)


@pytest.fixture
def page(browser, server):
    with guarded_page(browser) as (page, offsite):
        page.base = server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"

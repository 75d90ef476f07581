"""The page fixture most browser tests share: a guarded Chromium page on the test server, failing the test
when the page asked for any host other than 127.0.0.1 (the pages must work offline). A module that
needs more (downloads, page errors, dialogs) defines its own `page`; a module whose pages need another server
overrides `server` (the seed-group pages: with `demo_group_server`)."""

import pytest
from browser_support import guarded_page  # tests/ is on sys.path (rootdir conftest)
from seed_group_support import PERTURBED_GROUP, seed_group_server, write_perturbed_seed_group


@pytest.fixture
def page(browser, server):
    with guarded_page(browser) as (page, offsite):
        page.base = server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"


@pytest.fixture(scope="module")
def demo_group_server(models_dir, tmp_path_factory):
    """A uvicorn whose models folder holds the perturbed demo seed group PERTURBED_GROUP@13,14, one per module
    (each module's "Recent runs" then lists only its own runs)."""

    def write(folder):
        write_perturbed_seed_group(folder, models_dir / "demo-absa-qa-m", PERTURBED_GROUP, (13, 14))

    with seed_group_server(tmp_path_factory, write) as url:
        yield url

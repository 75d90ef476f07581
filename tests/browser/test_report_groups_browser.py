"""The /report page over seed groups (Debian's headless Chromium, Playwright, a real uvicorn) on two groups of tiny
checkpoints of two seeds each (tests/seed_group_support.py): the form offers the groups, a small report draws one
entry per group in every chart with ±SD error bars and the per-seed values in the hover, the group table and the
paired table, and the URL reopens it with the groups ticked."""

import pytest
from browser_support import guarded_page, query  # tests/ is on sys.path (rootdir conftest)
from seed_group_support import seed_group_server, write_perturbed_seed_group, write_tiny_seed_group

pytestmark = pytest.mark.browser
GROUPS = ("tiny-other@13,14", "tiny-vanilla@13,14")  # as the form lists them: by name


def write_two_groups(folder):
    # aspect-term checkpoints: their test pairs carry the gold term spans the interpretability rate (the scatter) reads
    write_tiny_seed_group(folder, (13, 14), "tiny-vanilla", fmt="term")
    write_perturbed_seed_group(folder, folder / "tiny-vanilla-seed14", "tiny-other", (13, 14))


@pytest.fixture(scope="module")
def group_server(tmp_path_factory):
    with seed_group_server(tmp_path_factory, write_two_groups) as url:
        yield url


@pytest.fixture
def page(browser, group_server):
    with guarded_page(browser) as (page, offsite):
        page.base = group_server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"


def error_bars(page, chart):
    """The drawn error bars (vertical or horizontal) of a chart or a box of charts."""
    return page.locator(f"{chart} .errorbar path").count()


def test_two_seed_groups_draw_error_bars_in_every_chart(page):
    page.goto(page.base + "/report")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
    assert page.is_visible("#group-row")
    for box in page.locator("#model-choices input").all():
        box.uncheck()
    for group in GROUPS:
        page.check(f"#group-choices input[value='{group}']")
    page.fill("#max-examples", "8")
    page.fill("#batch-size", "8")
    page.uncheck("#attack-choices input[value='pwws']")
    page.fill("#attack-examples", "2")
    page.fill("#budget", "4")
    page.uncheck("#pretrained-baseline")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=300_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    assert query(page)["models"] == [",".join(GROUPS)]

    # one bar trace per group (its mean), ±SD error bars on it; per-seed values in the hover
    assert page.locator("#chart-perspectives .barlayer .trace").count() == 2
    assert "mean ± SD, 2 seeds" in page.text_content("#chart-perspectives .legend")
    hover = page.evaluate("document.getElementById('chart-perspectives').data[0].customdata[0][2]")
    assert "per seed: 13: " in hover and ", 14: " in hover
    # the scatter: interpretability (x, with its ±SD) against performance, one point per group
    assert page.evaluate("document.getElementById('chart-scatter').data.length") >= 2
    for chart in ("#chart-perspectives", "#reliability-charts", "#roc-charts", "#chart-scatter"):
        assert error_bars(page, chart) > 0, chart
    for box in ("#reliability-charts", "#roc-charts"):  # a chart per group, saying it draws means
        assert [page.get_attribute(f"{box} .rp-chart >> nth={i}", "data-model") for i in range(2)] == list(GROUPS)
        assert "mean ± SD over 2 seeds" in page.text_content(f"{box} .rp-chart >> nth=0")

    # the group table: mean ± SD [min–max] and the per-seed values; the paired table with n and the t-interval
    assert page.is_visible("#seed-groups")
    rows = page.locator("#group-table tr[data-entry]")
    assert [rows.nth(i).get_attribute("data-entry") for i in range(2)] == list(GROUPS)
    assert "13: " in rows.nth(0).text_content() and "±" in rows.nth(0).text_content()
    paired = page.locator("#paired-table tr[data-figure='in_distribution']")
    assert paired.count() == 1 and "tiny-vanilla@13,14 − tiny-other@13,14" in paired.text_content()
    cells = paired.locator("td")
    assert cells.nth(2).text_content() == "2" and cells.nth(5).text_content().startswith("[")
    assert "t-interval" in page.text_content("#group-tables")
    # every member is a checkpoint of the summary table
    assert page.locator("#summary-table tr[data-model]").count() == 4

    # the URL reopens the report with the groups ticked
    page.goto(page.url)
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=60_000)
    assert all(page.is_checked(f"#group-choices input[value='{g}']") for g in GROUPS)
    assert page.locator("#chart-perspectives .barlayer .trace").count() == 2

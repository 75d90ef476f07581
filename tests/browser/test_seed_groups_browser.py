"""/analysis "Across seeds" in Debian's headless Chromium against a running uvicorn whose models folder holds a
seed group (copies of the trained demo checkpoint, the later seed's attention projections perturbed): the page
offers the group, runs it, and shows per label the layers × heads map of k/n, the Jaccard figures and a link to
each seed's own analysis; "Recent runs" lists the comparison by its NAME@SEEDS beside the analyses and reopens it
in the Across seeds panel."""

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)
from seed_group_support import PERTURBED_GROUP

pytestmark = pytest.mark.browser
GROUP = PERTURBED_GROUP


@pytest.fixture(scope="module")
def server(demo_group_server):
    """The browser conftest's `page` opens this module's pages on the seed group's server."""
    return demo_group_server


def test_the_page_runs_a_seed_group_and_shows_k_of_n_per_head(page):
    page.goto(page.base + "/analysis")
    page.wait_for_selector(f"#group-select option[value='{GROUP}@13,14']", state="attached", timeout=60_000)
    page.wait_for_selector("#group-data-select option[value='demo-absa']", state="attached")
    page.select_option("#group-data-select", "demo-absa")
    page.fill("#max-examples", "40")  # the analysis form's settings apply to every seed
    page.fill("#bootstrap", "200")
    page.uncheck("#pretrained")
    page.uncheck("#agreement")
    page.click("#group-button")
    page.wait_for_selector("#seed-results[data-drawn]", timeout=600_000)
    assert page.locator("#seed-error").is_hidden(), page.text_content("#seed-error")

    shown = page.evaluate("window.headscope.seeds")
    labels = shown["stability"]["labels"]
    assert labels, "the demo checkpoint labels heads on 40 demo pairs"
    maps = page.locator("#seed-maps .seed-map")
    assert maps.count() == len(labels)
    for entry, box in zip(labels, maps.all(), strict=True):
        assert box.get_attribute("data-label") == entry["label"]
        cells = box.locator(".heatmaplayer text, .hm text, text.textpoint").all_text_contents()
        expected = sorted(f"{k}/2" for row in entry["counts"] for k in row if k)
        assert sorted(c for c in cells if c) == expected  # one k/n per labelled head, none elsewhere
        title = box.locator(".gtitle").text_content()
        assert f"{entry['label']} · Jaccard" in title and "chance" in title
    rows = page.locator("#seed-table tr[data-label]")
    assert rows.count() == len(labels) and "13–14:" in rows.first.text_content()

    links = page.locator("#seed-links a.seed-link")
    assert links.all_text_contents() == [f"seed 13 ({GROUP})", f"seed 14 ({GROUP}-seed14)"]
    member = shown["members"][1]
    assert links.nth(1).get_attribute("href") == f"/analysis?id={member['analysis_id']}&model={GROUP}-seed14"
    group_id = query(page)["group"][0]

    page.reload()  # the group job in the URL reopens the comparison
    page.wait_for_selector("#seed-results[data-drawn]", timeout=60_000)
    assert query(page)["group"] == [group_id]

    links.nth(1).click()  # a seed's own analysis opens as any analysis does
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=120_000)
    assert page.evaluate("window.headscope.result.model.id") == f"{GROUP}-seed14"

    # a page opened on no comparison lists it beside each seed's analysis, and opens it in the Across seeds panel
    page.goto(page.base + "/analysis")
    page.wait_for_function("document.querySelectorAll('#job-history tr[data-id]').length >= 3", timeout=30_000)
    row = page.locator(f"#job-history tr[data-id='{group_id}']")
    assert (
        row.get_attribute("data-kind") == "seed group" and row.locator("td").nth(2).text_content() == f"{GROUP}@13,14"
    )
    for m in shown["members"]:
        assert page.get_attribute(f"#job-history tr[data-id='{m['analysis_id']}']", "data-kind") == "analysis"
    assert row.locator("a").get_attribute("href") == f"?group={group_id}"
    assert page.locator("#seed-results").is_hidden()
    row.locator("a").click()
    page.wait_for_selector("#seed-results[data-drawn]", timeout=60_000)
    assert query(page)["group"] == [group_id] and page.input_value("#group-select") == f"{GROUP}@13,14"
    page.wait_for_selector(f"#job-history tr.current[data-id='{group_id}']", state="attached")

"""/robustness over a seed group in Debian's headless Chromium against a running uvicorn whose models folder holds a
seed group (copies of the trained demo checkpoint, the later seed's attention projections perturbed): the model
picker offers the group, the run goes through each seed's own run, and the page shows each test's figures over the
seeds and, per test, the layers × heads map of k/n moved heads (the stability map /analysis draws for labels);
"Recent runs" then lists the group run by its NAME@SEEDS beside each seed's own run, and reopens either."""

import pytest
from browser_support import query  # tests/ is on sys.path (rootdir conftest)
from seed_group_support import PERTURBED_GROUP

pytestmark = pytest.mark.browser
GROUP = PERTURBED_GROUP
TESTS = ("revnon", "adddiff", "aspect-only")


@pytest.fixture(scope="module")
def server(demo_group_server):
    """The browser conftest's `page` opens this module's pages on the seed group's server."""
    return demo_group_server


def maps_match(page, rows) -> int:
    """The maps shown are one per row where some seed moved a head, each with one k/2 per moved head."""
    moved = [row for row in rows if any(row["heads"])]
    maps = page.locator("#group-maps .seed-map")
    assert maps.count() == len(moved)
    for row, box in zip(moved, maps.all(), strict=True):
        assert box.get_attribute("data-test") == row["test"]
        cells = box.locator(".heatmaplayer text, .hm text, text.textpoint").all_text_contents()
        assert sorted(c for c in cells if c) == sorted(f"{k}/2" for counts in row["counts"] for k in counts if k)
        assert f"{row['test']} · Jaccard" in box.locator(".gtitle").text_content()
    assert page.locator("#group-moved-table tr[data-test]").count() == len(rows)
    return len(moved)


def history_rows(page, count: int) -> dict[str, tuple[str, str]]:
    """Once "Recent runs" lists `count` runs: job id -> (its kind's label, its model cell)."""
    page.wait_for_function(f"document.querySelectorAll('#job-history tr[data-id]').length >= {count}", timeout=30_000)
    rows = page.locator("#job-history tr[data-id]").all()
    return {
        row.get_attribute("data-id"): (row.get_attribute("data-kind"), row.locator("td").nth(2).text_content())
        for row in rows
    }


def test_the_page_runs_a_seed_group_and_shows_the_moved_heads_map(page):
    page.goto(page.base + "/robustness")
    page.wait_for_selector(f"#model-select option[value='{GROUP}@13,14']", state="attached", timeout=60_000)
    page.select_option("#model-select", f"{GROUP}@13,14")
    page.wait_for_selector("#test-choices input[value='revnon']")  # the group's task's tests
    page.select_option("#data-select", "demo-absa")
    for name in TESTS:
        page.check(f"#test-choices input[value='{name}']")
    page.fill("#max-examples", "40")
    page.fill("#batch-size", "8")
    page.fill("#bootstrap", "200")
    page.click("#start-button")
    page.wait_for_selector("#group-results[data-drawn]", timeout=600_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")
    assert page.locator("#single-results").is_hidden()

    result = page.evaluate("window.headscope.result")
    assert result["group"] == f"{GROUP}@13,14"
    figures = page.locator("#group-figures tr[data-test]")
    assert figures.all_text_contents() and figures.count() == len(TESTS) == len(result["figures"])
    page.wait_for_selector("#group-chart .main-svg")
    assert page.locator("#group-chart .errorbar").count() >= 1  # min–max over the seeds

    links = page.locator("#group-links a.seed-link")
    assert links.all_text_contents() == [f"seed 13 ({GROUP})", f"seed 14 ({GROUP}-seed14)"]
    member = result["members"][1]
    assert links.nth(1).get_attribute("href") == f"/robustness?id={member['robustness_id']}&model={GROUP}-seed14"

    by_query = {q: [r for r in result["moved"]["tests"] if r["query_set"] == q] for q in ("focus", "cls")}
    page.wait_for_selector("#group-maps[data-query='focus']", state="attached")
    shown = maps_match(page, by_query["focus"])
    page.select_option("#group-query-select", "cls")
    page.wait_for_selector("#group-maps[data-query='cls']", state="attached", timeout=30_000)
    shown += maps_match(page, by_query["cls"])
    assert shown, "the demo checkpoint and its perturbed copy both move heads on some test"

    state = query(page)
    assert state["model"] == [f"{GROUP}@13,14"] and state["id"][0]
    page.reload()  # the group job in the URL reopens the group result
    page.wait_for_selector("#group-results[data-drawn]", timeout=60_000)
    assert page.input_value("#model-select") == f"{GROUP}@13,14"
    assert page.get_attribute("#download-link", "href") == f"/api/robustness-groups/{state['id'][0]}/result.json"

    # a page opened on no run lists both kinds: the group run by its NAME@SEEDS and each seed's own run
    group_id, runs = state["id"][0], {m["robustness_id"]: m["model"] for m in result["members"]}
    page.goto(page.base + "/robustness")
    rows = history_rows(page, 3)
    assert rows == {group_id: ("seed group", f"{GROUP}@13,14"), **{i: ("run", model) for i, model in runs.items()}}
    seed14 = result["members"][1]["robustness_id"]
    page.locator(f"#job-history tr[data-id='{seed14}'] a").click()  # a seed's own run reopens as a single run
    page.wait_for_function(f"(window.headscope.result || {{}}).model?.id === '{GROUP}-seed14'", timeout=60_000)
    page.wait_for_selector("#single-results", timeout=60_000)
    assert query(page)["id"] == [seed14] and page.locator("#group-results").is_hidden()
    group_link = page.locator(f"#job-history tr[data-id='{group_id}'] a")
    assert group_link.get_attribute("href") == f"?id={group_id}&model={GROUP}%4013%2C14"
    group_link.click()  # and the group run reopens as the group result
    page.wait_for_selector("#group-results[data-drawn]", timeout=60_000)
    assert page.locator("#single-results").is_hidden() and page.input_value("#model-select") == f"{GROUP}@13,14"
    assert query(page)["id"] == [group_id] and query(page)["model"] == [f"{GROUP}@13,14"]
    page.wait_for_selector(f"#job-history tr.current[data-id='{group_id}']", state="attached")

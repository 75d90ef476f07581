"""The "?" links from the terms the job pages show to their definitions on /concepts.

Only the links are checked (href and tooltip): the /concepts page itself is tested with its route.
"""

import pytest
from browser_support import start_analysis  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser


def test_head_labels_link_to_their_concept(page):
    start_analysis(page)
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=240_000)
    assert page.locator("#error-box").is_hidden(), page.text_content("#error-box")

    # the "?" beside the selected head's labels
    link = page.locator("#head-labels a.concept")
    assert link.count() >= 1
    head_label = page.locator("#head-labels a.concept[href='/concepts#head-label']")
    assert head_label.count() == 1
    assert head_label.text_content() == "?"
    assert head_label.get_attribute("target") == "_blank"
    title = head_label.get_attribute("title")
    assert title and "head" in title.lower() and "\n" not in title

    # the template's terms got theirs too (filled from the same definitions)
    for anchor in ("baseline", "bootstrap-ci", "interpretability-rate", "fine-tune-change"):
        links = page.locator(f"a.concept[href='/concepts#{anchor}']")
        assert links.count() >= 1, anchor
        assert links.first.get_attribute("title"), anchor
    assert page.locator("[data-concept]").count() == 0  # every placeholder became a link

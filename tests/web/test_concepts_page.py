"""GET /concepts: docs/concepts.md served as a page of the site, with every anchor the pages' "?" links use."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.web.concepts_pages import CONCEPTS, render, slug
from app.web.main import create_app

ANCHORS = (
    "head-label",
    "baseline",
    "bootstrap-ci",
    "interpretability-rate",
    "fine-tune-change",
    "ars",
    "head-separation",
    "no-op",
    "opposite-aspect",
    "head-statistic",
    "minimum-n",
    "importance",
    "typical-examples",
    "query-token",
    "attention-change",
    # each head label's own section
    "aspect",
    "aspect-sentiment",
    "phrase",
    "entity",
    "cls-entity",
    "attribution",
)


@pytest.fixture(scope="module")
def page_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    # No `with`: the lifespan (models, database, job queue) does not start; the page needs none of it.
    settings = Settings(data_dir=tmp_path_factory.mktemp("concepts"), prepare_on_start=False, device="cpu")
    return TestClient(create_app(settings))


def test_concepts_page_has_every_anchor(page_client: TestClient) -> None:
    response = page_client.get("/concepts")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    missing = [anchor for anchor in ANCHORS if anchor not in ids]
    assert missing == [], f"/concepts lacks the anchors {missing}"
    assert "<nav>" in html and "Concepts · headscope" in html  # inside the site's base template


def test_concepts_page_images_are_served(page_client: TestClient) -> None:
    html = page_client.get("/concepts").text
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) >= 9
    for source in sources:
        assert source.startswith("/docs-img/")
        image = page_client.get(source)
        assert image.status_code == 200, source
        assert image.headers["content-type"] in ("image/svg+xml", "image/png")
    assert page_client.get("/docs-img/..%2Fconcepts.md").status_code == 404
    assert page_client.get("/docs-img/make_concept_figures.py").status_code == 404


def test_in_page_links_resolve_and_nothing_unsafe_survives() -> None:
    html = render(CONCEPTS.read_text(encoding="utf-8"))
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links and links <= ids, f"links to missing anchors: {sorted(links - ids)}"
    unsafe = render("# T\n\n<script>alert(1)</script> [x](javascript:alert(1))")
    assert "<script>" not in unsafe and 'href="javascript' not in unsafe


def test_slug_matches_githubs_anchors() -> None:
    assert slug("Bootstrap CI") == "bootstrap-ci"
    assert slug("Fine-tune change") == "fine-tune-change"
    assert slug("Inputs: sentence pairs and marked entities") == "inputs-sentence-pairs-and-marked-entities"


def test_every_question_mark_link_of_the_pages_has_its_section() -> None:
    """The anchors static/js/dom.js links to (its CONCEPTS table) are all headings of docs/concepts.md."""
    dom = (CONCEPTS.parents[1] / "static" / "js" / "dom.js").read_text(encoding="utf-8")
    table = dom.split("export const CONCEPTS = {", 1)[1].split("\n};", 1)[0]
    anchors = re.findall(r'^\s*"?([a-z][a-z-]*)"?:', table, flags=re.M)
    assert len(anchors) >= 15
    ids = set(re.findall(r'\bid="([^"]+)"', render(CONCEPTS.read_text(encoding="utf-8"))))
    assert [a for a in anchors if a not in ids] == []

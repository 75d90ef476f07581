"""The API's documentation page (/docs: Swagger UI) renders offline: every script and style from this server (the
fastapi-offline wheel's copy), none from a CDN (the shared `page` fixture fails a test whose page asked any other
host), and the OpenAPI 3.1 document FastAPI writes is read, not refused. ReDoc is not served: its page fetches its
logo from cdn.redoc.ly."""

import pytest

pytestmark = pytest.mark.browser


def test_swagger_ui_lists_the_api_offline(page):
    page.goto(page.base + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/inspect" in paths and "/api/analyses" in paths
    assert page.locator(".errors-wrapper").count() == 0  # "Unable to render this definition" et al.


def test_no_redoc_page(page):
    assert page.goto(page.base + "/redoc").status == 404

"""The model view's thumbnails of a long input, in Debian's headless Chromium against a running
uvicorn: one canvas pixel per device pixel of the thumbnail, each the strongest cell of its block
(max-pooling), so that one-cell patterns (previous token, [SEP]) stay visible. The page asks for the
server's pooled thumbnails and one full layer only; the pixels are checked against every layer's full
attention, asked for here."""

from __future__ import annotations

import base64
import math
import urllib.parse

import httpx
import pytest
from browser_support import guarded_page  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser
LONG_REVIEW = " ".join(["The pasta was great and fresh, but our waiter was rude and we waited forty minutes."] * 7)


def expected(layer_b64: str, head: int, T: int, S: int) -> list[int]:
    """RGBA bytes of a max-pooled thumbnail, as modelview.js paints it."""
    data = base64.b64decode(layer_b64)
    cell = [i * S // T for i in range(T)]
    pooled = [0] * (S * S)
    for q in range(T):
        row = cell[q] * S
        for k in range(T):
            v = data[(head * T + q) * T + k]
            if v > pooled[row + cell[k]]:
                pooled[row + cell[k]] = v
    out = []
    for v in pooled:
        t = math.sqrt(v / 255)
        out += [round(255 - 247 * t), round(255 - 207 * t), round(255 - 148 * t), 255]
    return out


def test_long_input_thumbnails_are_max_pooled(browser, server):
    with guarded_page(browser) as (page, offsite):
        query = urllib.parse.urlencode(
            {"model": "demo-absa-qa-m", "text": LONG_REVIEW, "aspect": "service", "view": "model"}
        )
        page.goto(f"{server}/inspect?{query}")
        page.wait_for_function("document.getElementById('modelview-grid').dataset.complete === '1'", timeout=60_000)
        assert page.locator("#modelview-grid .thumb").count() == 72
        T = page.evaluate("window.headscope.response.tokens.length")
        assert T > 100
        body = {"model": "demo-absa-qa-m", "text": LONG_REVIEW, "aspect": "service", "layers": [0, 2, 5]}
        full = httpx.post(f"{server}/api/inspect", json=body, timeout=120).json()
        sizes = page.eval_on_selector_all("#modelview-grid .thumb", "cs => cs.map((c) => [c.width, c.height])")
        assert set(map(tuple, sizes)) == {(42, 42)}  # 44px thumbnails with a 1px border, device pixel ratio 1
        for layer, head in ((0, 0), (2, 5), (5, 11)):
            got = page.eval_on_selector(
                f".thumb[data-layer='{layer}'][data-head='{head}']",
                "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)",
            )
            assert got == expected(full["attention"]["layers"][str(layer)], head, T, 42), (layer, head)
        # what the page fetched: the heatmap's layer and the thumbnails, never every full layer
        assert sorted(page.evaluate("Object.keys(window.headscope.response.attention.layers)")) == ["0"]
    assert offsite == []


def test_the_grid_shows_and_answers_before_the_heatmaps_layer_arrives(browser, server):
    """The thumbnails come first; the heatmap's full layer (H x T x T bytes) is asked for after them and
    held back here: the grid is painted (and the page not yet ready) while the heatmap waits for its layer,
    which is then drawn, and a thumbnail's click opens its head."""
    with guarded_page(browser) as (page, offsite):
        held = []

        def hold_full_layers(route) -> None:
            if route.request.post_data_json.get("layers"):
                held.append(route)  # answered below, once the grid has been checked
            else:
                route.continue_()

        page.route("**/api/inspect", hold_full_layers)
        query = urllib.parse.urlencode(
            {"model": "demo-absa-qa-m", "text": LONG_REVIEW, "aspect": "service", "view": "model", "hm_layer": 3}
        )
        page.goto(f"{server}/inspect?{query}")
        page.wait_for_function("document.getElementById('modelview-grid').dataset.complete === '1'", timeout=60_000)
        for _ in range(200):
            if held:
                break
            page.wait_for_timeout(50)
        assert [r.request.post_data_json["layers"] for r in held] == [[3]]
        assert page.locator("#heatmap canvas").count() == 0
        assert page.evaluate("document.body.dataset.ready") != "1"
        # the thumbnails' own painting done: the full layer was never needed for them
        assert page.evaluate("Object.keys(window.headscope.response.attention.layers)") == []
        held[0].continue_()
        page.unroute("**/api/inspect")
        page.wait_for_selector("#heatmap canvas.heatmap-canvas", timeout=60_000)
        page.wait_for_function("document.body.dataset.ready === '1'")
        assert page.get_attribute("#heatmap canvas", "aria-label").startswith("head 3.0")
        assert page.evaluate("Object.keys(window.headscope.response.attention.layers)") == ["3"]
        # a thumbnail click opens its head in the head view
        page.click(".thumb[data-layer='4'][data-head='7']")
        page.wait_for_function(
            "window.headscope.edgesDrawn > 0 && new URLSearchParams(location.search).get('view') === 'head'"
        )
        assert page.evaluate("window.headscope.response.attention.layers['4'] !== undefined")
    assert offsite == []

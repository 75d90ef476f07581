"""Heatmaps readable at size and captioned downloads, in Debian's headless Chromium: the model view's token
heatmap at 256+ tokens (labels thinned, never below 10 px; the colour-scale switch redraws it), the PNG (2x)
and SVG downloads of the head view and the heatmap carrying their caption, and the robustness heads chart
of a 12 x 12 model (144 heads) drawn with its head labels thinned."""

from __future__ import annotations

import hashlib
import math
import struct
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from browser_support import guarded_page  # tests/ is on sys.path (rootdir conftest)

pytestmark = pytest.mark.browser
SVG = "{http://www.w3.org/2000/svg}"
LONG_REVIEW = " ".join(["The pasta was great and fresh, but our waiter was rude and we waited forty minutes."] * 14)


# the written labels' widths, in the font the canvas writes them with, against the room beside the matrix
LABELS_FIT = """async () => {
  const { LABEL_PX } = await import('/static/js/heatmap-scale.js');
  const d = document.getElementById('heatmap').drawing, ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${LABEL_PX}px system-ui, sans-serif`;
  const written = (i) => { const s = d.spec.labels[i]; return s.length > 14 ? s.slice(0, 13) + '\u2026' : s; };
  const widest = (idx) => Math.max(...idx.map((i) => ctx.measureText(written(i)).width));
  return { px: LABEL_PX, widestRow: widest(d.rows), rowRoom: d.x0, widestCol: widest(d.cols),
           colRoom: d.height - d.y0 - d.side };
}"""


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def caption_of(path: str) -> str:
    root = ET.parse(path).getroot()
    caption = root.find(f".//{SVG}g[@data-caption]")
    assert caption is not None, "the SVG has no caption"
    return "\n".join(t.text or "" for t in caption.iter(f"{SVG}text"))


def download(page, selector: str):
    with page.expect_download() as got:
        page.click(selector)
    return got.value.path()


def canvas_hash(page, selector: str) -> str:
    data = page.eval_on_selector(selector, "c => c.toDataURL('image/png')")
    return hashlib.sha256(data.encode()).hexdigest()


def test_token_heatmap_thins_labels_switches_scale_and_downloads_with_captions(browser, server):
    with guarded_page(browser, accept_downloads=True) as (page, offsite):
        query = urllib.parse.urlencode(
            {"model": "demo-absa-qa-m", "text": LONG_REVIEW, "aspect": "service", "view": "model"}
        )
        page.goto(f"{server}/inspect?{query}")
        page.wait_for_selector("#heatmap canvas.heatmap-canvas", timeout=120_000)
        T = page.evaluate("window.headscope.response.tokens.length")
        assert T >= 256
        d = page.evaluate(
            "(() => { const d = document.getElementById('heatmap').drawing; "
            "return {cell: d.cell, rows: d.rows, cols: d.cols}; })()"
        )
        # thinned, not shrunk: fewer labels than tokens, every one at least 12 px from the next
        assert 10 < len(d["rows"]) < T and 10 < len(d["cols"]) < T
        assert min(b - a for a, b in zip(d["rows"], d["rows"][1:])) * d["cell"] >= 12
        # keys are written at -60 degrees: 12 px apart across their reading direction
        assert min(b - a for a, b in zip(d["cols"], d["cols"][1:])) * d["cell"] * math.sin(math.pi / 3) >= 12
        fit = page.evaluate(LABELS_FIT)
        assert fit["px"] >= 10  # the labels' font, never shrunk for a long input
        assert fit["widestRow"] + 4 <= fit["rowRoom"]  # query labels end before the matrix begins
        assert fit["widestCol"] * math.sin(math.pi / 3) + 4 <= fit["colRoom"]  # key labels inside the canvas
        linear = canvas_hash(page, "#heatmap canvas")
        page.select_option("#hm-scale", "log")
        page.wait_for_selector("#heatmap canvas[data-scale='log']")
        assert canvas_hash(page, "#heatmap canvas") != linear
        assert "hm_scale=log" in page.url
        svg = download(page, "#heatmap-export-svg")
        caption = caption_of(svg)
        assert "model: demo-absa-qa-m" in caption and "layer: 0" in caption and "head: 0" in caption
        assert "log colour scale" in caption and "input: The pasta was great" in caption
        width = float(ET.parse(svg).getroot().get("width"))
        png = Path(download(page, "#heatmap-export-png")).read_bytes()
        assert png_size(png)[0] == 2 * width
        # the head view's downloads carry the model, the input, the layer and the settings
        page.click(".thumb[data-layer='2'][data-head='5']")
        page.wait_for_function(
            "window.headscope.edgesDrawn > 0 && new URLSearchParams(location.search).get('view') === 'head'"
        )
        svg = download(page, "#download-svg")
        caption = caption_of(svg)
        assert "model: demo-absa-qa-m" in caption and "layer: 2" in caption and "heads: 5" in caption
        assert "mass: 70%" in caption and "attention: weights" in caption
        width = float(ET.parse(svg).getroot().get("width"))
        assert png_size(Path(download(page, "#download-png")).read_bytes())[0] == 2 * width
    assert offsite == []


def robustness_result(layers: int, heads: int) -> dict:
    """A robustness result's shape as the charts read it (model, tests, each test's moved heads)."""

    def grid(offset: float) -> list[list[float]]:
        return [[(l * heads + h) / (layers * heads) - 0.5 + offset for h in range(heads)] for l in range(layers)]

    tests = []
    for i, name in enumerate(["negation", "typos", "aspect swap"]):
        separation = {"mean": grid(0.01 * i), "low": grid(0.01 * i - 0.1), "high": grid(0.01 * i + 0.1)}
        moved = {"separation": separation, "broken": {"n": 12}, "held": {"n": 30}}
        tests.append({"test": name, "moved": {"focus": moved, "cls": moved}})
    return {
        "model": {"id": "wide-12x12", "num_layers": layers, "num_heads": heads, "task": "absa"},
        "tests": tests,
        "data": {"name": "demo"},
    }


def test_robustness_heads_chart_thins_144_head_labels_and_switches_scale(page):
    page.goto(page.base + "/robustness")
    page.wait_for_selector("#chart-heads", state="attached")
    page.evaluate(
        """async (result) => {
          const m = await import('/static/js/robustness-charts.js');
          document.getElementById('results').hidden = false;
          await m.drawHeadsChart(result, () => {});
        }""",
        robustness_result(12, 12),
    )
    page.wait_for_selector("#chart-heads .main-svg")
    ticks = page.eval_on_selector_all(
        "#chart-heads .ytick text",
        "ts => ts.map((t) => [t.textContent, t.getBoundingClientRect().y, parseFloat(getComputedStyle(t).fontSize)])",
    )
    assert 20 < len(ticks) < 144  # one row per head, a label every k-th one
    assert min(size for _, _, size in ticks) >= 10
    ys = sorted(y for _, y, _ in ticks)
    assert min(b - a for a, b in zip(ys, ys[1:])) >= 11
    image = "#chart-heads .hm image"
    before = page.get_attribute(image, "href")
    page.select_option("#heads-scale", "rank")
    page.wait_for_function("document.getElementById('chart-heads').dataset.scale === 'rank'")
    page.wait_for_function(f"document.querySelector('{image}').getAttribute('href') !== {before!r}")

"""Every term one "?" away and every figure downloadable with its caption (Debian's Chromium, Playwright, a real
uvicorn over the tiny checkpoints): /inspect, /analysis, /robustness and /report link each label, statistic,
baseline, rate, unit and figure to its definition on /concepts (the "?" keeps its round shape in a flex row), and
/report marks an untrained checkpoint's figures; /analysis's per-label layers × heads maps and /compare's views
(the per-head bars, the all-layers grid, both head views, the patching map) download as PNG (2x) and SVG with a
caption naming the model, the input, the layer, the heads and the unit, no caption line cut off."""

from __future__ import annotations

import struct
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_support import finished_analysis, guarded_page  # tests/ is on sys.path (rootdir conftest)
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

from app.devserver import ServerProcess

pytestmark = pytest.mark.browser
SVG = "{http://www.w3.org/2000/svg}"
SETTINGS = {"max_examples": 12, "bootstrap": 50, "pretrained": False, "agreement": False, "js_sample": 0}
REPORT = {
    "models": [TINY_ABSA_ID, TINY_RE_ID],
    "settings": {"max_examples": 8, "batch_size": 8, "attacks": ["hotflip"], "attack_examples": 2, "budget": 4,
                 "pretrained_baseline": False},
}  # fmt: skip
SOURCE, VARIANT = "The pasta was great but the service was slow.", "The pasta was great but the service was quick."


@pytest.fixture(scope="module")
def tiny_server(tiny_models_dir, tmp_path_factory):
    env = {
        "HEADSCOPE_MODELS_DIR": str(tiny_models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("definitions-data")),
        "HEADSCOPE_SHARED_DATA": str(tmp_path_factory.mktemp("definitions-shared")),  # the demo data only
        "HEADSCOPE_DEVICE": "cpu",
    }
    with ServerProcess(env) as running:
        yield running.url


@pytest.fixture
def page(browser, tiny_server):
    with guarded_page(browser, accept_downloads=True) as (page, offsite):
        page.base = tiny_server
        yield page
    assert offsite == [], f"the page requested hosts other than 127.0.0.1: {offsite}"


def anchors(page, root: str = "body") -> set[str]:
    """The /concepts anchors the visible "?" links under `root` open, each checked to carry its definition."""
    links = page.eval_on_selector_all(
        f"{root} a.concept",
        "as => as.filter((a) => a.offsetParent).map((a) => [a.getAttribute('href'), a.title, a.target])",
    )
    for href, title, target in links:
        assert href.startswith("/concepts#") and title and target == "_blank", (href, title)
    return {href.split("#", 1)[1] for href, _, _ in links}


def download(page, selector: str) -> str:
    with page.expect_download() as got:
        page.click(selector)
    return got.value.path()


def png_width(path: str) -> int:
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])[0]


def svg_caption(path: str) -> tuple[str, float]:
    """(caption text, width) of a downloaded figure: export-image.js's caption group, or a plotly annotation."""
    root = ET.parse(path).getroot()
    group = root.find(f".//{SVG}g[@data-caption]")
    texts = group.iter(f"{SVG}text") if group is not None else root.iter(f"{SVG}text")
    lines = []
    for text in texts:  # plotly writes a multi-line annotation as one <text> of <tspan class="line">s
        spans = [t for t in text.iter(f"{SVG}tspan") if "line" in (t.get("class") or "").split()]
        lines += ["".join(t.itertext()) for t in spans] or ["".join(text.itertext())]
    return "\n".join(lines), float(root.get("width"))


def caption_fits(caption: str, width: float) -> None:
    """No caption line is wider than the figure (export-image.js sizes figures at 6.8 px a character)."""
    for line in caption.splitlines():
        assert len(line) * 6.8 <= width, (line, width)


def test_inspect_links_every_term_to_its_definition(page):
    query = urlencode({"model": TINY_ABSA_ID, "text": SOURCE, "aspect": "service"})
    page.goto(f"{page.base}/inspect?{query}")
    page.wait_for_function("window.headscope && window.headscope.edgesDrawn > 0", timeout=60_000)
    assert page.locator("[data-concept]").count() == 0  # every placeholder became a link
    shown = anchors(page)
    # the input, the prediction, interventions, norm-based attention, the head view's mass and pair filter,
    # attribution and its query token
    for anchor in ("inputs-sentence-pairs-and-marked-entities", "prediction", "intervention", "norm-based-attention",
                   "the-head-view", "attribution-scores", "query-token"):  # fmt: skip
        assert anchor in shown, anchor
    # the "?" beside the attention-kind select keeps its round size in the tabs' flex row
    box = page.locator(".tabs a.concept").bounding_box()
    assert box["height"] <= 20 and abs(box["height"] - box["width"]) <= 4, box
    page.click("#tab-model")  # the model view: the knock-out and faithfulness maps define theirs too
    page.wait_for_selector("#modelview-panel:not([hidden])")
    assert {"knock-out", "faithfulness", "the-head-view", "the-model-view"} <= {
        a for a in anchors(page, "#modelview-panel")
    }


def test_analysis_label_maps_download_as_captioned_png_and_svg(page):
    job_id, _ = finished_analysis(page, page.base, {"model": TINY_ABSA_ID, "data": "demo-absa", "settings": SETTINGS})
    page.goto(f"{page.base}/analysis?id={job_id}")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=120_000)
    maps = page.locator("#label-maps .label-map-box")
    page.wait_for_selector("#label-maps .label-map-box .export-buttons")
    assert maps.count() >= 2 and maps.count() == page.locator("#label-maps .export-buttons").count()
    label = maps.first.locator(".label-map").get_attribute("data-label")
    svg = download(page, f"#label-map-{label}-export-svg")
    caption, width = svg_caption(svg)
    assert f"model: {TINY_ABSA_ID}" in caption and "input: demo-absa" in caption and "layers × heads" in caption
    assert f"label: {label}" in caption and "statistic: " in caption and "rule: " in caption
    caption_fits(caption, width)
    assert png_width(download(page, f"#label-map-{label}-export-png")) == 2 * width
    # the main map's hover names the head layer.head and gives each CI its n
    hover = page.evaluate("document.getElementById('heatmap-main').data[0].text[0][1]")
    assert hover.startswith("head 0.1<br>") and "95% CI [" in hover and "n = " in hover, hover
    # each small map has its axes named; every panel of the page defines its figure
    first = maps.first.locator(".label-map")
    assert first.locator(".xtitle").text_content() == "head" and first.locator(".ytitle").text_content() == "layer"
    assert page.locator("[data-concept]").count() == 0
    shown = anchors(page)
    for anchor in ("head-label", "interpretability-rate", "importance", "fine-tune-change", "faithfulness",
                   "attribution-scores", "typical-examples", "norm-based-attention"):  # fmt: skip
        assert anchor in shown, anchor


def test_compare_views_download_as_captioned_png_and_svg(page):
    query = urlencode({"model": TINY_ABSA_ID, "left": SOURCE, "right": VARIANT, "aspect": "service"})
    page.goto(f"{page.base}/compare?{query}")
    page.wait_for_function("document.body.dataset.ready === '1' && window.headscope.response", timeout=60_000)
    layer = page.evaluate("window.headscope.state.layer")
    # the per-head bars: one row per head, the unit in the caption
    svg = download(page, "#change-bars-export-svg")
    caption, width = svg_caption(svg)
    assert f"model: {TINY_ABSA_ID} (left) vs {TINY_ABSA_ID} (right)" in caption
    assert f"input: {SOURCE}" in caption and VARIANT in caption and f"layer: {layer}" in caption
    assert "unit: Jensen–Shannon divergence" in caption
    caption_fits(caption, width)
    bars = page.evaluate("document.querySelectorAll('#change-bars .cbar').length")
    assert len(ET.parse(svg).getroot().findall(f".//{SVG}rect")) >= 2 * bars  # a track and a fill per bar
    assert png_width(download(page, "#change-bars-export-png")) == 2 * width
    # the all-layers grid: its caption names the query set and the unit (× 100), a cell per head of every layer
    page.click("#grid-details summary")
    caption, width = svg_caption(download(page, "#change-grid-export-svg"))
    assert "query: focus queries" in caption and "JS divergence × 100" in caption
    # each side's head view: its own model, input and side
    svg = download(page, "#right-headview-export-svg")
    caption, width = svg_caption(svg)
    assert "side: right" in caption and f"input: {VARIANT}" in caption and "mass: 70%" in caption
    assert png_width(download(page, "#left-headview-export-png")) >= 2 * 420
    # the activation-patching heads map, once run: a cell per head, the direction and the unit in the caption
    page.click("#patch-button")
    page.wait_for_selector("#patching:not([hidden]) #patch-heads-export-svg", timeout=120_000)
    svg = download(page, "#patch-heads-export-svg")
    caption, width = svg_caption(svg)
    assert "view: activation patching, layers × heads" in caption and "direction: denoise" in caption
    assert "unit: restored fraction of the logit difference" in caption
    cells = page.locator("#patch-heads button.pt-cell").count()
    assert len(ET.parse(svg).getroot().findall(f".//{SVG}rect")) >= cells + 1  # the cells and the legend's scale
    assert png_width(download(page, "#patch-heads-export-png")) == 2 * width
    # and the residual-stream map beside it: a cell per residual point and aligned token
    svg = download(page, "#patch-residual-export-svg")
    caption, width = svg_caption(svg)
    assert "residual stream × aligned tokens" in caption and "one residual point" in caption
    cells = page.locator("#patch-residual .pt-cell").count()
    assert cells > 0 and len(ET.parse(svg).getroot().findall(f".//{SVG}rect")) >= cells + 1
    assert png_width(download(page, "#patch-residual-export-png")) == 2 * width


def finished_job(page, api: str, body: dict) -> str:
    """POST a job through the page's request context and wait (≤ 5 min) until it is done; its id."""
    started = page.request.post(f"{page.base}/api/{api}", data=body)
    assert started.ok, started.text()
    job_id = started.json()["id"]
    for _ in range(600):
        status = page.request.get(f"{page.base}/api/{api}/{job_id}").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert status["status"] == "done", status.get("error")
    return job_id


def test_report_links_every_figure_to_its_definition(page):
    job_id = finished_job(page, "reports", REPORT)
    page.goto(f"{page.base}/report?id={job_id}")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=120_000)
    assert page.locator("[data-concept]").count() == 0
    # the summary table: each perspective's figure, its unit and which way is better
    assert anchors(page, "#summary-table") == {
        "accuracy-and-f1-per-task", "distribution-shift", "accuracy-under-attack", "ece", "ood-auroc",
        "interpretability-rate",
    }  # fmt: skip
    # the chart's axis notes: one definition per perspective
    notes = page.locator("#perspective-axes li")
    assert notes.count() == 6 and all(notes.nth(i).locator("a.concept").count() == 1 for i in range(6))
    # per checkpoint: the in-distribution sentence, the attack table (its n), calibration, out-of-domain sets
    details = anchors(page, "#model-details")
    assert {"accuracy-and-f1-per-task", "accuracy-under-attack", "minimum-n", "ece", "ood-auroc"} <= details
    assert {"report-figures", "ece", "ood-auroc"} <= anchors(page, "#results")
    assert "pairs (n)" in page.text_content("#model-details") and "n in / out" in page.text_content("#model-details")
    # the tiny checkpoints were never trained: their rows and sections say so wherever their figures show
    for model in REPORT["models"]:
        tag = page.locator(f'#summary-table tr[data-model="{model}"] .untrained-tag')
        assert tag.count() == 1 and "Untrained checkpoint" in tag.get_attribute("title")
        assert page.locator(f'#model-details [data-model="{model}"] .notice.untrained').is_visible()


def test_robustness_links_every_rate_to_its_definition(page):
    settings = {"tests": ["q1-typo", "q5-entity-only"], "max_examples": 12, "batch_size": 8, "bootstrap": 50}
    job_id = finished_job(page, "robustness", {"model": TINY_RE_ID, "data": "demo-re", "settings": settings})
    page.goto(f"{page.base}/robustness?id={job_id}")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=120_000)
    assert page.locator("[data-concept]").count() == 0
    assert {"flip-rate", "debiased-accuracy", "head-separation"} <= anchors(page, "#tests-table")
    assert "bootstrap-ci" in anchors(page)  # the rates' intervals

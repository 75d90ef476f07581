"""Regenerate docs/img/page-*.png: a screenshot of each page in the navigation at 1400 x 900, in Debian's
headless Chromium against a fresh server on the demo checkpoints (models/), each page in a meaningful state:
/inspect on its example (and its model view), /models, /analysis, /robustness and /report on a finished small
job, /compare on a source and its variant, /findings with one saved finding. The PNGs are reduced to a 256-colour
palette (Pillow) so that each stays well under 300 kB.

    .venv/bin/python tools/screenshots.py [--only inspect,models] [--out docs/img]

The jobs run for real (small: 16 pairs, a bootstrap of 100): about ten minutes on a laptop's CPU.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.devserver import ServerProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 900}
LIMIT_BYTES = 300_000
JOB_MS = 900_000


def inspect(page, base: str) -> None:
    page.goto(base + "/inspect")
    page.wait_for_function("window.headscope && window.headscope.edgesDrawn > 0", timeout=120_000)
    page.evaluate("window.scrollTo(0, document.getElementById('tab-head').getBoundingClientRect().top - 260)")


def model_view(page, base: str) -> None:
    query = urlencode(
        {
            "model": "demo-absa-qa-m",
            "text": "The pasta was great but the waiter was rude.",
            "aspect": "service",
            "view": "model",
            "hm_layer": 2,
            "hm_head": 5,
        }
    )
    page.goto(f"{base}/inspect?{query}")
    page.wait_for_selector("#heatmap canvas.heatmap-canvas", timeout=120_000)
    page.evaluate("document.getElementById('modelview-panel').scrollIntoView()")


def models(page, base: str) -> None:
    page.goto(base + "/models")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)


def analysis(page, base: str) -> None:
    page.goto(base + "/analysis")
    page.wait_for_selector("#model-select option[value='demo-absa-qa-m']", state="attached", timeout=60_000)
    page.select_option("#model-select", "demo-absa-qa-m")
    page.wait_for_selector("#data-select option[value='demo-absa']", state="attached")
    page.select_option("#data-select", "demo-absa")
    page.fill("#max-examples", "16")
    page.fill("#bootstrap", "100")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=JOB_MS)
    page.wait_for_selector("#heatmap-main .main-svg")
    page.evaluate("document.getElementById('heatmap-main').scrollIntoView({block: 'center'})")


def robustness(page, base: str) -> None:
    page.goto(base + "/robustness")
    page.wait_for_selector("#model-select option[value='demo-re']", state="attached", timeout=60_000)
    page.select_option("#model-select", "demo-re")
    page.wait_for_selector("#test-choices input[value='q5-entity-only']")
    page.select_option("#data-select", "demo-re")
    for name in ("q1-typo", "q5-entity-only"):
        page.check(f"#test-choices input[value='{name}']")
    page.fill("#max-examples", "12")
    page.fill("#bootstrap", "50")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=JOB_MS)
    page.wait_for_selector("#chart-heads .main-svg")
    page.evaluate("document.getElementById('results').scrollIntoView()")


def report(page, base: str) -> None:
    page.goto(base + "/report")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
    page.fill("#max-examples", "16")
    page.fill("#batch-size", "16")
    page.uncheck("#attack-choices input[value='pwws']")
    page.fill("#attack-examples", "2")
    page.fill("#budget", "8")
    page.click("#start-button")
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=JOB_MS)
    page.wait_for_selector("#chart-perspectives .main-svg")
    chart_top = "document.getElementById('chart-perspectives').getBoundingClientRect().top + scrollY"
    page.evaluate(f"window.scrollTo(0, {chart_top} - 60)")


def compare(page, base: str) -> None:
    source = "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>."
    variant = "The <e1>fire</e1> was started by a discarded <e2>cigarette</e2>."
    page.goto(base + "/compare?" + urlencode({"model": "demo-re", "left": source, "right": variant, "layer": 3}))
    page.wait_for_function(
        "window.headscope && window.headscope.response && document.body.dataset.ready === '1'", timeout=120_000
    )


def findings(page, base: str) -> None:
    # save one head of the example as a finding, then list it
    query = {"model": "demo-absa-qa-m", "text": "The pasta was great but the waiter was rude.", "aspect": "service"}
    page.goto(f"{base}/inspect?" + urlencode({**query, "layer": 2, "heads": 5}))
    page.wait_for_function("window.headscope && window.headscope.edgesDrawn > 0", timeout=120_000)
    page.click("#save-finding-head")
    page.fill("#finding-title", "Head 2.5 links the aspect to the opinion word")
    page.click("#finding-submit")
    page.wait_for_function("!!window.headscope.lastFinding", timeout=60_000)
    page.goto(base + "/findings")
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)  # its CSP forbids eval


PAGES = {
    "inspect": inspect,
    "model-view": model_view,
    "models": models,
    "analysis": analysis,
    "robustness": robustness,
    "report": report,
    "compare": compare,
    "findings": findings,
}


def small_png(png: bytes) -> bytes:
    """The screenshot as a 256-colour palette PNG (the pages are flat colours and text)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, "PNG", optimize=True
    )
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PAGES), help="pages to shoot, comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="headscope-shots-") as data:
        env = {"HEADSCOPE_MODELS_DIR": str(ROOT / "models"), "HEADSCOPE_DATA_DIR": data, "HEADSCOPE_DEVICE": "cpu"}
        with ServerProcess(env) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name in args.only.split(","):
                page = browser.new_context(viewport=VIEWPORT).new_page()
                PAGES[name](page, server.url)
                page.wait_for_timeout(300)  # the last frame painted
                png = small_png(page.screenshot())
                assert len(png) < LIMIT_BYTES, (name, len(png))
                (args.out / f"page-{name}.png").write_bytes(png)
                print(f"docs/img/page-{name}.png  {len(png) / 1000:.0f} kB")
                page.context.close()
            browser.close()


if __name__ == "__main__":
    main()

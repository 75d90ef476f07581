"""Head view interaction: click-to-paint and hover-to-paint on /inspect at 40, 128 and 256 tokens
(demo QA-M checkpoint, layer 3, all 12 heads), in Debian's headless Chromium, measured inside the
page; ratio of each p50 at 256 tokens to the same interaction at 40 tokens in the same run.
Target: ratio <= 1.5. Also the model view at 256 tokens (72 thumbnails): tab click to painted.

One measurement: performance.now() just before the input event is dispatched in the page, then
requestAnimationFrame until the head view says the bands in view are painted
(canvas.dataset.painted), then one more frame: the time to the first frame that shows the result.
Between two measurements the page is left to finish its background painting (the pictures one
mass step lower included), as a user's pause would. Interactions: toggling a head (off, then on
again), the mass slider moved up and down from 70% one step at a time (an input event per value,
as a drag gives), the pair filter (A->B and back to all) and hovering a query token (the pointer
moving from token to token).

    .venv/bin/python bench/headview_interaction.py [--runs 24] [--before REV] [--kinds down,filter]

--before REV serves the head view's modules (headview*.js, attention.js, modelview.js) as they
were at git revision REV, through the browser's request routing, for before/after figures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import urllib.parse

from common import (
    ASPECT,
    CHECKPOINT,
    MODEL_ID,
    PAIR_TOKENS,
    REVIEW,
    ROOT,
    require_checkpoint,
    server_env,
    text_of_pair_length,
)

from app.core.inputs.encoding import QA_M_TEMPLATE
from app.devserver import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
SIZES = (40, 128, 256)
LAYER = 3
OWN_MODULES = (
    "headview.js",
    "headview-paint.js",
    "headview-edges.js",
    "headview-lower.js",
    "attention.js",
    "modelview.js",
)
FILLER = (
    "The room was clean and quiet, the staff were friendly and the breakfast had fresh bread, eggs and "
    "strong coffee every morning. Parking was expensive and the lift was slow, but the view of the "
    "harbour from the balcony made up for it. We would come back for the location alone, although the "
    "wifi dropped every evening and the restaurant downstairs closed far too early on weekdays. "
)

MEASURE = """async ({kind, i}) => {
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  const $ = (s) => document.querySelector(s), canvas = $('#headview-canvas');
  const idle = async () => {
    const t = performance.now();
    // (and the pictures a step lower, where the painter keeps them: dataset.ready)
    while ((canvas.dataset.complete !== '1' || canvas.dataset.ready === '0') && performance.now() - t < 10000) {
      await frame();
    }
    await frame(); await frame();
  };
  const tokens = [...document.querySelectorAll('#tokens-left .token')].slice(1, 30);
  const fire = {
    head: () => $(`.head-toggle[data-head='${Math.floor(i / 2) % 12}']`).click(),
    up: () => {
      const s = $('#mass-slider'); s.value = 71 + i; s.dispatchEvent(new Event('input', {bubbles: true}));
    },
    down: () => {
      const s = $('#mass-slider'); s.value = 69 - i; s.dispatchEvent(new Event('input', {bubbles: true}));
    },
    filter: () => {
      const s = $('#pair-filter'); s.value = i % 2 ? 'all' : 'ab';
      s.dispatchEvent(new Event('change', {bubbles: true}));
    },
    hover: () => tokens[(i * 7) % tokens.length].dispatchEvent(new MouseEvent('mouseover', {bubbles: true})),
  }[kind];
  await idle();
  const t0 = performance.now();
  fire();
  await frame();
  while (canvas.dataset.painted !== '1') await frame();
  await frame();
  return performance.now() - t0;
}"""


def pair_text(tokenizer, n: int) -> str:
    """A review whose QA-M pair with ASPECT is exactly n tokens."""
    if n == PAIR_TOKENS:
        return REVIEW
    words = (REVIEW + " " + FILLER * 8).split()
    return text_of_pair_length(tokenizer, words, QA_M_TEMPLATE.format(aspect=ASPECT), n)


def p(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def route_before(context, rev: str) -> None:
    old = {}
    for name in OWN_MODULES:
        shown = subprocess.run(["git", "show", f"{rev}:static/js/{name}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            old[name] = shown.stdout

    def handle(route) -> None:
        name = urllib.parse.urlparse(route.request.url).path.rsplit("/", 1)[-1]
        if name in old:
            route.fulfill(status=200, body=old[name], content_type="text/javascript")
        else:
            route.continue_()

    context.route("**/static/js/*.js", handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=24, help="measurements per interaction and size")
    parser.add_argument("--before", metavar="REV", help="serve the head view's modules from this git revision")
    parser.add_argument(
        "--kinds",
        default="head,up,down,filter,hover",
        help="the interactions to time, comma-separated (default: all of them)",
    )
    args = parser.parse_args()
    require_checkpoint()
    from playwright.sync_api import sync_playwright
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(CHECKPOINT)
    texts = {n: pair_text(tokenizer, n) for n in SIZES}
    kinds = tuple(args.kinds.split(","))
    assert set(kinds) <= {"head", "up", "down", "filter", "hover"}, kinds
    results: dict[int, dict] = {n: {} for n in SIZES}
    with ServerProcess(server_env()) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        if args.before:
            route_before(context, args.before)
        print(
            f"head view modules: {'git ' + args.before if args.before else 'working tree'}; "
            f"{args.runs} runs per interaction and size, the sizes in turn; layer {LAYER}, all heads, mass 70%"
        )
        pages = {n: context.new_page() for n in SIZES}

        def url(n: int) -> str:
            query = urllib.parse.urlencode({"model": MODEL_ID, "text": texts[n], "aspect": ASPECT, "layer": LAYER})
            return f"{server.url}/inspect?{query}"

        for kind in kinds:
            for n, page in pages.items():  # each interaction from the same start
                page.goto(url(n))
                page.wait_for_function("window.headscope && window.headscope.edgesDrawn > 0", timeout=120_000)
                assert page.evaluate("window.headscope.response.tokens.length") == n
                results[n].setdefault("count", page.text_content("#edge-count"))
            for i in range(args.runs):
                for n, page in pages.items():
                    page.bring_to_front()
                    results[n].setdefault(kind, []).append(page.evaluate(MEASURE, {"kind": kind, "i": i}))
        for n in SIZES:
            row = results[n]
            print(f"{n:4d} tokens: {row['count']}")
            for kind in kinds:
                s = row[kind]
                print(f"      {kind:7s} p50 {statistics.median(s):6.1f} ms  p95 {p(s, 0.95):6.1f} ms")
        page = pages[SIZES[-1]]
        # the model view at the longest input: tab click to every thumbnail painted
        n = SIZES[-1]
        page.bring_to_front()
        page.goto(url(n))
        page.wait_for_function("window.headscope && window.headscope.edgesDrawn > 0", timeout=120_000)
        mv = page.evaluate("""async () => {
          const frame = () => new Promise((r) => requestAnimationFrame(r)), t0 = performance.now();
          performance.clearResourceTimings();
          document.getElementById('tab-model').click();
          while (document.querySelectorAll('#modelview-grid .thumb').length < 72) await frame();
          await frame();
          const thumbs = performance.now() - t0;
          while (!document.querySelector('#heatmap .main-svg')) await frame();
          await frame();
          const fetches = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/inspect'));
          const heatmap = performance.now() - t0;
          const sel = document.getElementById('hm-head'), div = document.getElementById('heatmap');
          const before = div.querySelector('.main-svg'), t1 = performance.now();  // another head: plotly is loaded now
          sel.value = (+sel.value + 1) % 12;
          sel.dispatchEvent(new Event('change'));
          const title = () => div.querySelector('.gtitle');
          while (title() && !title().textContent.includes('Head ' + sel.value)) await frame();
          await frame();
          return { thumbs, heatmap, again: performance.now() - t1, fetch: fetches.reduce((s, e) => s + e.duration, 0) };
        }""")
        thumb = page.eval_on_selector("#modelview-grid .thumb", "c => [c.width, c.height]")
        browser.close()
    print(
        f"model view, {n} tokens: tab click to 72 thumbnails painted {mv['thumbs']:.0f} ms, of which "
        f"{mv['fetch']:.0f} ms fetching all layers; heatmap drawn at {mv['heatmap']:.0f} ms (loading plotly), "
        f"another head's heatmap {mv['again']:.0f} ms; "
        f"thumbnail canvas {thumb[0]}x{thumb[1]} px"
    )
    print("ratio of p50, 256 / 40 tokens (target <= 1.5):")
    for kind in kinds:
        ratio = statistics.median(results[256][kind]) / statistics.median(results[40][kind])
        print(f"      {kind:7s} {ratio:.2f}")
    worst = max(statistics.median(results[256][k]) / statistics.median(results[40][k]) for k in kinds)
    print(f"RESULT headview_interaction_ratio={worst:.2f} (worst interaction; target <= 1.5)")


if __name__ == "__main__":
    main()

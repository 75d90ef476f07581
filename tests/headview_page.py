"""A head view in Chromium without a server or a checkpoint: a fixed synthetic snapshot drawn by the
same modules the finding pages and the offline export use (findings-view.js -> headview.js).

`open_harness(context)` serves static/ and a bare page from a made-up 127.0.0.1 origin through
Playwright routing (ES modules do not load from file://); `mount(page, finding)` draws a finding
into it. `synthetic_snapshot` builds a compact /api/inspect response with heads of a few typical
shapes (to [CLS]/[SEP], previous/next token, broad, diffuse), seeded, so it is the same on every run.
"""

from __future__ import annotations

import base64
import mimetypes
import random
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
ORIGIN = "http://127.0.0.1:9"  # never listened on: every request is answered by the route below

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/css/app.css"><link rel="stylesheet" href="/static/css/findings.css">
</head><body><main><div id="root" class="snapshot-view"></div></main>
<script type="module">
import { mountSnapshotView } from "/static/js/findings-view.js";
import { headViewSVGText } from "/static/js/svg-headview.js";
window.mountFinding = (finding) => {
  const root = document.getElementById("root");
  window.view = mountSnapshotView(root, finding);
  return +root.dataset.edges;
};
window.svgText = () => headViewSVGText(window.view.hv, "fixture");
window.harnessReady = true;
</script></body></html>"""

WORDS = (
    "the pasta was great and fresh but our waiter was rude and we waited forty long minutes for the bill "
    "on a busy friday night , the dessert menu looked nice though the music was far too loud"
).split()
QUESTION = "what do you think of the service of it ?".split()


def synthetic_snapshot(T: int, heads: int = 12, layer: int = 3, seed: int = 0) -> dict[str, Any]:
    """A QA-M-like pair of T tokens ([CLS] review [SEP] question [SEP]) with one layer of attention."""
    rng = random.Random(seed)
    nb = len(QUESTION)
    na = T - nb - 3
    text = [WORDS[i % len(WORDS)] for i in range(na)]
    toks = ["[CLS]"] + text + ["[SEP]"] + QUESTION + ["[SEP]"]
    seg = ["a"] * (na + 2) + ["b"] * (nb + 1)
    seps = [0, na + 1, T - 1]
    data = bytearray()
    for h in range(heads):
        kind = h % 6
        for q in range(T):
            w = [rng.random() ** 6 * 0.05 for _ in range(T)]  # a little noise everywhere
            if kind == 0:  # to [CLS]/[SEP]
                for s in seps:
                    w[s] += rng.random() * 3
            elif kind == 1:  # previous token
                w[max(0, q - 1)] += 4
            elif kind == 2:  # next token
                w[min(T - 1, q + 1)] += 4
            elif kind == 3:  # broad: a window around the query
                for k in range(max(0, q - 6), min(T, q + 7)):
                    w[k] += rng.random()
            elif kind == 4:  # diffuse
                w = [rng.random() for _ in range(T)]
            else:  # to the question (segment B)
                for k in range(na + 2, T):
                    w[k] += rng.random()
            total = sum(w)
            data += bytes(min(255, round(255 * x / total)) for x in w)
    return {
        "model": "synthetic",
        "task": "absa",
        "format": "qa-m",
        "prediction": {"label": "negative", "probabilities": {"negative": 1.0}},
        "segments": {"a": " ".join(text), "b": " ".join(QUESTION)},
        "tokens": [
            {
                "text": t,
                "start": 0,
                "end": 0,
                "segment": s,
                "special": t in ("[CLS]", "[SEP]"),
                "marker": False,
                "word": i,
            }
            for i, (t, s) in enumerate(zip(toks, seg))
        ],
        "spans": {"aspect_query": [na + 2 + QUESTION.index("service")]},
        "truncated": None,
        "num_layers": 6,
        "num_heads": heads,
        "level": "piece",
        "attention": {
            "encoding": "uint8-base64",
            "scale": 255,
            "shape": [6, heads, T, T],
            "layers": {str(layer): base64.b64encode(bytes(data)).decode("ascii")},
        },
    }


def finding(
    snapshot: dict,
    layer: int = 3,
    heads: list[int] | None = None,
    pair: str = "all",
    hide_special: bool = False,
    mass: int = 70,
    token: int | None = None,
    side: str = "left",
) -> dict:
    return {
        "title": "synthetic",
        "snapshot": snapshot,
        "view": {
            "kind": "head",
            "layer": layer,
            "heads": heads if heads is not None else list(range(snapshot["num_heads"])),
            "filters": {"pair": pair, "hide_special": hide_special},
            "threshold": mass / 100,
            "token": token,
            "token_side": side if token is not None else None,
        },
    }


def _route(route) -> None:
    path = route.request.url[len(ORIGIN) :].split("?")[0]
    if path in ("/", "/harness.html"):
        return route.fulfill(status=200, body=PAGE, content_type="text/html")
    file = (ROOT / path.lstrip("/")).resolve()
    if path.startswith("/static/") and file.is_file() and STATIC in file.parents:
        kind = "text/javascript" if file.suffix == ".js" else (mimetypes.guess_type(file.name)[0] or "text/plain")
        return route.fulfill(status=200, body=file.read_bytes(), content_type=kind)
    return route.fulfill(status=404, body="not found")


def open_harness(page) -> None:
    """Point `page` at the harness page (the route answers; nothing listens on ORIGIN)."""
    page.route(ORIGIN + "/**", _route)
    page.goto(ORIGIN + "/harness.html")
    page.wait_for_function("window.harnessReady === true")


def mount(page, item: dict) -> int:
    """Draw `item` (see finding()); returns the edges drawn once every band is painted."""
    edges = page.evaluate("(f) => window.mountFinding(f)", item)
    page.wait_for_function("document.querySelector('#root canvas').dataset.complete === '1'", timeout=60_000)
    return edges

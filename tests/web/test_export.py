"""The self-contained HTML export (app/web/export.py), without a browser: no network references,
the snapshot embedded intact, hostile text escaped, the inline script allowed by its CSP hash,
and the permalink's URL state. tests/test_findings_browser.py opens such files in Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from html import unescape
from html.parser import HTMLParser

import pytest

from app.web.export import (
    ExportError,
    build_export_html,
    bundle_modules,
    export_filename,
    finding_context,
    json_for_script,
)
from app.web.findings_pages import inspect_query, tagged_text

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> [x](javascript:window.__xss=3)'


def snapshot(tokens: list[str], layers=(0, 2), heads: int = 3, num_layers: int = 4, seed: int = 0) -> dict:
    """A compact /api/inspect response with random row-stochastic attention (bytes sum to ~255 per row)."""
    rng = random.Random(seed)
    T = len(tokens)
    encoded = {}
    for layer in layers:
        data = bytearray()
        for _ in range(heads * T):
            weights = [rng.random() ** 3 for _ in range(T)]
            total = sum(weights)
            data += bytes(min(255, round(255 * w / total)) for w in weights)
        encoded[str(layer)] = base64.b64encode(bytes(data)).decode("ascii")
    return {
        "model": "demo-absa-qa-m",
        "task": "absa",
        "format": "qa-m",
        "prediction": {"label": "positive", "probabilities": {"positive": 0.9, "negative": 0.1}},
        "segments": {"a": " ".join(tokens[1:-1]), "b": ""},
        "tokens": [
            {"text": t, "start": 0, "end": 0, "segment": "a", "special": t.startswith("["), "word": i}
            for i, t in enumerate(tokens)
        ],
        "spans": {"aspect_term": [1]},
        "truncated": None,
        "num_layers": num_layers,
        "num_heads": heads,
        "level": "piece",
        "attention": {"encoding": "uint8-base64", "scale": 255, "shape": [num_layers, heads, T, T], "layers": encoded},
    }


def finding(**overrides) -> dict:
    base = {
        "id": "abcDEF123_xy",
        "title": "Head 2.1 follows the aspect",
        "note": "A **note**.",
        "note_html": "<p>A <strong>note</strong>.</p>",
        "author": "local",
        "visibility": "private",
        "public_token": None,
        "model": {"id": "demo-absa-qa-m", "sha256": "9f" * 32, "task": "absa", "format": "qa-m"},
        "checkpoint_status": "available",
        "input": {
            "text": "The pasta was great.",
            "aspect": "food",
            "aspect_span": None,
            "e1_span": None,
            "e2_span": None,
        },
        "view": {
            "kind": "head",
            "layer": 2,
            "heads": [0, 2],
            "filters": {"pair": "all", "hide_special": False},
            "threshold": 0.7,
            "word_mode": False,
            "token": None,
        },
        "labels": ["aspect"],
        "tags": ["pasta"],
        "snapshot": snapshot(["[CLS]", "the", "pasta", "was", "great", ".", "[SEP]"]),
        "created_at": "2026-11-25T18:40:12.123456+00:00",
        "updated_at": "2026-11-25T18:41:00.000001+00:00",
    }
    return {**base, **overrides}


class Refs(HTMLParser):
    """Every src/href/action attribute and every <script> element's attributes and text."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.scripts: list[dict] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data"):
                self.refs.append((tag, name, value or ""))
        if tag == "script":
            self._script = {"attrs": dict(attrs), "text": ""}

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None


def parse(html: str) -> Refs:
    refs = Refs()
    refs.feed(html)
    return refs


def test_export_has_no_network_references_and_embeds_the_snapshot():
    item = finding()
    html = build_export_html([item])
    refs = parse(html)
    assert not [r for r in refs.refs if re.match(r"\s*(https?:)?//", r[2], re.I)], refs.refs
    assert all(r[2].startswith(("#", "data:")) for r in refs.refs), refs.refs
    assert not [s for s in refs.scripts if "src" in s["attrs"]], "every script must be inline"
    assert '<link rel="stylesheet"' not in html and "@import" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    data = next(s for s in refs.scripts if s["attrs"].get("id") == "finding-data")
    embedded = json.loads(data["text"])
    assert embedded[0]["snapshot"] == item["snapshot"]
    assert embedded[0]["view"]["heads"] == [0, 2]
    # the head view's code and styles are inlined
    code = next(s for s in refs.scripts if s["attrs"].get("type") == "module")["text"]
    assert "class HeadView" in code and "function pruneEdges" in code and "mountAll()" in code
    assert ".hv-canvas" in html and ".token" in html


def test_inline_script_is_the_one_the_csp_allows():
    html = build_export_html([finding()])
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    code = next(s for s in parse(html).scripts if s["attrs"].get("type") == "module")["text"]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert "connect-src 'none'" in csp and "default-src 'none'" in csp


def test_bundle_has_no_module_syntax_left():
    code = bundle_modules()
    assert not re.search(r"^\s*(import|export)\b", code, re.M)
    assert "</" not in code  # cannot end the inline <script> early
    for name in (
        "attention.js",
        "headview.js",
        "svg-headview.js",
        "export-image.js",
        "findings-view.js",
        "export-main.js",
    ):
        assert f'__modules["{name}"]' in code
    assert "fetch(" not in code  # an exported file never talks to a server


def test_bundler_refuses_what_it_cannot_inline(tmp_path):
    (tmp_path / "entry.js").write_text('import { a } from "./dep.js";\na();\n')
    (tmp_path / "dep.js").write_text("export default function a() {}\n")
    with pytest.raises(ExportError):
        bundle_modules("entry.js", tmp_path)


def test_hostile_title_and_note_are_inert():
    hostile_html = HOSTILE.replace("[x](javascript:window.__xss=3)", '<a href="javascript:window.__xss=3">x</a>')
    html = build_export_html([finding(title=HOSTILE, note=HOSTILE, note_html=hostile_html, tags=["<b>x</b>"])])
    body = html.split("<main>", 1)[1].split('<script type="application/json"', 1)[0]
    note = body.split('<div class="note">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in note and "onerror" not in note and "javascript:" not in note
    assert "<script" not in body  # the title and tags are escaped text
    assert "&lt;script&gt;" in body and "&lt;b&gt;x&lt;/b&gt;" in body
    data = next(s for s in parse(html).scripts if s["attrs"].get("id") == "finding-data")
    assert "<" not in data["text"] and json.loads(data["text"])[0]["title"] == HOSTILE


def test_report_holds_every_finding():
    items = [
        finding(id=f"id{i}", title=f"Finding {i}", snapshot=snapshot(["[CLS]", "a", "b", "[SEP]"], seed=i))
        for i in range(3)
    ]
    html = build_export_html(items, "My report")
    assert html.count('class="snapshot-view"') == 3
    assert "<title>My report</title>" in html
    assert [
        f["id"]
        for f in json.loads(next(s for s in parse(html).scripts if s["attrs"].get("id") == "finding-data")["text"])
    ] == ["id0", "id1", "id2"]


def test_checkpoint_notice():
    assert finding_context(finding(), 0, live=False)["checkpoint_notice"] == ""
    assert "no longer" in finding_context(finding(checkpoint_status="missing"), 0, live=False)["checkpoint_notice"]
    assert "retrained" in finding_context(finding(checkpoint_status="changed"), 0, live=False)["checkpoint_notice"]


def test_json_for_script_cannot_close_the_element():
    text = str(json_for_script({"x": "</script><script>alert(1)</script>&"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"x": "</script><script>alert(1)</script>&"}


def test_permalink_query_reopens_the_view():
    from urllib.parse import parse_qs

    q = parse_qs(inspect_query(finding()), keep_blank_values=True)
    assert q["model"] == ["demo-absa-qa-m"] and q["text"] == ["The pasta was great."] and q["aspect"] == ["food"]
    assert q["view"] == ["head"] and q["layer"] == ["2"] and q["heads"] == ["0,2"] and q["mass"] == ["70"]
    model_view = finding(view={"kind": "model", "layer": 3, "heads": [[3, 5]], "token": 4, "token_side": "right"})
    q = parse_qs(inspect_query(model_view), keep_blank_values=True)
    assert q["view"] == ["model"] and q["hm_layer"] == ["3"] and q["hm_head"] == ["5"] and q["heads"] == ["5"]
    assert q["token"] == ["4"] and q["side"] == ["right"]
    assert tagged_text("A fire and a cigarette.", [2, 6], [13, 22]) == "A <e1>fire</e1> and a <e2>cigarette</e2>."


def test_export_filename_is_ascii():
    assert export_filename([finding(title="Kopf 3.7 — Aspekt «Essen» 日本")]) == "headscope-Kopf_3.7_Aspekt_Essen.html"
    assert export_filename([finding(title="<script>")]) == "headscope-script.html"
    assert export_filename([finding(), finding()]).startswith("headscope-report-")


def test_login_next_stays_on_this_server():
    from app.web.findings_pages import local_path

    assert local_path("/findings/abc?x=1") == "/findings/abc?x=1"
    for bad in ("//evil.example/x", "https://evil.example", "/\\evil.example", "", None, "javascript:alert(1)"):
        assert local_path(bad) == "/findings"

"""Page weight: bytes transferred to render the head view of a 40-token pair (HTML, scripts,
styles, API responses; as the browser received them) vs the bytes of bertviz's
`head_view(..., html_action="return")` HTML for the same pair and model. Target: <= 1/30.

bertviz's HTML also needs require.js, d3 and jQuery from a CDN, not counted here (in our
favour for bertviz).
"""

from __future__ import annotations

import asyncio
import urllib.parse

import torch
from common import ASPECT, CHECKPOINT, MODEL_ID, PAIR_TOKENS, REVIEW, require_checkpoint, server_env
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from app.core.inputs.encoding import QA_M_TEMPLATE
from app.devserver import ServerProcess

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def bertviz_bytes() -> int:
    from bertviz import head_view

    tokenizer = AutoTokenizer.from_pretrained(CHECKPOINT)
    model = AutoModelForSequenceClassification.from_pretrained(CHECKPOINT, attn_implementation="eager").eval()
    enc = tokenizer(REVIEW, QA_M_TEMPLATE.format(aspect=ASPECT), return_tensors="pt")
    assert enc["input_ids"].shape[1] == PAIR_TOKENS
    with torch.no_grad():
        attention = model(**enc, output_attentions=True).attentions
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    sentence_b_start = enc["token_type_ids"][0].tolist().index(1)
    html = head_view(attention, tokens, sentence_b_start, html_action="return")
    return len(html.data.encode("utf-8"))


async def headscope_bytes(url: str) -> tuple[int, list[tuple[str, int]]]:
    from playwright.async_api import async_playwright

    query = urllib.parse.urlencode({"model": MODEL_ID, "text": REVIEW, "aspect": ASPECT, "view": "head", "layer": 0})
    transfers: list[tuple[str, int]] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()
        finished = []
        page.on("requestfinished", lambda request: finished.append(request))
        await page.goto(f"{url}/inspect?{query}")
        await page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        await page.wait_for_load_state("networkidle")
        for request in finished:
            sizes = await request.sizes()
            transfers.append((request.url.replace(url, ""), sizes["responseBodySize"] + sizes["responseHeadersSize"]))
        tokens = await page.evaluate("window.headscope.response.tokens.length")
        assert tokens == PAIR_TOKENS, tokens
        await browser.close()
    return sum(size for _, size in transfers), transfers


def main() -> None:
    require_checkpoint()
    reference = bertviz_bytes()
    with ServerProcess(server_env()) as server:
        ours, transfers = asyncio.run(headscope_bytes(server.url))
    for path, size in transfers:
        print(f"  {size:>8,} B  {path[:100]}")
    print(f"headscope head view, {PAIR_TOKENS}-token pair: {ours:,} bytes transferred ({len(transfers)} requests)")
    print(f"bertviz head_view HTML, same pair and model: {reference:,} bytes (+ require.js, d3, jQuery from a CDN)")
    print(f"RESULT page_weight_ratio={ours / reference:.4f} = 1/{reference / ours:.1f} (target <= 1/30)")


if __name__ == "__main__":
    main()

"""Live latency: p50 of POST /api/inspect through the running server vs p50 of a bare
`model(**enc, output_attentions=True)` on the same pair, measured in the same run.

The server's inspection cache is off (HEADSCOPE_INSPECT_CACHE_SIZE=0) so every request runs
the model. Target: ratio <= 1.10.
"""

from __future__ import annotations

import time

import httpx
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from common import ASPECT, CHECKPOINT, MODEL_ID, PAIR_TOKENS, REVIEW, p50, require_checkpoint, server_env

from app.core.inputs import QA_M_TEMPLATE
from app.devserver import ServerProcess

WARMUP, RUNS = 20, 200


def bare_forward_p50() -> float:
    tokenizer = AutoTokenizer.from_pretrained(CHECKPOINT)
    model = AutoModelForSequenceClassification.from_pretrained(CHECKPOINT, attn_implementation="eager").eval()
    enc = tokenizer(REVIEW, QA_M_TEMPLATE.format(aspect=ASPECT), return_tensors="pt")
    assert enc["input_ids"].shape[1] == PAIR_TOKENS, enc["input_ids"].shape
    samples = []
    with torch.inference_mode():
        for i in range(WARMUP + RUNS):
            start = time.perf_counter()
            output = model(**enc, output_attentions=True)
            elapsed = time.perf_counter() - start
            assert output.attentions
            if i >= WARMUP:
                samples.append(elapsed)
    return p50(samples)


def server_p50(url: str, payload: dict) -> float:
    samples = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(WARMUP + RUNS):
            start = time.perf_counter()
            response = client.post("/api/inspect", json=payload)
            elapsed = time.perf_counter() - start
            response.raise_for_status()
            if i >= WARMUP:
                samples.append(elapsed)
    return p50(samples)


def main() -> None:
    require_checkpoint()
    print(f"torch threads: {torch.get_num_threads()}, pair: {PAIR_TOKENS} tokens, {RUNS} runs after {WARMUP} warm-up")
    bare = bare_forward_p50()
    pair = {"model": MODEL_ID, "text": REVIEW, "aspect": ASPECT}
    with ServerProcess({**server_env(), "HEADSCOPE_INSPECT_CACHE_SIZE": "0"}) as server:
        page = server_p50(server.url, {**pair, "layers": [0]})  # what the head view asks for
        every = server_p50(server.url, pair)  # default: all layers, uint8
        full = server_p50(server.url, {**pair, "attention": "full"})
    print(f"bare model(**enc, output_attentions=True) p50: {bare * 1000:.2f} ms")
    for name, value in (("head view request (1 layer)", page), ("default request (all layers, uint8)", every),
                        ("full float lists", full)):
        print(f"POST /api/inspect, {name} p50: {value * 1000:.2f} ms  ratio {value / bare:.3f}")
    print(f"RESULT live_latency_ratio={every / bare:.3f} (default request; target <= 1.10)")


if __name__ == "__main__":
    main()

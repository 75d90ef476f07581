"""Live latency: p50 of POST /api/inspect through the running server vs p50 of a bare
`model(**enc, output_attentions=True)` on the same pair, measured in the same run.

The server's inspection cache is off (HEADSCOPE_INSPECT_CACHE_SIZE=0) so every request runs
the model. Blocks of bare forwards and of requests alternate, so drift in machine load hits
both sides alike. The client is the standard library's http.client on one keep-alive
connection (a browser's cost is closer to that than to a heavier Python client).
Target: ratio <= 1.10.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlparse

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from common import ASPECT, CHECKPOINT, MODEL_ID, PAIR_TOKENS, REVIEW, p50, require_checkpoint, server_env

from app.core.inputs import QA_M_TEMPLATE
from app.devserver import ServerProcess

WARMUP, RUNS, ROUNDS = 20, 100, 3


def bare_forward_block(model, enc) -> list[float]:
    samples = []
    with torch.inference_mode():
        for i in range(WARMUP + RUNS):
            start = time.perf_counter()
            output = model(**enc, output_attentions=True)
            elapsed = time.perf_counter() - start
            assert output.attentions
            if i >= WARMUP:
                samples.append(elapsed)
    return samples


def request_block(connection: http.client.HTTPConnection, payload: dict) -> tuple[list[float], list[float]]:
    body = json.dumps(payload)
    headers = {"content-type": "application/json", "accept-encoding": "gzip"}
    total, server = [], []
    for i in range(WARMUP + RUNS):
        start = time.perf_counter()
        connection.request("POST", "/api/inspect", body, headers)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - start
        assert response.status == 200, response.status
        if i >= WARMUP:
            total.append(elapsed)
            server.append(float(response.headers["server-timing"].split("dur=")[1]) / 1000)
    return total, server


def main() -> None:
    require_checkpoint()
    tokenizer = AutoTokenizer.from_pretrained(CHECKPOINT)
    model = AutoModelForSequenceClassification.from_pretrained(CHECKPOINT, attn_implementation="eager").eval()
    enc = tokenizer(REVIEW, QA_M_TEMPLATE.format(aspect=ASPECT), return_tensors="pt")
    assert enc["input_ids"].shape[1] == PAIR_TOKENS, enc["input_ids"].shape
    print(f"torch threads: {torch.get_num_threads()}, pair: {PAIR_TOKENS} tokens, "
          f"{ROUNDS} rounds of {RUNS} runs (after {WARMUP} warm-up) per side")
    pair = {"model": MODEL_ID, "text": REVIEW, "aspect": ASPECT}
    requests = {"head view request (1 layer)": {**pair, "layers": [0]},
                "default request (all layers, uint8)": pair,
                "full float lists": {**pair, "attention": "full"}}
    bare: list[float] = []
    measured = {name: ([], []) for name in requests}
    with ServerProcess({**server_env(), "HEADSCOPE_INSPECT_CACHE_SIZE": "0"}) as server:
        url = urlparse(server.url)
        connection = http.client.HTTPConnection(url.hostname, url.port)
        for _ in range(ROUNDS):
            bare += bare_forward_block(model, enc)
            for name, payload in requests.items():
                total, in_server = request_block(connection, payload)
                measured[name][0].extend(total)
                measured[name][1].extend(in_server)
        connection.close()
    base = p50(bare)
    print(f"bare model(**enc, output_attentions=True) p50: {base * 1000:.2f} ms")
    for name, (total, in_server) in measured.items():
        print(f"POST /api/inspect, {name}: p50 {p50(total) * 1000:.2f} ms (in server {p50(in_server) * 1000:.2f} ms)"
              f"  ratio {p50(total) / base:.3f}")
    default_total = p50(measured["default request (all layers, uint8)"][0])
    print(f"RESULT live_latency_ratio={default_total / base:.3f} (default request; target <= 1.10)")


if __name__ == "__main__":
    main()

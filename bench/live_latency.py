"""Live latency: p50 of POST /api/inspect through the running server vs p50 of a bare
`model(**enc, output_attentions=True)` on the same pair, measured in the same run.

The server's inspection cache is off (HEADSCOPE_INSPECT_CACHE_SIZE=0) so every request runs
the model. Blocks of bare forwards and of requests alternate, so drift in machine load hits
both sides alike. The client is the standard library's http.client on one keep-alive
connection (a browser's cost is closer to that than to a heavier Python client).
Target: ratio <= 1.10.

--threads N runs both sides with N torch threads (the server through HEADSCOPE_TORCH_THREADS); on a
machine whose cores are busy with other work, 1 thread is both faster and steadier.
--rounds / --runs shorten a run. `uptime`'s load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import time
from urllib.parse import urlparse

import torch
from common import (
    ASPECT,
    CHECKPOINT,
    MODEL_ID,
    PAIR_TOKENS,
    REVIEW,
    p50,
    require_checkpoint,
    server_env,
    wait_for_fast_path,
)
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from app.core.inputs.encoding import QA_M_TEMPLATE
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


def server_timing(header: str) -> dict[str, float]:
    """`inspect;dur=12.3, parse;dur=0.1, ...` -> {name: seconds}."""
    parts = (entry.strip().split(";dur=") for entry in header.split(","))
    return {name: float(ms) / 1000 for name, ms in parts}


def request_block(
    connection: http.client.HTTPConnection, payload: dict, gzip: bool = True
) -> tuple[list[float], dict[str, list[float]]]:
    body = json.dumps(payload)
    headers = {"content-type": "application/json", "accept-encoding": "gzip" if gzip else "identity"}
    total, parts = [], {}
    for i in range(WARMUP + RUNS):
        start = time.perf_counter()
        connection.request("POST", "/api/inspect", body, headers)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - start
        assert response.status == 200, response.status
        if i >= WARMUP:
            total.append(elapsed)
            for name, seconds in server_timing(response.headers["server-timing"]).items():
                parts.setdefault(name, []).append(seconds)
            parts.setdefault("outside the route (HTTP, gzip, client)", []).append(elapsed - parts["inspect"][-1])
    return total, parts


def main() -> None:
    global RUNS, ROUNDS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch threads on both sides (default: torch's)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--runs", type=int, default=RUNS, help="timed runs per block")
    parser.add_argument(
        "--plain", action="store_true", help="the server without its fast path (HEADSCOPE_FAST_PATH=off)"
    )
    args = parser.parse_args()
    RUNS, ROUNDS = args.runs, args.rounds
    env = {**server_env(), "HEADSCOPE_INSPECT_CACHE_SIZE": "0", "HEADSCOPE_FAST_PATH": "off" if args.plain else "onnx"}
    if args.threads:
        torch.set_num_threads(args.threads)
        env["HEADSCOPE_TORCH_THREADS"] = str(args.threads)
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    require_checkpoint()
    tokenizer = AutoTokenizer.from_pretrained(CHECKPOINT)
    model = AutoModelForSequenceClassification.from_pretrained(CHECKPOINT, attn_implementation="eager").eval()
    enc = tokenizer(REVIEW, QA_M_TEMPLATE.format(aspect=ASPECT), return_tensors="pt")
    assert enc["input_ids"].shape[1] == PAIR_TOKENS, enc["input_ids"].shape
    print(
        f"torch threads: {torch.get_num_threads()}, pair: {PAIR_TOKENS} tokens, "
        f"{ROUNDS} rounds of {RUNS} runs (after {WARMUP} warm-up) per side"
    )
    pair = {"model": MODEL_ID, "text": REVIEW, "aspect": ASPECT}
    requests = {
        "head view request (1 layer)": ({**pair, "layers": [0]}, True),
        "default request (all layers, uint8)": (pair, True),
        "default request without gzip": (pair, False),
        "full float lists": ({**pair, "attention": "full"}, True),
    }
    bare: list[float] = []
    measured: dict[str, tuple[list[float], dict[str, list[float]]]] = {name: ([], {}) for name in requests}
    with ServerProcess(env) as server:
        print(f"server's inference path: {wait_for_fast_path(server.url)} (HEADSCOPE_FAST_PATH=off: the plain path)")
        url = urlparse(server.url)
        for _ in range(ROUNDS):
            bare += bare_forward_block(model, enc)
            # A connection per block: the server closes one left idle (uvicorn's keep-alive is 5 s) while
            # a slow machine runs the bare block; the warm-up requests open it.
            connection = http.client.HTTPConnection(url.hostname, url.port)
            for name, (payload, gzip) in requests.items():
                total, parts = request_block(connection, payload, gzip)
                measured[name][0].extend(total)
                for part, seconds in parts.items():
                    measured[name][1].setdefault(part, []).extend(seconds)
            connection.close()
    base = p50(bare)
    print(f"bare model(**enc, output_attentions=True) p50: {base * 1000:.2f} ms")
    for name, (total, parts) in measured.items():
        print(
            f"POST /api/inspect, {name}: p50 {p50(total) * 1000:.2f} ms "
            f"(in server {p50(parts['inspect']) * 1000:.2f} ms)"
            f"  ratio {p50(total) / base:.3f}"
        )
    print(
        "where the default request's time goes (p50 of each part, ms; model = the wait for the model thread + forward):"
    )
    parts = measured["default request (all layers, uint8)"][1]
    print("  " + ", ".join(f"{name} {p50(seconds) * 1000:.2f}" for name, seconds in parts.items() if name != "inspect"))
    plain = measured["default request without gzip"][0]
    gzipped = measured["default request (all layers, uint8)"][0]
    print(f"  gzip (p50 with minus without): {(p50(gzipped) - p50(plain)) * 1000:.2f}")
    default_total = p50(measured["default request (all layers, uint8)"][0])
    print(f"RESULT live_latency_ratio={default_total / base:.3f} (default request; target <= 1.10)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

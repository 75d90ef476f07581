"""Load: 32 concurrent clients against the real server (`headscope serve`, inspection cache off), each
sending POST /api/inspect with inputs no other request repeats, for 60 s; then the same with bad
requests mixed in (oversized bodies, ~10k-token texts, malformed JSON) by extra clients.

Printed per phase: requests, errors (a good request answered with anything but 200), p50 / p99
latency, served pairs/s, and the ratio of pairs/s to a bare batched forward
(`model(**batch, output_attentions=True)`, batch 32, the same pairs, padded like the server pads)
measured in this run before and after the phases. Bad requests are counted by status (all must be
4xx). Targets: 0 errors, pairs/s >= 0.70x the bare batched forward, good requests no slower with the
bad ones mixed in.

The clients are asyncio + httpx in this process (keep-alive connections, gzip asked for as a browser
does); they share the machine's cores with the server, so on a small machine the ratio understates
the server. `--threads N` gives both the server's model thread and the bare forward N torch threads.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import time

import httpx
import torch
from common import MODEL_ID, MODELS_DIR, p50, require_checkpoint, server_env, wait_for_fast_path

from app.config import Settings
from app.core.inputs.batching import pad_batch
from app.core.model.checkpoint import pick_device
from app.core.model.registry import ModelRegistry
from app.core.passes.inspection import InspectionInput, prepare_inspection
from app.devserver import ServerProcess

DISHES = [
    "pasta",
    "soup",
    "steak",
    "salad",
    "pizza",
    "risotto",
    "curry",
    "burger",
    "sushi",
    "tacos",
    "dumplings",
    "ramen",
    "lasagna",
    "omelette",
    "paella",
    "gnocchi",
]
GOOD = ["great", "fresh", "bland", "cold", "perfect", "salty", "delicious", "overcooked", "lovely", "greasy"]
STAFF = ["waiter", "waitress", "host", "bartender", "manager", "chef", "staff", "server"]
MANNER = ["rude", "friendly", "slow", "attentive", "helpful", "careless", "charming", "distracted"]
PLACES = [
    "on a busy Friday night",
    "at lunch",
    "before the show",
    "after a long day",
    "on our anniversary",
    "with the kids",
    "in the garden",
    "by the window",
]
ASPECTS = ["food", "service", "ambience", "price"]


def distinct_inputs(count: int, seed: int = 0) -> list[dict]:
    """`count` different review-aspect pairs of similar length (~40 tokens), in a shuffled order."""
    combos = list(itertools.product(DISHES, GOOD, STAFF, MANNER, PLACES))
    random.Random(seed).shuffle(combos)
    pairs = []
    for i, (dish, good, staff, manner, place) in enumerate(combos[:count]):
        text = (
            f"The {dish} was {good} and the bread was warm, but our {staff} was {manner} and we waited "
            f"{10 + i % 50} minutes for the bill {place}."
        )
        pairs.append({"model": MODEL_ID, "text": text, "aspect": ASPECTS[i % len(ASPECTS)]})
    return pairs


def bad_requests(limit_bytes: int) -> list[tuple[str, bytes, dict]]:
    """(kind, body, headers): an oversized body, a ~10k-token text, malformed JSON."""
    json_headers = {"content-type": "application/json"}
    oversized = json.dumps({"model": MODEL_ID, "aspect": "food", "text": "x" * (limit_bytes + 1024)}).encode()
    long_text = "The soup was fine and the staff were kind to us. " * 1000  # ~11k tokens, ~49k characters
    return [
        ("oversized body", oversized, json_headers),
        ("10k-token text", json.dumps({"model": MODEL_ID, "aspect": "food", "text": long_text}).encode(), json_headers),
        ("malformed JSON", b'{"model": "' + MODEL_ID.encode() + b'", "text": "The soup', json_headers),
    ]


def bare_batched(loaded, pairs: list[dict], batch: int = 32, rounds: int = 3) -> float:
    """Pairs/s of model(**padded batch, output_attentions=True) over the first `rounds` batches of `pairs`."""
    prepared = [prepare_inspection(loaded, InspectionInput(p["text"], p["aspect"])).encodeds[0] for p in pairs]
    batches = [
        pad_batch(prepared[i : i + batch], loaded.tokenizer.pad_token_id, loaded.device)
        for i in range(0, batch * rounds, batch)
    ]
    with torch.inference_mode():
        loaded.model(**batches[0], output_attentions=True)  # warm-up
        started = time.perf_counter()
        for inputs in batches:
            loaded.model(**inputs, output_attentions=True)
        return batch * len(batches) / (time.perf_counter() - started)


async def phase(
    url: str,
    pairs: list[dict],
    clients: int,
    bad_clients: int,
    seconds: float,
    bad: list[tuple[str, bytes, dict]],
    gzip: bool,
    bad_pause: float = 0.5,
) -> dict:
    next_pair = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    bad_status: dict[str, dict[int, int]] = {kind: {} for kind, _, _ in bad}
    deadline = time.perf_counter() + seconds
    headers = {"accept-encoding": "gzip" if gzip else "identity"}
    limits = httpx.Limits(max_connections=clients + bad_clients, max_keepalive_connections=clients + bad_clients)

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, headers=headers) as client:

        async def good_client() -> None:
            while time.perf_counter() < deadline:
                payload = pairs[next(next_pair) % len(pairs)]
                started = time.perf_counter()
                try:
                    response = await client.post("/api/inspect", json=payload)
                    await response.aread()
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = f"{type(exc).__name__}"
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors.append(str(status))

        async def bad_client(offset: int) -> None:
            for i in itertools.count(offset):
                if time.perf_counter() >= deadline:
                    return
                kind, body, extra = bad[i % len(bad)]
                try:
                    response = await client.post("/api/inspect", content=body, headers=extra)
                    status = response.status_code
                except httpx.HTTPError:
                    status = -1
                bad_status[kind][status] = bad_status[kind].get(status, 0) + 1
                await asyncio.sleep(bad_pause)

        started = time.perf_counter()
        await asyncio.gather(*[good_client() for _ in range(clients)], *[bad_client(i) for i in range(bad_clients)])
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies) + len(errors),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "p50_ms": p50(latencies) * 1000 if latencies else None,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else None,
        "pairs_per_s": len(latencies) / elapsed,
        "bad": bad_status,
    }


def report(name: str, found: dict, bare: float) -> None:
    print(
        f"{name}: {found['requests']} requests, {found['errors']} errors {found['error_kinds'] or ''}, "
        f"p50 {found['p50_ms']:.1f} ms, p99 {found['p99_ms']:.1f} ms, {found['pairs_per_s']:.1f} pairs/s, "
        f"ratio to the bare batched forward measured around it ({bare:.1f} pairs/s) {found['pairs_per_s'] / bare:.2f}"
    )
    print(f"  the server's model thread so far: {found['model_thread']}")
    for kind, statuses in found["bad"].items():
        if statuses:
            ok = all(400 <= status < 500 for status in statuses)
            print(
                f"  bad requests, {kind}: {sum(statuses.values())} sent, statuses {statuses} "
                f"({'all 4xx' if ok else 'NOT all 4xx'})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--bad-clients", type=int, default=4, help="extra clients sending bad requests in phase 2")
    parser.add_argument("--bad-pause", type=float, default=0.5, help="seconds a bad client waits between requests")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads of the server's model thread and the bare forward"
    )
    parser.add_argument("--no-gzip", action="store_true", help="clients do not ask for gzip")
    parser.add_argument(
        "--window-ms", type=float, default=None, help="HEADSCOPE_INSPECT_BATCH_WINDOW_MS for the server"
    )
    parser.add_argument(
        "--plain", action="store_true", help="the server without its fast path (HEADSCOPE_FAST_PATH=off)"
    )
    args = parser.parse_args()
    require_checkpoint()
    env = {**server_env(), "HEADSCOPE_INSPECT_CACHE_SIZE": "0", "HEADSCOPE_FAST_PATH": "off" if args.plain else "onnx"}
    if args.threads:
        torch.set_num_threads(args.threads)
        env["HEADSCOPE_TORCH_THREADS"] = str(args.threads)
    if args.window_ms is not None:
        env["HEADSCOPE_INSPECT_BATCH_WINDOW_MS"] = str(args.window_ms)
    registry = ModelRegistry(MODELS_DIR, pick_device("cpu"))
    registry.refresh()
    loaded = registry.get(MODEL_ID)
    pairs = distinct_inputs(100_000)
    print(
        f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores; "
        f"{args.clients} clients, {args.seconds:.0f} s per phase, {len(pairs)} distinct pairs, torch threads "
        f"{torch.get_num_threads()}"
    )
    bare = [bare_batched(loaded, pairs)]
    with ServerProcess(env) as server:
        print(f"server's inference path: {wait_for_fast_path(server.url)}")
        bad = bad_requests(Settings().max_inspect_body_bytes)
        httpx.post(server.url + "/api/inspect", json=pairs[-1], timeout=120)  # warm-up
        clean = asyncio.run(phase(server.url, pairs, args.clients, 0, args.seconds, bad, not args.no_gzip))
        clean["model_thread"] = httpx.get(server.url + "/api/health").json()["model_thread"]
        bare.append(bare_batched(loaded, pairs))
        mixed = asyncio.run(
            phase(
                server.url,
                pairs[len(pairs) // 2 :],
                args.clients,
                args.bad_clients,
                args.seconds,
                bad,
                not args.no_gzip,
                args.bad_pause,
            )
        )
        mixed["model_thread"] = httpx.get(server.url + "/api/health").json()["model_thread"]
    bare.append(bare_batched(loaded, pairs))
    # The machine's other load drifts: each phase is compared with the bare forward measured just before and after it.
    around = [(bare[0] + bare[1]) / 2, (bare[1] + bare[2]) / 2]
    print(
        f"bare batched forward (batch 32, same pairs): {', '.join(f'{b:.1f}' for b in bare)} pairs/s "
        "(before, between and after the phases)"
    )
    report("32 clients", clean, around[0])
    report(f"32 clients + {args.bad_clients} sending bad requests", mixed, around[1])
    clean_ratio, mixed_ratio = clean["pairs_per_s"] / around[0], mixed["pairs_per_s"] / around[1]
    print(
        f"RESULT load_ratio={clean_ratio:.2f} (target >= 0.70) errors={clean['errors'] + mixed['errors']} "
        f"with_bad_requests: ratio={mixed_ratio:.2f} p50_over_without={mixed['p50_ms'] / clean['p50_ms']:.2f}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

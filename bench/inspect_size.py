"""Big inputs over the API: POST /api/inspect on a 12 x 12 checkpoint with a 475-token pair, in each attention form.

The checkpoint is the demo ABSA checkpoint (MiniLM, 6 x 12, trained) with its six layers stacked twice: 12
layers x 12 heads whose attention looks like a trained model's (peaked, mostly near zero at 475 tokens),
written to a temporary models folder and served by the real app through FastAPI's TestClient (no network:
what is measured is the server's work and the bytes it would send). The review is the bench pair repeated
until the QA-M pair is exactly 475 tokens.

Per form: bytes on the wire (what the client downloads: gzipped only where the client accepts gzip, as the
server's GZip middleware answers it), the request's median time over --rounds, and the server's own parts
from its Server-Timing header (all of it, then model: the wait for the model thread and the forward pass;
payload: shaping the answer, quantising included; encode: JSON or archive bytes); the rest of a request's time
is the test client's transport. The baseline is the forward pass alone
(`forward_with_attention` on the same input, in the same process, between the requests); "beyond the forward"
is the request's time minus its median. Each request bypasses the inspection cache (a fresh text each time).

The npz archive's parts are then timed alone on that forward's attention: quantising every layer in one
tensor op (and, for comparison, layer by layer), deflating the layers at level 1 one after the other and
in a two-thread pool (zlib releases the GIL), and the whole archive as the route writes it.

Targets: the default answer <= 10 MB; the npz answer (every layer) <= 10 MB and <= 1 s beyond the forward.

    .venv/bin/python bench/inspect_size.py [--rounds 3] [--slow-forms]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common
import torch

LENGTH = 475
IDENTITY, GZIP = {"accept-encoding": "identity"}, {"accept-encoding": "gzip"}
FORMS = {
    "compact JSON, the default": ({}, IDENTITY),
    'compact JSON, "layers": "all"': ({"layers": "all"}, IDENTITY),
    'compact JSON, "layers": "all", gzip': ({"layers": "all"}, GZIP),
    '"attention": "npz" (uint8)': ({"attention": "npz"}, IDENTITY),
    '"attention": "npz" (uint8), client accepts gzip': ({"attention": "npz"}, GZIP),
}
SLOW_FORMS = {
    '"attention": "npz", "attention_dtype": "float16"': ({"attention": "npz", "attention_dtype": "float16"}, IDENTITY)
}


def stacked_checkpoint(folder: Path) -> str:
    """The demo checkpoint with its layers stacked twice (12 x 12) under folder; returns its id."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    common.require_checkpoint()
    model = AutoModelForSequenceClassification.from_pretrained(common.CHECKPOINT)
    layers = model.bert.encoder.layer
    model.bert.encoder.layer = torch.nn.ModuleList([*layers, *[type(layer)(model.config) for layer in layers]])
    for copy, layer in zip(model.bert.encoder.layer[6:], layers):
        copy.load_state_dict(layer.state_dict())
    model.config.num_hidden_layers = 12
    model_id = "demo-absa-qa-m-12x12"
    target = folder / model_id
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(common.CHECKPOINT).save_pretrained(target)
    meta = json.loads((common.CHECKPOINT / "headscope.json").read_text(encoding="utf-8"))
    meta.update(id=model_id, description="bench: the demo checkpoint's layers stacked twice")
    (target / "headscope.json").write_text(json.dumps(meta), encoding="utf-8")
    return model_id


def review_of(tokenizer, aspect: str, variant: int) -> str:
    """The bench review repeated and cut so that the QA-M pair is exactly LENGTH tokens; `variant` makes it unique."""
    from app.core.inputs.encoding import auxiliary_sentence

    words = f"visit {variant} . {common.REVIEW}".split() * 40
    auxiliary = auxiliary_sentence("qa-m", aspect)
    low, high = 1, len(words)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if len(tokenizer(" ".join(words[:middle]), auxiliary)["input_ids"]) <= LENGTH:
            low = middle
        else:
            high = middle - 1
    text = " ".join(words[:low])
    assert len(tokenizer(text, auxiliary)["input_ids"]) == LENGTH, "no prefix gives exactly LENGTH tokens"
    return text


def server_parts(header: str) -> dict[str, float]:
    """Server-Timing "name;dur=ms, ..." as seconds by name."""
    parts = (item.strip().split(";dur=") for item in header.split(","))
    return {name: float(ms) / 1000 for name, ms in parts}


def timed(work: Callable[[], object], rounds: int) -> float:
    """The median seconds of `work` over rounds."""
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def npz_parts(attention: torch.Tensor, rounds: int) -> None:
    """The npz archive's parts alone, on one forward's attention [L, H, T, T]."""
    from app.core.model.attention import quantize_uint8
    from app.web.attention_npz import npz_attention, npz_bytes

    layers = range(len(attention))
    quantised = quantize_uint8(attention).numpy()
    quantise = timed(lambda: quantize_uint8(attention), rounds)
    one_by_one = timed(lambda: [quantize_uint8(attention[layer]) for layer in layers], rounds)
    serial = timed(lambda: [zlib.compress(quantised[layer], 1) for layer in layers], rounds)
    with ThreadPoolExecutor(2) as pool:
        pooled = timed(lambda: list(pool.map(lambda layer: zlib.compress(quantised[layer], 1), layers)), rounds)
    archive = timed(lambda: npz_bytes({"attention": npz_attention(attention, layers, "uint8")}), rounds)
    print(
        f"npz parts alone ({attention.numel() / 1e6:.1f} M weights, median of {rounds}): quantise in one op "
        f"{quantise:.3f}s, layer by layer {one_by_one:.3f}s; deflate level 1 serial {serial:.3f}s, "
        f"2-thread pool {pooled:.3f}s "
        f"(ratio {serial / pooled:.2f}); the whole archive (npz_attention + npz_bytes) {archive:.3f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slow-forms", action="store_true", help="also npz float16 (about 10 s a request)")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.core.inputs.encoding import auxiliary_sentence
    from app.core.model.attention import forward_with_attention
    from app.web.main import create_app

    forms = {**FORMS, **(SLOW_FORMS if args.slow_forms else {})}
    folder = Path(tempfile.mkdtemp(prefix="inspect-size-"))
    try:
        model_id = stacked_checkpoint(folder / "models")
        settings = Settings(models_dir=folder / "models", data_dir=folder / "data", device="cpu")
        with TestClient(create_app(settings)) as client:
            loaded = client.app.state.registry.get(model_id)
            print(
                f"CPU, {torch.get_num_threads()} torch threads; {model_id}: {loaded.info.num_layers} x "
                f"{loaded.info.num_heads}; pair of {LENGTH} tokens; {args.rounds} rounds; "
                f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            variant = 0

            def request(extra: dict, headers: dict) -> tuple[float, int, dict[str, float]]:
                nonlocal variant
                variant += 1
                body = {"model": model_id, "text": review_of(loaded.tokenizer, "service", variant), "aspect": "service"}
                started = time.perf_counter()
                response = client.post("/api/inspect", json={**body, **extra}, headers=headers)
                response.read()
                seconds = time.perf_counter() - started
                assert response.status_code == 200, response.text
                return seconds, response.num_bytes_downloaded, server_parts(response.headers["server-timing"])

            inputs = loaded.tokenizer(
                review_of(loaded.tokenizer, "service", 0), auxiliary_sentence("qa-m", "service"), return_tensors="pt"
            )
            attention = torch.empty(0)

            def forward() -> float:
                nonlocal attention
                started = time.perf_counter()
                with torch.inference_mode():
                    attention = forward_with_attention(loaded.model, dict(inputs))[1][0]
                return time.perf_counter() - started

            request({}, IDENTITY)  # warm-up
            forwards: list[float] = []
            results: dict[str, list[tuple[float, int, dict[str, float]]]] = {name: [] for name in forms}
            for _ in range(args.rounds):
                for name, (extra, headers) in forms.items():
                    forwards.append(forward())
                    results[name].append(request(extra, headers))
            base = statistics.median(forwards)
            print(f"forward pass alone: {base:.3f}s (median of {len(forwards)})")
            for name, runs in results.items():
                seconds = statistics.median(s for s, _, _ in runs)
                parts = {part: statistics.median(r[2].get(part, 0.0) for r in runs) for part in runs[0][2]}
                print(
                    f"{name}: {runs[-1][1] / 1e6:.2f} MB on the wire, {seconds:.3f}s, {seconds - base:+.3f}s beyond "
                    f"the forward; server {parts.get('inspect', 0):.3f}s: model {parts.get('model', 0):.3f}s, payload "
                    f"{parts.get('payload', 0):.3f}s, encode {parts.get('encode', 0):.3f}s"
                )
            npz_parts(attention, args.rounds)
            default = results["compact JSON, the default"]
            npz = results['"attention": "npz" (uint8)']
            print(
                f"RESULT default_mb={default[-1][1] / 1e6:.2f} npz_uint8_mb={npz[-1][1] / 1e6:.2f} "
                f"npz_beyond_forward_s={statistics.median(s for s, _, _ in npz) - base:.2f} "
                "(targets: <= 10 MB, <= 10 MB, <= 1 s)"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

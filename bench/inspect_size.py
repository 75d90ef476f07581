"""Big inputs over the API: POST /api/inspect on a 12 x 12 checkpoint with a 475-token pair, in each attention form.

The checkpoint is the demo ABSA checkpoint (MiniLM, 6 x 12, trained) with its six layers stacked twice: 12
layers x 12 heads whose attention looks like a trained model's (peaked, mostly near zero at 475 tokens),
written to a temporary models folder and served by the real app through FastAPI's TestClient (no network:
what is measured is the server's work and the bytes it would send). The review is the bench pair repeated
until the QA-M pair is exactly 475 tokens.

Per form (compact JSON, the default; compact JSON gzipped, as a client sending Accept-Encoding: gzip gets
it; npz uint8; npz float16): bytes on the wire and the request's median time over --rounds; the forward
pass alone (`forward_with_attention` on the same input, in the same process, between the requests) is the
baseline, and "beyond the forward" is request time minus its median. Targets: <= 10 MB and <= 1 s beyond
the forward for the npz default (uint8). Each request bypasses the inspection cache (a fresh text each time).

    .venv/bin/python bench/inspect_size.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import common
import torch

LENGTH = 475
FORMS = {
    "compact JSON (default)": ({}, False),
    "compact JSON, gzip": ({}, True),
    "npz uint8": ({"attention": "npz"}, False),
    "npz float16": ({"attention": "npz", "attention_dtype": "float16"}, False),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.core.model.attention import forward_with_attention
    from app.web.main import create_app

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

            def request(extra: dict, gzipped: bool) -> tuple[float, int]:
                nonlocal variant
                variant += 1
                body = {"model": model_id, "text": review_of(loaded.tokenizer, "service", variant), "aspect": "service"}
                started = time.perf_counter()
                response = client.post("/api/inspect", json={**body, **extra})
                assert response.status_code == 200, response.text
                payload = response.content
                if gzipped:  # what GZipMiddleware would do for a client that accepts gzip (level 9's default)
                    payload = gzip.compress(payload)
                return time.perf_counter() - started, len(payload)

            def forward() -> float:
                text = review_of(loaded.tokenizer, "service", 0)
                inputs = loaded.tokenizer(text, "what do you think of the service of it ?", return_tensors="pt")
                started = time.perf_counter()
                with torch.inference_mode():
                    forward_with_attention(loaded.model, dict(inputs))
                return time.perf_counter() - started

            request({}, False)  # warm-up
            forwards: list[float] = []
            results: dict[str, list[tuple[float, int]]] = {name: [] for name in FORMS}
            for _ in range(args.rounds):
                for name, (extra, gzipped) in FORMS.items():
                    forwards.append(forward())
                    results[name].append(request(extra, gzipped))
            base = statistics.median(forwards)
            print(f"forward pass alone: {base:.3f}s (median of {len(forwards)})")
            for name, runs in results.items():
                seconds = statistics.median(s for s, _ in runs)
                size = runs[-1][1]
                print(f"{name}: {size / 1e6:.1f} MB, {seconds:.3f}s, {seconds - base:+.3f}s beyond the forward")
            seconds = statistics.median(s for s, _ in results["npz uint8"])
            size = results["npz uint8"][-1][1]
            print(
                f"RESULT npz_uint8_mb={size / 1e6:.1f} beyond_forward_s={seconds - base:.2f} "
                "(targets: <= 10 MB, <= 1 s)"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

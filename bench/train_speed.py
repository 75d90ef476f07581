"""Training speed: headscope's trainer (train_classifier) vs a plain PyTorch loop with dynamic
padding, on the same model (the embedded MiniLM), data (demo ABSA QA-M pairs) and batch size,
in the same run. Each measurement runs in its own process so each gets its own peak memory;
the two are alternated ROUNDS times and the medians compared. Target: ratio >= 1.0.

Examples/s counts only the training loop (forward, backward, optimizer step): not model
loading, tokenizing or, for headscope, writing the checkpoint. headscope's loop also does
length bucketing, gradient clipping and a linear warm-up schedule (and autocast on CUDA);
the plain loop pads each random batch to its longest and does nothing else.

    .venv/bin/python bench/train_speed.py [--examples 300] [--epochs 1] [--batch-size 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository root on sys.path)

LEARNING_RATE = 5e-5
SEED = 13


def demo_examples(tokenizer, n: int):
    from app.core.training.demo_checkpoints import absa_category_examples

    examples = absa_category_examples("qa-m", 128, with_terms=True)(tokenizer)
    return random.Random(SEED).sample(examples, min(n, len(examples)))


def peak_memory_mb(device) -> dict[str, float]:
    import torch

    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = {"peak_rss_mb": round(rss_kb / 1024, 1)}
    if device.type == "cuda":
        out["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


def run_headscope(n: int, epochs: int, batch_size: int) -> dict:
    from app.core.data.demo import ABSA_LABELS
    from app.core.model.checkpoint import pick_device
    from app.core.model.embedded import embedded_base_model
    from app.core.training.loop import TrainingArgs, TrainOptions, train_classifier

    device = pick_device()
    args = TrainingArgs(epochs=epochs, learning_rate=LEARNING_RATE, batch_size=batch_size, seed=SEED, dev_fraction=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        result = train_classifier(
            embedded_base_model(),
            ABSA_LABELS,
            lambda tok: demo_examples(tok, n),
            Path(tmp) / "bench-train-speed",
            {"task": "absa", "format": "qa-m"},
            args,
            progress=False,
            device=device,
            options=TrainOptions(),
        )
    seen = result.examples["train"] * epochs
    return {
        "examples_per_s": seen / result.train_time_s,
        "seconds": result.train_time_s,
        "examples": seen,
        **peak_memory_mb(device),
    }


def run_plain(n: int, epochs: int, batch_size: int) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from app.core.data.demo import ABSA_LABELS
    from app.core.model.checkpoint import pick_device, quiet_transformers
    from app.core.model.embedded import embedded_base_model

    quiet_transformers()
    device = pick_device()
    torch.manual_seed(SEED)
    tokenizer = AutoTokenizer.from_pretrained(embedded_base_model())
    model = AutoModelForSequenceClassification.from_pretrained(
        embedded_base_model(), num_labels=len(ABSA_LABELS), attn_implementation="eager"
    ).to(device)
    data = [(e.encoded.input_ids, e.encoded.token_type_ids, e.label) for e in demo_examples(tokenizer, n)]
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    rng = random.Random(SEED)
    model.train()
    started = time.perf_counter()
    for _ in range(epochs):
        rng.shuffle(data)
        for i in range(0, len(data), batch_size):
            batch = data[i : i + batch_size]
            longest = max(len(ids) for ids, _, _ in batch)
            input_ids = torch.full((len(batch), longest), tokenizer.pad_token_id, dtype=torch.long)
            token_types = torch.zeros((len(batch), longest), dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for row, (ids, types, _) in enumerate(batch):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                token_types[row, : len(types)] = torch.tensor(types)
                mask[row, : len(ids)] = 1
            target = torch.tensor([label for _, _, label in batch], device=device)
            logits = model(
                input_ids=input_ids.to(device), token_type_ids=token_types.to(device), attention_mask=mask.to(device)
            ).logits
            loss = torch.nn.functional.cross_entropy(logits, target)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    seen = len(data) * epochs
    return {"examples_per_s": seen / seconds, "seconds": seconds, "examples": seen, **peak_memory_mb(device)}


def child(which: str, opts: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        which,
        "--examples",
        str(opts.examples),
        "--epochs",
        str(opts.epochs),
        "--batch-size",
        str(opts.batch_size),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("plain", "headscope"), help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        run = run_plain if opts.child == "plain" else run_headscope
        print(json.dumps(run(opts.examples, opts.epochs, opts.batch_size)))
        return

    results: dict[str, list[dict]] = {"plain": [], "headscope": []}
    for r in range(opts.rounds):
        for which in ("plain", "headscope") if r % 2 == 0 else ("headscope", "plain"):
            results[which].append(child(which, opts))
    print(
        f"{opts.examples} demo ABSA QA-M examples, {opts.epochs} epoch(s), batch {opts.batch_size}, "
        f"{opts.rounds} alternating rounds, each in a fresh process"
    )
    medians = {}
    for which, label in (("plain", "plain PyTorch loop, dynamic padding"), ("headscope", "headscope train_classifier")):
        runs = results[which]
        medians[which] = statistics.median(x["examples_per_s"] for x in runs)
        memory = max(x["peak_rss_mb"] for x in runs)
        cuda = [x["peak_cuda_mb"] for x in runs if "peak_cuda_mb" in x]
        print(
            f"{label:<38} {medians[which]:7.1f} examples/s (median)  "
            f"runs {[round(x['examples_per_s'], 1) for x in runs]}"
            f"  peak RSS {memory:.0f} MiB" + (f"  peak CUDA {max(cuda):.0f} MiB" if cuda else "")
        )
    paired = [h["examples_per_s"] / p["examples_per_s"] for h, p in zip(results["headscope"], results["plain"])]
    print(
        "per-round ratios (headscope / plain; the machine's load changes between rounds): "
        f"{[round(x, 2) for x in paired]}"
    )
    print(f"RESULT train_speed_ratio={medians['headscope'] / medians['plain']:.3f} (target >= 1.0)")


if __name__ == "__main__":
    main()

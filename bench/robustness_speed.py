"""Robustness speed: generating + scoring the offline tests vs a bare batched forward over the same inputs.

Timed side: `run_robustness` with the random, selection-bias and semantic-bias tests (Q1, Q4, Q5) on
the demo relations — generating the variants, encoding, padding, the forward pass with attentions,
the predictions and every source/variant pair's per-head change (the heads that moved), and the
report with its bootstrap CIs. Baseline: the very same inputs (the sources and every variant the
timed run produced) through encode_unit + pad_batch + the model's forward with output_attentions,
same batch size, nothing else. Both run alternated ROUNDS times after a warm-up, back to back, so
load from other processes hits both alike; the ratio is the median over rounds of the two inputs/s
figures. Target: ratio >= 0.8.

    .venv/bin/python bench/robustness_speed.py [--sources 160] [--batch-size 16] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import common

TESTS = (
    "q1-typo",
    "q1-punctuation",
    "q1-contraction",
    "q1-number",
    "q1-person",
    "q1-location",
    "q4-rule-mask",
    "q5-entity-only",
    "q5-entity-mask",
)
SUITE = common.ROOT / "bench" / "out" / "robustness-suite.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    import torch

    from app.core.data.demo import demo_dataset
    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry
    from app.core.robustness.run import robustness_sources, run_robustness
    from app.core.robustness.settings import RobustnessSettings
    from app.core.robustness.suite_io import read_suite

    if args.threads:
        torch.set_num_threads(args.threads)
    registry = ModelRegistry(common.MODELS_DIR, pick_device("auto"))
    registry.refresh()
    loaded, dataset = registry.get("demo-re"), demo_dataset("demo-re")
    settings = RobustnessSettings(tests=TESTS, max_examples=args.sources, batch_size=args.batch_size, bootstrap=200)

    def timed_run() -> tuple[float, int, list]:
        started = time.perf_counter()
        result = run_robustness(loaded, dataset, settings, name="demo-re", training=dataset, export=SUITE)
        seconds = time.perf_counter() - started
        return seconds, result.data["sources"] + result.data["variants"], result

    SUITE.parent.mkdir(parents=True, exist_ok=True)
    timed_run()  # warm-up, and the suite file the baseline reads
    sources = robustness_sources(loaded, dataset, settings, "demo-re")
    variants = read_suite(SUITE, sources)
    from app.core.robustness.scoring import suite_items

    inputs = [item.spec for item in suite_items(sources, variants)]  # the scoring pass's order (same padding)
    suite_rates, bare_rates = [], []
    for _ in range(args.rounds):
        seconds, count, result = timed_run()
        suite_rates.append(count / seconds)
        bare_rates.append(len(inputs) / bare_pass(torch, loaded, inputs, args.batch_size))
    print(
        json.dumps(
            {
                "sources": len(sources),
                "variants": len(variants),
                "inputs": len(inputs),
                "batch_size": args.batch_size,
                "threads": torch.get_num_threads(),
                "device": str(loaded.device),
                "suite_inputs_per_s": [round(r, 1) for r in suite_rates],
                "bare_inputs_per_s": [round(r, 1) for r in bare_rates],
                "ratio": round(statistics.median(s / b for s, b in zip(suite_rates, bare_rates)), 3),
                "timings_s": result.timings_s,
            },
            indent=2,
        )
    )


def bare_pass(torch, loaded, specs, batch_size: int) -> float:
    from app.core.inputs.batching import pad_batch, training_max_length
    from app.core.inputs.units import encode_unit
    from app.core.model.attention import forward_with_attention

    max_length = training_max_length(loaded)
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(specs), batch_size):
            units = [encode_unit(loaded, s, None, max_length) for s in specs[start : start + batch_size]]
            units = [u for u in units if u is not None]
            forward_with_attention(
                loaded.model, pad_batch([u.encoded for u in units], loaded.tokenizer.pad_token_id, loaded.device)
            )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

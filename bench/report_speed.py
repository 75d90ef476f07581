"""Report evaluation speed: the report's evaluation pass against a bare batched forward over the same inputs.

Timed side: `evaluate_plan` on a demo checkpoint's report plan (demo data: the held-out test and dev
halves and the other task's text as out-of-domain input; with HEADSCOPE_SHARED_DATA the shared sets
too): encoding every input, ordering by length, one attention pass with the logits probe (what accuracy,
calibration and anomaly detection read) and, on the test inputs, the interpretability probe; then the
metrics, ECE before and after temperature scaling and the anomaly scores from those logits
(`perspectives`). Baseline: the very same inputs in the same order through encode_unit + pad_batch +
the model's forward (logits only, no attentions), same batch size, nothing else. Both alternate ROUNDS
times after a warm-up, in ABBA order (which goes first alternates); the ratio is the median of the per-round
inputs/s ratios. Target: >= 0.9.

    .venv/bin/python bench/report_speed.py [--model demo-absa-qa-m] [--batch-size 32] [--rounds 6] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo-absa-qa-m")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="inputs per set (default: all)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-interpretability", action="store_true")
    args = parser.parse_args()
    import torch

    from app.core.data.sources import load_data_source
    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry
    from app.core.report.passes import encode_plan, evaluate_plan
    from app.core.report.plan import plan_report
    from app.core.report.run import perspectives
    from app.core.report.settings import ReportSettings

    if args.threads:
        torch.set_num_threads(args.threads)
    shared = Path(os.environ["HEADSCOPE_SHARED_DATA"]) if os.environ.get("HEADSCOPE_SHARED_DATA") else None
    registry = ModelRegistry(common.MODELS_DIR, pick_device("auto"))
    registry.refresh()
    loaded = registry.get(args.model)
    settings = ReportSettings(
        max_examples=args.limit, batch_size=args.batch_size, interpretability=not args.no_interpretability
    )
    plan = plan_report(loaded.info, settings, shared, lambda n: load_data_source(n, shared_data=shared))
    units, _ = encode_plan(loaded, plan)
    specs = [u.spec for _, _, u in units]  # the pass's order: the baseline pads the same batches

    def timed() -> float:
        started = time.perf_counter()
        evaluated = evaluate_plan(
            loaded,
            plan,
            batch_size=args.batch_size,
            interpretability=settings.interpretability,
            runner=lambda work: work(),
        )
        perspectives(loaded.info, plan, evaluated, settings)
        return evaluated.inputs / (time.perf_counter() - started)

    timed()  # warm-up
    report_rates, bare_rates = [], []
    for round_ in range(args.rounds):  # ABBA: which side goes first alternates
        for side in ("report", "bare") if round_ % 2 == 0 else ("bare", "report"):
            if side == "report":
                report_rates.append(timed())
            else:
                bare_rates.append(len(specs) / bare_pass(torch, loaded, specs, args.batch_size))
    print(
        json.dumps(
            {
                "model": args.model,
                "inputs": len(specs),
                "sets": plan.describe()["sets"],
                "batch_size": args.batch_size,
                "threads": torch.get_num_threads(),
                "device": str(loaded.device),
                "interpretability": settings.interpretability,
                "report_inputs_per_s": [round(r, 1) for r in report_rates],
                "bare_inputs_per_s": [round(r, 1) for r in bare_rates],
                "ratio": round(statistics.median(r / b for r, b in zip(report_rates, bare_rates)), 3),
                "target": ">= 0.9",
            },
            indent=2,
        )
    )
    print(f"RESULT report_eval_speed_ratio={statistics.median(r / b for r, b in zip(report_rates, bare_rates)):.3f}")


def bare_pass(torch, loaded, specs, batch_size: int) -> float:
    from app.core.inputs.batching import pad_batch, training_max_length
    from app.core.inputs.units import encode_unit

    max_length = training_max_length(loaded)
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(specs), batch_size):
            units = [encode_unit(loaded, s, None, max_length) for s in specs[start : start + batch_size]]
            batch = pad_batch([u.encoded for u in units if u is not None], loaded.tokenizer.pad_token_id, loaded.device)
            loaded.model(**batch).logits.float().cpu()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

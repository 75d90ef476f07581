"""Analysis speed: pairs/s of the statistics pass vs a bare batched forward pass.

Statistics pass = the wall clock of `analyze`'s attention pass (its pairs/s): tokenising the pairs,
padding the batch, the forward pass with attentions, and every probe on the whole batch
(batched.batch_statistics: aspect / opinion / other-aspect / phrase / [SEP] / generic scores, the
streaming accumulators, the no-op split, the rule baselines, the typical-example top-k, the
interpretability rate, the agreement with rollout); with a core idle beside torch's threads the
tokenising and, where it pays, the probes run on helper threads beside the forward
(app/core/passes/pipeline.py). Baseline = the same pairs through encode_unit + pad_batch + the model's
forward with output_attentions=True, same batch size, under torch.inference_mode, nothing else
(tokenised pair by pair on the same thread); beside it the forward alone on batches tokenised and
padded beforehand, the stricter reference. All run in the same process, alternated ROUNDS times
after a warm-up; the ratio is the median over rounds of (statistics pairs/s / bare pairs/s) of the
two passes of each round, which are back to back, so load from other processes on a shared machine
hits both alike. Target: ratio >= 0.95 with one torch thread. The pretrained model's pass, the
fine-tune JS divergence, the positional baselines, the heads x heads JS map (on a sample) and
importance + ablation are timed separately (one analyze run with
everything on; importance and ablation on the first 64 pairs).

Memory: each dataset size runs `analyze` (pretrained pass and JS map on) in a fresh process;
reported are the process's peak RSS and tracemalloc's peak of Python allocations. What grows with
the data by design is the per-example [L, H] score rows the bootstrap needs (N * L * H floats per
statistic), reported as "accumulators".

    .venv/bin/python bench/analysis_speed.py [--sizes 160 640] [--batch-size 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

import common

DATASET = "demo-absa"
THREADS: int | None = None


def load():
    import torch

    from app.core.data.demo import demo_dataset
    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry

    common.require_checkpoint()
    registry = ModelRegistry(common.MODELS_DIR, pick_device("auto"))
    registry.refresh()
    return torch, registry.get(common.MODEL_ID), demo_dataset(DATASET)


def bare_pass(torch, loaded, specs, batch_size: int) -> float:
    """Seconds for encode + pad + forward with attentions over `specs`."""
    from app.core.inputs.batching import pad_batch
    from app.core.inputs.units import encode_unit
    from app.core.model.attention import forward_with_attention

    pad_id = loaded.tokenizer.pad_token_id
    max_length = loaded.info.metadata["training"]["args"]["max_length"]
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(specs), batch_size):
            units = [encode_unit(loaded, s, None, max_length) for s in specs[start : start + batch_size]]
            batch = pad_batch([u.encoded for u in units if u is not None], pad_id, loaded.device)
            forward_with_attention(loaded.model, batch)
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def forward_only_pass(torch, loaded, batches) -> float:
    """Seconds for the forward with attentions alone over batches tokenised and padded beforehand."""
    from app.core.model.attention import forward_with_attention

    started = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            forward_with_attention(loaded.model, batch)
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def padded_batches(loaded, specs, batch_size: int) -> list:
    from app.core.inputs.batching import pad_batch
    from app.core.inputs.units import encode_unit

    max_length = loaded.info.metadata["training"]["args"]["max_length"]
    units = [encode_unit(loaded, s, None, max_length) for s in specs]
    kept = [u.encoded for u in units if u is not None]
    pad_id = loaded.tokenizer.pad_token_id
    return [pad_batch(kept[i : i + batch_size], pad_id, loaded.device) for i in range(0, len(kept), batch_size)]


def speed(pairs: int, batch_size: int, rounds: int) -> dict:
    from app.core.heads.analysis import analyze
    from app.core.heads.settings import AnalysisSettings
    from app.core.inputs.units import unit_specs
    from app.core.model.pretrained import load_pretrained_baseline

    torch, loaded, dataset = load()
    specs, pairing = unit_specs(loaded, list(dataset.examples))
    specs = specs[:pairs]
    plain = AnalysisSettings(max_examples=pairs, batch_size=batch_size, bootstrap=200, js_sample=0, importance=False)
    bare_pass(torch, loaded, specs[: batch_size * 2], batch_size)  # warm-up
    analyze(loaded, dataset, plain.model_copy(update={"max_examples": batch_size * 2}))
    batches = padded_batches(loaded, specs, batch_size)
    bare, forward, stats = [], [], []
    for _ in range(rounds):
        bare.append(len(specs) / bare_pass(torch, loaded, specs, batch_size))
        forward.append(len(specs) / forward_only_pass(torch, loaded, batches))
        stats.append(analyze(loaded, dataset, plain).pairs_per_s)
    pretrained = load_pretrained_baseline(loaded)
    full = analyze(
        loaded,
        dataset,
        plain.model_copy(update={"importance": True, "importance_limit": 64, "js_sample": 32}),
        pretrained=pretrained,
    ).to_json()
    return {
        "pairs": len(specs),
        "pairing": pairing,
        "batch_size": batch_size,
        "rounds": rounds,
        "device": str(loaded.device),
        "threads": torch.get_num_threads(),
        "bare_pairs_per_s": bare,
        "forward_pairs_per_s": forward,
        "statistics_pairs_per_s": stats,
        "ratio": statistics.median(s / b for s, b in zip(stats, bare)),
        "forward_ratio": statistics.median(s / f for s, f in zip(stats, forward)),
        "separately_timed_s": full["timings_s"],
        "full_pairs": full["data"]["pairs"],
    }


def memory(pairs: int, batch_size: int, base: int) -> dict:
    from app.core.data.readers import Dataset
    from app.core.heads.analysis import analyze
    from app.core.heads.settings import AnalysisSettings
    from app.core.inputs.units import encode_unit, unit_specs
    from app.core.model.pretrained import load_pretrained_baseline

    torch, loaded, dataset = load()
    # The same `base` pairs repeated up to `pairs`: only the number of pairs differs between sizes, not
    # the longest input (the biggest attention batch, which sets the peak otherwise).
    specs, _ = unit_specs(loaded, list(dataset.examples))
    per_sentence = len(specs) // len(dataset.examples)
    sentences = list(dataset.examples[: max(1, base // per_sentence)])
    dataset = Dataset(dataset.path, dataset.format, tuple(sentences * (pairs // len(sentences) // per_sentence + 1)))
    longest = max(len(encode_unit(loaded, s).encoded.input_ids) for s in unit_specs(loaded, sentences)[0])
    pretrained = load_pretrained_baseline(loaded)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    early: list[float] = []

    def progress(done: int, total: int, phase: str) -> None:
        if done >= base and not early:  # the peak once the first `base` pairs are through
            early.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    tracemalloc.start()
    settings = AnalysisSettings(
        max_examples=pairs, batch_size=batch_size, bootstrap=200, js_sample=32, importance=False
    )
    result = analyze(loaded, dataset, settings, pretrained=pretrained, progress=progress).to_json()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    statistics_count = len(result["statistics"]) + 1  # + the fine-tune change rows
    layers, heads = result["model"]["num_layers"], result["model"]["num_heads"]
    cuda = torch.cuda.max_memory_allocated() / 2**20 if loaded.device.type == "cuda" else None
    return {
        "pairs": result["data"]["pairs"],
        "longest": longest,
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_rss_after_base_mb": round(early[0], 1),
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 2),
        "cuda_peak_mb": cuda,
        "accumulators_mb": round(result["data"]["pairs"] * layers * heads * 4 * statistics_count / 2**20, 2),
    }


def worker(mode: str, pairs: int, batch_size: int, rounds: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--sizes",
        str(pairs),
        "--batch-size",
        str(batch_size),
        "--rounds",
        str(rounds),
    ] + (["--threads", str(THREADS)] if THREADS else [])
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"worker {mode} {pairs} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report_speed(run: dict) -> None:
    bare, stats = statistics.median(run["bare_pairs_per_s"]), statistics.median(run["statistics_pairs_per_s"])
    print(
        f"{common.MODEL_ID} on {DATASET} ({run['pairing']} pairs), {run['pairs']} pairs, batch {run['batch_size']}, "
        f"{run['device']}, {run['threads']} threads, median of {run['rounds']} alternated rounds"
    )
    print(f"  bare forward with attentions : {bare:7.1f} pairs/s   {[round(x, 1) for x in run['bare_pairs_per_s']]}")
    print(
        f"  statistics pass (analyze)    : {stats:7.1f} pairs/s   "
        f"{[round(x, 1) for x in run['statistics_pairs_per_s']]}"
    )
    per_round = [round(s / b, 3) for s, b in zip(run["statistics_pairs_per_s"], run["bare_pairs_per_s"])]
    print(
        f"  ratio {run['ratio']:.3f}, median of the rounds' ratios {per_round} "
        f"(target >= 0.95: {'met' if run['ratio'] >= 0.95 else 'NOT met'})"
    )
    print(
        f"  forward alone (tokenised beforehand): {statistics.median(run['forward_pairs_per_s']):7.1f} pairs/s   "
        f"{[round(x, 1) for x in run['forward_pairs_per_s']]}; statistics pass / forward alone "
        f"{run['forward_ratio']:.3f} (median of the rounds' ratios)"
    )
    timed = run["separately_timed_s"]
    print(
        f"  timed separately over {run['full_pairs']} pairs (s): "
        + ", ".join(f"{k} {v}" for k, v in timed.items() if k not in ("statistics_pass", "pass_wall", "total"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[160, 640], help="pairs per run (demo-absa category pairs)"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's; 1 measures steadier on a busy shared machine)",
    )
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--worker", choices=["speed", "memory"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.worker == "speed":
        print(json.dumps(speed(args.sizes[0], args.batch_size, args.rounds)))
        return
    if args.worker == "memory":
        print(json.dumps(memory(args.sizes[0], args.batch_size, args.rounds)))
        return

    if not args.memory_only:
        run = worker("speed", args.sizes[0], args.batch_size, args.rounds)
        report_speed(run)
    if args.speed_only:
        return
    print(
        f"peak memory of analyze (pretrained pass + JS map on), one fresh process per size, the first "
        f"{min(args.sizes)} pairs repeated:"
    )
    for size in args.sizes:
        m = worker("memory", size, args.batch_size, min(args.sizes))  # "rounds" carries the base size
        cuda = f", CUDA peak {m['cuda_peak_mb']:.1f} MB" if m["cuda_peak_mb"] is not None else ""
        print(
            f"  {m['pairs']:5d} pairs (longest {m['longest']} tokens): peak RSS {m['peak_rss_mb']:.1f} MB "
            f"(after loading {m['rss_before_mb']:.1f} MB, after the first {min(args.sizes)} pairs "
            f"{m['peak_rss_after_base_mb']:.1f} MB), tracemalloc peak {m['tracemalloc_peak_mb']:.2f} MB, "
            f"per-example score rows {m['accumulators_mb']:.2f} MB{cuda}"
        )


if __name__ == "__main__":
    main()

"""GPU throughput of the analysis pass: a BERT-base-shaped classifier through the head analysis's statistics
pass on 64-token review–aspect pairs, against a bare batched forward of the same batches.

The model is BertForSequenceClassification with bert-base's configuration (12 layers x 12 heads, hidden
768), randomly initialised: nothing is downloaded; the tokenizer is the embedded MiniLM's, which has
bert-base-uncased's vocabulary. Pairs are the demo ABSA pairs, each review lengthened or truncated so
that the QA-M pair is exactly 64 tokens, repeated to --pairs.

* analysis pass: `statistics_pass` with the analysis's probes (every statistic, rule baselines,
  interpretability, typical examples, the heads x heads JS map, rollout agreement; no pretrained
  reference), as `headscope analyze` runs it: each batch tokenised into columns with one tokenizer
  call and its token masks built by tensor operations (inputs/unit_batch.py) on a helper thread while
  the device runs the previous batch, inputs copied from pinned memory, statistics on the device,
  per-head results back through pinned memory;
* bare: `model(**batch, output_attentions=True)` on the same batches, already tokenised and on the device.

With `--processes N` the pass runs as `headscope analyze --processes N` does: N worker processes
sharing the GPU (`ProcessShards`), each with a contiguous shard of whole batches, merged into one result;
the pool is started and the checkpoint loaded in every worker (from a temporary folder) before timing.

`--compare-streams`: each round also runs the pass with the probes on the forward's CUDA stream, as before they had
a stream of their own (passes/pipeline.py OBSERVE_STREAM): what their own stream buys, alternated in one process
(worker processes, `--processes`, observe on their forward's thread and stream anyway: no helper threads).

`--profile`: after the rounds, one pass over 4 batches and the bare forward of the same batches under
torch.profiler: the device's busy time (its kernels summed) against the wall clock of each, and the pass's kernels
and host operations that take the most time — where a session with a GPU sees what holds the pass back.

Rounds alternate; medians are printed with the ratio. Targets on an H100/H200-class GPU (for a session
with one), in one process: >= 20,000 pairs/s and ratio >= 0.9. On the CPU (`--device cpu --pairs 64 --batch-size 16`)
it is a smoke run whose figures mean nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import common  # (also puts the repository on sys.path)
import torch

from app.core.data.demo import demo_dataset
from app.core.heads.analysis import run_statistics
from app.core.heads.settings import AnalysisSettings
from app.core.heads.statistics_pass import build_probes
from app.core.inputs.batching import pad_batch
from app.core.inputs.units import encode_unit, unit_specs
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint, cuda_dtype
from app.core.model.random_bert import random_bert
from app.core.passes import pipeline
from app.core.passes.attention_pass import Stopwatch
from app.core.passes.sharding import ProcessShards

LABELS = common.LABELS
LENGTH = 64


def bert_base(device: torch.device, dtype: str, folder: Path | None = None) -> LoadedCheckpoint:
    model, tokenizer = random_bert(12, 12, 768, LABELS)  # bert-base's shape
    half = cuda_dtype(dtype if dtype != "float32" else False)
    if half is not None and device.type == "cuda":
        model.to(half)
    model.to(device)
    if folder is not None:  # for worker processes, which load it from there
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    info = CheckpointInfo(
        id="bert-base-random",
        path=folder or Path("bert-base-random"),
        task="absa",
        format="qa-m",
        labels=LABELS,
        num_layers=model.config.num_hidden_layers,
        num_heads=model.config.num_attention_heads,
        max_length=LENGTH,
        model_type="bert",
    )
    return LoadedCheckpoint(info=info, model=model, tokenizer=tokenizer, device=device)


def pairs_of_64(checkpoint: LoadedCheckpoint, count: int) -> list:
    """Demo ABSA pairs, each exactly 64 tokens (reviews lengthened with a filler word or truncated), repeated."""
    specs, _ = unit_specs(checkpoint, list(demo_dataset("demo-absa").examples), pairs="terms")
    fitted = []
    for spec in specs:
        unit = encode_unit(checkpoint, spec, None, LENGTH)
        if unit is None:
            continue
        short = LENGTH - len(unit.encoded.input_ids)
        if short > 0:
            spec = replace(spec, text=spec.text + " really" * short)
        fitted.append(spec)
    return [fitted[i % len(fitted)] for i in range(count)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_round(checkpoint: LoadedCheckpoint, batches: list[dict[str, torch.Tensor]], pairs: int) -> float:
    with torch.inference_mode():
        sync(checkpoint.device)
        started = time.perf_counter()
        for inputs in batches:
            output = checkpoint.model(**inputs, output_attentions=True)
        assert output.attentions
        sync(checkpoint.device)
        return pairs / (time.perf_counter() - started)


def pass_round(
    checkpoint: LoadedCheckpoint, specs: list, settings: AnalysisSettings, shards: ProcessShards | None = None
) -> tuple[float, dict[str, float]]:
    found = build_probes(checkpoint, settings, with_pretrained=False)
    stopwatch = Stopwatch()
    sync(checkpoint.device)
    started = time.perf_counter()
    summary = run_statistics(checkpoint, specs, found, settings, None, None, LENGTH, shards, stopwatch=stopwatch)
    sync(checkpoint.device)
    elapsed = time.perf_counter() - started
    assert summary.skipped == 0 and found.statistics.scores.count("entropy") == len(specs)
    return len(specs) / elapsed, stopwatch.seconds


def forward_stream_round(checkpoint: LoadedCheckpoint, specs: list, settings: AnalysisSettings) -> float:
    """pairs/s of `pass_round` with the probes on the forward's CUDA stream (`--compare-streams`)."""
    pipeline.OBSERVE_STREAM = False
    try:
        return pass_round(checkpoint, specs, settings)[0]
    finally:
        pipeline.OBSERVE_STREAM = True


def _device_time(event) -> float:
    """An event's own time on the device, µs (the attribute's name changed across torch versions)."""
    return getattr(event, "self_device_time_total", None) or getattr(event, "self_cuda_time_total", 0.0)


def profiled(run, device: torch.device) -> tuple[Any, float, list]:
    """(what `run()` returns, device busy s, the profiler's averages)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        found = run()
    averages = prof.key_averages()
    busy = sum(_device_time(e) for e in averages if e.device_type.name != "CPU") / 1e6
    return found, busy, list(averages)


def print_profile(checkpoint: LoadedCheckpoint, specs: list, settings: AnalysisSettings, batches: list) -> None:
    """The pass over len(batches) batches and the bare forward of those batches, profiled (`--profile`)."""
    pairs = sum(len(b["input_ids"]) for b in batches)
    device = checkpoint.device
    bare_rate, bare_busy, _ = profiled(lambda: bare_round(checkpoint, batches, pairs), device)
    (rate, _), busy, averages = profiled(lambda: pass_round(checkpoint, specs[:pairs], settings), device)
    print(
        f"profile, {pairs} pairs: bare forward {pairs / bare_rate:.3f} s wall, device busy {bare_busy:.3f} s; "
        f"analysis pass {pairs / rate:.3f} s wall, device busy {busy:.3f} s"
    )
    if device.type == "cuda":
        kernels = sorted((e for e in averages if _device_time(e) > 0), key=_device_time, reverse=True)[:12]
        print(
            "  device time by operation: "
            + "; ".join(f"{e.key} {_device_time(e) / 1e3:.1f} ms x{e.count}" for e in kernels)
        )
    host = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:12]
    print(
        "  host time by operation: "
        + "; ".join(f"{e.key} {e.self_cpu_time_total / 1e3:.1f} ms x{e.count}" for e in host)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--dtype",
        default="float16",
        choices=["float16", "bfloat16", "float32"],
        help="weights and activations on CUDA (the CPU always runs float32)",
    )
    parser.add_argument(
        "--pairs", type=int, default=None, help="pairs per round (default: 16,384 on CUDA, 64 on the CPU)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="default: 512 on CUDA, 16 on the CPU")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--js-sample",
        type=int,
        default=None,
        help="pairs for the heads x heads JS map (default: 64, the analysis's default; 2 on the CPU)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes sharing the device for the analysis pass (ProcessShards)",
    )
    parser.add_argument("--profile", action="store_true", help="profile 4 batches of the pass and of the bare forward")
    parser.add_argument(
        "--compare-streams",
        action="store_true",
        help="each round also runs the pass with the probes on the forward's stream",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    count = args.pairs or (16_384 if cuda else 64)
    batch_size = args.batch_size or (512 if cuda else 16)
    folder = Path(tempfile.mkdtemp(prefix="bert-base-random-")) if args.processes > 1 else None
    checkpoint = bert_base(device, args.dtype if cuda else "float32", folder)
    specs = pairs_of_64(checkpoint, count)
    settings = AnalysisSettings(
        batch_size=batch_size,
        pretrained=False,
        lexicon=False,
        importance=False,
        js_sample=args.js_sample if args.js_sample is not None else 64 if cuda else 2,
        typical_k=3,
        agreement=True,
    )
    units = [encode_unit(checkpoint, spec, None, LENGTH) for spec in specs]
    batches = [
        pad_batch([u.encoded for u in units[i : i + batch_size]], checkpoint.tokenizer.pad_token_id, device)
        for i in range(0, count, batch_size)
    ]
    assert all(b["input_ids"].shape[1] == LENGTH for b in batches)
    gpu = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"{gpu}; {args.dtype if cuda else 'float32'}; {args.processes} process(es); "
        "bert-base shape (12 x 12, hidden 768), random weights; "
        f"{count} pairs of {LENGTH} tokens, batch {batch_size}, {args.rounds} alternated rounds; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    bare_round(checkpoint, batches[:1], batch_size)  # warm-up (CUDA context, kernels)
    shards = None
    if args.processes > 1:
        started = time.perf_counter()
        shards = ProcessShards(args.processes, device.type, args.dtype if cuda else False)
        pass_round(checkpoint, specs[: batch_size * args.processes], settings, shards)  # starts every worker
        print(
            f"{args.processes} worker processes started, checkpoint loaded in each: "
            f"{time.perf_counter() - started:.1f}s"
        )
    pass_round(checkpoint, specs[: batch_size * 2 * args.processes], settings, shards)
    bare, passed, parts, same_stream = [], [], [], []
    for _ in range(args.rounds):
        bare.append(bare_round(checkpoint, batches, count))
        speed, seconds = pass_round(checkpoint, specs, settings, shards)
        passed.append(speed)
        parts.append(seconds)
        if args.compare_streams and shards is None:
            same_stream.append(forward_stream_round(checkpoint, specs, settings))
    base, found = statistics.median(bare), statistics.median(passed)
    print(f"bare batched forward: {base:,.0f} pairs/s (rounds: {', '.join(f'{x:,.0f}' for x in bare)})")
    print(f"analysis pass: {found:,.0f} pairs/s (rounds: {', '.join(f'{x:,.0f}' for x in passed)})")
    if same_stream:
        forward_stream = statistics.median(same_stream)
        print(
            f"analysis pass, probes on the forward's stream: {forward_stream:,.0f} pairs/s, "
            f"ratio {forward_stream / base:.2f} "
            f"(rounds: {', '.join(f'{x:,.0f}' for x in same_stream)})"
        )
    last = parts[-1]
    print(
        f"analysis pass, seconds per part in the last round{' (summed over workers)' if shards else ''}: "
        + ", ".join(f"{name} {seconds:.3f}" for name, seconds in sorted(last.items(), key=lambda kv: -kv[1]))
    )
    if cuda:
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")
    if args.profile and shards is None:
        print_profile(checkpoint, specs, settings, batches[:4])
    if shards is not None:
        shards.close()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"RESULT gpu_pairs_per_s={found:.0f} ratio={found / base:.2f} processes={args.processes} "
        f"(targets on an H100/H200, one process: >= 20000 and >= 0.9)"
    )


if __name__ == "__main__":
    main()

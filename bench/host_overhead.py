"""Host work per pair of the analysis pass: the pass with a model whose forward costs almost nothing.

A randomly initialised BertForSequenceClassification of 1 layer x 1 head, hidden 8 (`--shape 1x1`):
its forward and the statistics on its [B, 1, 1, 64, 64] attention cost next to nothing, so what the
analysis pass spends beyond the bare forward is host work — tokenising, span lookups, token masks,
the probes' bookkeeping. Pairs are the demo ABSA term pairs, each exactly 64 tokens as a QA-M pair
(bench/gpu_throughput.py's `pairs_of_64`), repeated to --pairs.

* analysis pass: `run_statistics` with the analysis's probes and every default statistic (rule
  baselines, interpretability, typical examples, the heads x heads JS map on its default 64 pairs, the
  agreement with rollout; the Hu & Liu lexicon when HEADSCOPE_SHARED_DATA has it; no pretrained
  reference: the model is random), the pass `headscope analyze` runs;
* bare: `model(**batch, output_attentions=True)` on the same batches, tokenised and padded beforehand.

Rounds alternate (bare, pass, bare, pass ...) in one process on one torch thread; the medians are
printed with the host microseconds per pair, 1e6 * (1 / pass pairs/s - 1 / bare pairs/s). With one torch
thread on a machine of several cores the pass tokenises the next batch on a helper thread
(passes/pipeline.py idle_cores; with one idle core the probes stay on the forward's thread here, where a
batch's encoding takes longer than its forward), so wall-clock rates hide that part of the host work; the CPU
microseconds per pair of the process (every thread, `time.process_time`) are printed beside them, and their
median difference is the host CPU work per pair (on a loaded machine both inflate: contention costs CPU too).
Each round also times the pass's encoding alone (`encode_unit_batch`, CPU µs per pair).
`--shape 6x12` runs MiniLM's shape (6 layers x 12 heads, hidden 384) the same way. `--per-pair` adds a
third pass per round: the same probes over per-pair units (an `EncodedInput` with its `Token`s per pair, masks
filled pair by pair), the encoding the pass used before its columns.

The batch is 512 by default: what a pass runs on a GPU, where host work is what the device cannot hide (the batch
size left open on CUDA, passes/batch_size.py, and bench/gpu_throughput.py's); `--batch-size 64` shows the per-batch
overhead a smaller batch adds.

    .venv/bin/python bench/host_overhead.py [--shape 1x1] [--pairs 4096] [--batch-size 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import common  # (also puts the repository on sys.path)
import torch

from app.core.data.readers import OpinionLexicon, load_opinion_lexicon
from app.core.heads.analysis import run_statistics
from app.core.heads.settings import AnalysisSettings
from app.core.heads.statistics_pass import build_probes
from app.core.inputs.batching import pad_batch
from app.core.inputs.unit_batch import encode_unit_batch
from app.core.inputs.units import encode_unit, encode_units
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
from app.core.model.random_bert import random_bert
from app.core.passes.attention_pass import Stopwatch, attention_pass

LABELS = common.LABELS
LENGTH = 64
SHAPES = {"1x1": (1, 1, 8), "6x12": (6, 12, 384), "12x12": (12, 12, 768)}  # layers, heads, hidden


def random_checkpoint(layers: int, heads: int, hidden: int) -> LoadedCheckpoint:
    model, tokenizer = random_bert(layers, heads, hidden, LABELS)
    info = CheckpointInfo(
        id=f"bert-random-{layers}x{heads}",
        path=Path(f"bert-random-{layers}x{heads}"),
        task="absa",
        format="qa-m",
        labels=LABELS,
        num_layers=layers,
        num_heads=heads,
        max_length=LENGTH,
        model_type="bert",
    )
    return LoadedCheckpoint(info=info, model=model, tokenizer=tokenizer, device=torch.device("cpu"))


def shared_lexicon() -> OpinionLexicon | None:
    folder = Path(os.environ.get("HEADSCOPE_SHARED_DATA", "/nonexistent")) / "opinion_lexicon"
    return load_opinion_lexicon(folder) if folder.is_dir() else None


def pass_round(
    checkpoint: LoadedCheckpoint, specs: list, settings: AnalysisSettings, lexicon: OpinionLexicon | None
) -> tuple[float, dict[str, float]]:
    found = build_probes(checkpoint, settings, with_pretrained=False)
    stopwatch = Stopwatch()
    started = time.perf_counter()
    summary = run_statistics(checkpoint, specs, found, settings, None, lexicon, LENGTH, stopwatch=stopwatch)
    elapsed = time.perf_counter() - started
    assert summary.skipped == 0 and found.statistics.scores.count("entropy") == len(specs)
    return len(specs) / elapsed, stopwatch.seconds


def per_pair_round(
    checkpoint: LoadedCheckpoint, specs: list, settings: AnalysisSettings, lexicon: OpinionLexicon | None
) -> float:
    """The same pass with the per-pair encoding it had before the columns (a `Unit` and its token lists per
    pair, masks filled pair by pair): the in-run reference for what the columns save."""
    found = build_probes(checkpoint, settings, with_pretrained=False)
    started = time.perf_counter()
    attention_pass(
        checkpoint,
        specs,
        lambda spec: encode_unit(checkpoint, spec, lexicon, LENGTH),
        found.active(),
        batch_size=settings.batch_size,
        encode_many=lambda chunk: encode_units(checkpoint, chunk, lexicon, LENGTH),
    )
    elapsed = time.perf_counter() - started
    assert found.statistics.scores.count("entropy") == len(specs)
    return len(specs) / elapsed


def cpu_us_per_pair(work: Callable[[], object], pairs: int) -> tuple[object, float]:
    """`work()` and the CPU microseconds per pair the process spent on it (every thread: the encoding a
    helper thread overlaps with the forward counts here, though not in the wall-clock rates)."""
    started = time.process_time()
    found = work()
    return found, 1e6 * (time.process_time() - started) / pairs


def encoding_us(checkpoint: LoadedCheckpoint, specs: list, lexicon: OpinionLexicon | None, batch: int) -> float:
    """CPU µs per pair of the pass's encoding alone (`encode_unit_batch` over the specs in batches, one thread)."""
    started = time.process_time()
    for start in range(0, len(specs), batch):
        encode_unit_batch(checkpoint, specs[start : start + batch], lexicon, LENGTH)
    return 1e6 * (time.process_time() - started) / len(specs)


def main() -> None:
    from gpu_throughput import bare_round, pairs_of_64

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="1x1", help="layers x heads")
    parser.add_argument("--pairs", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--per-pair", action="store_true", help="also time the pass with per-pair encoding (before the columns)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    layers, heads, hidden = SHAPES[args.shape]
    checkpoint = random_checkpoint(layers, heads, hidden)
    specs = pairs_of_64(checkpoint, args.pairs)
    lexicon = shared_lexicon()
    settings = AnalysisSettings(batch_size=args.batch_size, pretrained=False, importance=False)
    units = [encode_unit(checkpoint, spec, None, LENGTH) for spec in specs]
    batches = [
        pad_batch([u.encoded for u in units[i : i + args.batch_size]], checkpoint.tokenizer.pad_token_id, "cpu")
        for i in range(0, len(units), args.batch_size)
    ]
    assert all(b["input_ids"].shape[1] == LENGTH for b in batches)
    print(
        f"CPU, {torch.get_num_threads()} torch thread(s); BERT {layers} x {heads}, hidden {hidden}, random weights; "
        f"{len(specs)} pairs of {LENGTH} tokens, batch {args.batch_size}, {args.rounds} alternated rounds; "
        f"lexicon {'on' if lexicon else 'absent'}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    bare_round(checkpoint, batches[:2], 2 * args.batch_size)  # warm-up
    pass_round(checkpoint, specs[: 2 * args.batch_size], settings, lexicon)
    bare, passed, parts, per_pair, cpu_bare, cpu_pass, encoding = [], [], [], [], [], [], []
    for _ in range(args.rounds):
        speed, cpu = cpu_us_per_pair(lambda: bare_round(checkpoint, batches, len(specs)), len(specs))
        bare.append(speed)
        cpu_bare.append(cpu)
        (speed, seconds), cpu = cpu_us_per_pair(lambda: pass_round(checkpoint, specs, settings, lexicon), len(specs))
        passed.append(speed)
        parts.append(seconds)
        cpu_pass.append(cpu)
        encoding.append(encoding_us(checkpoint, specs, lexicon, args.batch_size))
        if args.per_pair:
            per_pair.append(per_pair_round(checkpoint, specs, settings, lexicon))
    base, found = statistics.median(bare), statistics.median(passed)
    host_us = 1e6 * (1 / found - 1 / base)
    print(f"bare forward: {base:,.0f} pairs/s (rounds: {', '.join(f'{x:,.0f}' for x in bare)})")
    print(f"analysis pass: {found:,.0f} pairs/s (rounds: {', '.join(f'{x:,.0f}' for x in passed)})")
    if per_pair:
        old = statistics.median(per_pair)
        print(
            f"analysis pass, per-pair encoding (before the columns): {old:,.0f} pairs/s "
            f"(rounds: {', '.join(f'{x:,.0f}' for x in per_pair)}); host µs per pair {1e6 * (1 / old - 1 / base):.0f}"
        )
    print(
        "analysis pass, µs per pair per part (last round): "
        + ", ".join(
            f"{name} {1e6 * s / len(specs):.0f}" for name, s in sorted(parts[-1].items(), key=lambda kv: -kv[1])
        )
    )
    host_cpu = statistics.median(p - b for p, b in zip(cpu_pass, cpu_bare))
    print(
        f"CPU µs per pair (every thread, per round): bare {', '.join(f'{x:.0f}' for x in cpu_bare)}; "
        f"analysis pass {', '.join(f'{x:.0f}' for x in cpu_pass)}; host CPU µs per pair (median) {host_cpu:.0f}"
    )
    print(
        f"encoding alone (encode_unit_batch, batches of {args.batch_size}): CPU µs per pair "
        f"{statistics.median(encoding):.0f} (rounds: {', '.join(f'{x:.0f}' for x in encoding)})"
    )
    print(
        f"RESULT shape={args.shape} bare_pairs_per_s={base:.0f} pass_pairs_per_s={found:.0f} "
        f"ratio={found / base:.3f} host_us_per_pair={host_us:.0f} host_cpu_us_per_pair={host_cpu:.0f} "
        f"(target at 1x1: <= 100)"
    )


if __name__ == "__main__":
    main()

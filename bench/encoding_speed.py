"""CPU µs per pair of the analysis pass's encoding alone (`encode_unit_batch`), on category pairs: every demo
review paired with each of five categories in QA-M (a review shares its tokens with its five pairs), the
Hu & Liu lexicon on when HEADSCOPE_SHARED_DATA has it. A random 1 x 1 BERT's checkpoint info (bench/
host_overhead.py) with format qa-m; one thread; medians of --rounds rounds (the first warms the caches).

    .venv/bin/python bench/encoding_speed.py [--pairs 2048] [--batch-size 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace

import common  # noqa: F401  (puts the repository on sys.path)
import torch
from host_overhead import random_checkpoint, shared_lexicon

from app.core.data.demo import demo_dataset
from app.core.inputs.unit_batch import encode_unit_batch
from app.core.inputs.units import unit_specs

CATEGORIES = ["food", "service", "price", "ambience", "anecdotes/miscellaneous"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    checkpoint = random_checkpoint(1, 1, 8)
    info = replace(checkpoint.info, format="qa-m", max_length=128, metadata={"categories": CATEGORIES})
    checkpoint = replace(checkpoint, info=info)
    specs, kind = unit_specs(checkpoint, list(demo_dataset("demo-absa").examples), pairs="categories")
    specs = [specs[i % len(specs)] for i in range(args.pairs)]
    lexicon = shared_lexicon()
    rounds = []
    for _ in range(args.rounds):
        started = time.process_time()
        for start in range(0, len(specs), args.batch_size):
            encode_unit_batch(checkpoint, specs[start : start + args.batch_size], lexicon, 128)
        rounds.append(1e6 * (time.process_time() - started) / len(specs))
    print(
        f"{kind} pairs: {len(specs)}, batch {args.batch_size}, lexicon {'on' if lexicon else 'absent'}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"RESULT encoding_cpu_us_per_pair={statistics.median(rounds):.0f} "
        f"(rounds: {', '.join(f'{x:.0f}' for x in rounds)})"
    )


if __name__ == "__main__":
    main()

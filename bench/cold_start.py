"""Cold start: `headscope serve` from process start to /api/health ready, vs a bare script
that imports transformers, runs `from_pretrained` on the same checkpoint and one forward
with attentions (also from process start). Median of 3 each, same run. Target: <= 1.3.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from common import ASPECT, CHECKPOINT, REVIEW, require_checkpoint, server_env

from app.devserver import ServerProcess

RUNS = 3
BARE = f"""
from transformers import AutoModelForSequenceClassification, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained({str(CHECKPOINT)!r})
model = AutoModelForSequenceClassification.from_pretrained({str(CHECKPOINT)!r}, attn_implementation="eager").eval()
enc = tokenizer({REVIEW!r}, "what do you think of the {ASPECT} of it ?", return_tensors="pt")
assert model(**enc, output_attentions=True).attentions
print("ready", flush=True)
"""


def bare_seconds() -> float:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", BARE], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    elapsed = time.perf_counter() - start
    process.wait()
    assert line.strip() == "ready", line
    return elapsed


def server_seconds() -> float:
    with ServerProcess(server_env()) as server:
        return server.ready_after_s


def main() -> None:
    require_checkpoint()
    bare = [bare_seconds() for _ in range(RUNS)]
    served = [server_seconds() for _ in range(RUNS)]
    b, s = statistics.median(bare), statistics.median(served)
    print(
        f"bare from_pretrained + first forward (process start to done): {b:.2f} s  runs {[round(x, 2) for x in bare]}"
    )
    print(
        f"headscope serve (process start to /api/health ready):        {s:.2f} s  runs {[round(x, 2) for x in served]}"
    )
    print(f"RESULT cold_start_ratio={s / b:.3f} (target <= 1.3)")


if __name__ == "__main__":
    main()

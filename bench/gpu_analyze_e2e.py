"""End to end: `headscope analyze` on --pairs review–aspect pairs of 64 tokens, as a user runs it, timed from the
shell (process start, checkpoint load, data read, the pass, bootstrap CIs, labels, the result file).

The checkpoint is bench/gpu_throughput.py's BERT-base-shaped random classifier (12 x 12, hidden 768) written to a
temporary models folder with its headscope.json; the data is a headscope JSONL file of the demo pairs fitted to
64 tokens (`pairs_of_64`), one aspect term per line, repeated to --pairs. The command is

    headscope analyze --model bert-base-random --data pairs.jsonl --pairs terms --no-importance --no-pretrained
                      --batch-size 512 --no-progress --out result.json

with HEADSCOPE_CUDA_HALF=float16 (--dtype) on CUDA. Prints the wall time and pairs/s; on the CPU
(`--pairs 256 --batch-size 16`) it is a smoke run.

    python bench/gpu_analyze_e2e.py [--pairs 100000] [--batch-size 512] [--dtype float16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import torch


def write_data(specs: list, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i, spec in enumerate(specs):
            (start, end), text = spec.term_spans[0], spec.text
            term = {"term": text[start:end], "from": start, "to": end, "polarity": spec.polarity or "neutral"}
            out.write(json.dumps({"id": f"p{i}", "text": text, "aspects": [term]}) + "\n")


def main() -> None:
    from gpu_throughput import LABELS, bert_base, pairs_of_64

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="analyze-e2e-"))
    try:
        models = folder / "models"
        checkpoint = bert_base(torch.device("cpu"), "float32", models / "bert-base-random")
        meta = {"id": "bert-base-random", "task": "absa", "format": "qa-m", "labels": list(LABELS), "metrics": {}}
        (models / "bert-base-random" / "headscope.json").write_text(json.dumps(meta), encoding="utf-8")
        data = folder / "pairs.jsonl"
        write_data(pairs_of_64(checkpoint, args.pairs), data)
        env = {
            **os.environ,
            "HEADSCOPE_MODELS_DIR": str(models),
            "HEADSCOPE_DATA_DIR": str(folder / "data"),
            "HEADSCOPE_CUDA_HALF": args.dtype if args.dtype != "float32" else "false",
            # the repository first, then whatever made this process's imports work (a GPU machine's carried kit)
            "PYTHONPATH": os.pathsep.join(filter(None, [str(common.ROOT), os.environ.get("PYTHONPATH")])),
        }
        command = [sys.executable, "-m", "app.cli", "analyze", "--model", "bert-base-random", "--data", str(data)]
        command += ["--pairs", "terms", "--no-importance", "--no-pretrained", "--no-progress"]
        command += ["--batch-size", str(args.batch_size), "--out", str(folder / "result.json")]
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
        print(
            f"{device}; {args.dtype}; headscope analyze on {args.pairs:,} pairs of 64 tokens, batch {args.batch_size}"
        )
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        if done.returncode != 0:
            sys.exit(f"headscope analyze failed ({done.returncode})")
        analysed = json.loads((folder / "result.json").read_text(encoding="utf-8"))["data"]["pairs"]
        print(f"RESULT analyze_pairs={analysed} wall_s={seconds:.1f} pairs_per_s={analysed / seconds:.0f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

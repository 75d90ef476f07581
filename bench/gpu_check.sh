#!/usr/bin/env bash
# The GPU checks in one go, for a machine with a CUDA device: the demo checkpoints (trained there when
# missing), the CUDA tests, and the analysis pass's throughput against a bare batched forward in float16
# and bfloat16, in one process and in worker processes sharing the GPU. Run from the repository root with
# the project importable (`make install`, or PYTHONPATH).
# Prints the figures the README records under *GPU*.
set -uo pipefail
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
$PY - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
PY
$PY - <<'PY' || exit 1
import time
from app.config import get_settings
from app.core.training.demo_checkpoints import prepare_demo_models
started = time.perf_counter()
for result in prepare_demo_models(get_settings().models_dir, progress=False):
    print(f"trained {result.path.name} in {result.train_time_s:.1f}s: {result.metrics}")
print(f"demo checkpoints ready in {time.perf_counter() - started:.1f}s")
PY
$PY -m pytest -q -rs -p no:cacheprovider tests/test_cuda.py tests/test_gpu_path.py
# dtype:processes; one process reads a shorter stream (it is the slow case)
for run in ${GPU_BENCH_RUNS:-float16:1 float16:8 float16:14 bfloat16:14}; do
  dtype=${run%%:*} processes=${run##*:}
  short=(); [ "$processes" = 1 ] && short=(--pairs 8192 --rounds 2)
  $PY bench/gpu_throughput.py --dtype "$dtype" --processes "$processes" "${short[@]}" ${GPU_BENCH_ARGS:-}
done

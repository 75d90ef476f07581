"""A seed group of tiny checkpoints for tests: one random tiny ABSA checkpoint per seed (different weights), its
model card recording the seed and group as `headscope train --seeds` writes them; the first seed's checkpoint
is the group's bare name, as an older single-seed checkpoint stands in for its seed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tiny_model import write_tiny_checkpoint  # tests/ is on sys.path (rootdir conftest)

from app.config import Settings
from app.core.model.checkpoint import METADATA_FILE
from app.core.model.seed_groups import seed_checkpoint_name
from app.devserver import ServerProcess
from app.web.main import create_app

TINY_GROUP = "tiny-absa-grouped"


def write_tiny_seed_group(
    models_dir: Path, seeds: tuple[int, ...] = (13, 14), name: str = TINY_GROUP, fmt: str | None = None
) -> list[str]:
    """The checkpoint ids written, in seed order. fmt: the ABSA input format recorded in the card ("term": aspect-term
    pairs, whose gold spans Stevens & Su's interpretability rate reads); None keeps the demo one (categories)."""
    ids = []
    for i, seed in enumerate(seeds):
        model_id = name if i == 0 else seed_checkpoint_name(name, seed)
        folder = write_tiny_checkpoint(models_dir, "absa", model_id=model_id, seed=seed)
        card = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        card.update(seed=seed, seed_group=name, **({"format": fmt} if fmt else {}))
        (folder / METADATA_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        ids.append(model_id)
    return ids


PERTURBED_GROUP = "demo-grouped"  # the CLI tests' perturbed demo group (tests/cli/conftest.py)


def write_perturbed_seed_group(
    models_dir: Path, source: Path, name: str, seeds: tuple[int, ...] = (13, 14), noise: float = 0.5
) -> list[str]:
    """Copies of a trained checkpoint as a seed group: the first seed's copy unchanged (the group's bare name),
    each later seed's with Gaussian noise (`noise` × each matrix's std, drawn with that seed) on every attention
    query and key projection, so that some heads keep their roles and some lose or gain them."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    ids = []
    for i, seed in enumerate(seeds):
        model_id = name if i == 0 else seed_checkpoint_name(name, seed)
        folder = models_dir / model_id
        shutil.copytree(source, folder)
        if i:
            weights = load_file(folder / "model.safetensors")
            draw = torch.Generator().manual_seed(seed)
            for key, tensor in weights.items():
                if key.endswith(("query.weight", "key.weight")):
                    weights[key] = tensor + noise * tensor.std() * torch.randn(tensor.shape, generator=draw)
            save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
        card = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        card.update(id=model_id, seed=seed, seed_group=name)
        (folder / METADATA_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        ids.append(model_id)
    return ids


# what fills a fresh models folder with the groups a test needs (one of the writers above, its arguments bound)
GroupWriter = Callable[[Path], object]


@contextmanager
def seed_group_client(tmp_path_factory: pytest.TempPathFactory, write_groups: GroupWriter) -> Iterator[TestClient]:
    """The real app (TestClient, its job thread running) over a fresh models folder that `write_groups` fills."""
    folder = tmp_path_factory.mktemp("group-models")
    write_groups(folder)
    settings = Settings(
        models_dir=folder, data_dir=tmp_path_factory.mktemp("group-data"), device="cpu", prepare_on_start=False
    )
    with TestClient(create_app(settings)) as client:
        yield client


@contextmanager
def seed_group_server(tmp_path_factory: pytest.TempPathFactory, write_groups: GroupWriter) -> Iterator[str]:
    """A running uvicorn over a fresh models folder that `write_groups` fills: its URL."""
    folder = tmp_path_factory.mktemp("group-models")
    write_groups(folder)
    env = {
        "HEADSCOPE_MODELS_DIR": str(folder),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("group-server-data")),
        "HEADSCOPE_DEVICE": "cpu",
    }
    with ServerProcess(env, timeout_s=600) as running:  # a busy machine starts it slowly
        yield running.url

"""Fixtures the CLI tests share."""

from pathlib import Path

import pytest
from seed_group_support import (  # tests/ is on sys.path
    PERTURBED_GROUP,
    write_perturbed_seed_group,
    write_tiny_seed_group,
)


@pytest.fixture()
def group_folder(models_dir, tmp_path, cli_env) -> Path:
    """A models folder, in use by the CLI, holding the seed group PERTURBED_GROUP@13,14: the demo ABSA checkpoint
    and a perturbed copy of it (seed_group_support.write_perturbed_seed_group)."""
    folder = tmp_path / "models"
    folder.mkdir()
    write_perturbed_seed_group(folder, models_dir / "demo-absa-qa-m", PERTURBED_GROUP, (13, 14))
    cli_env(HEADSCOPE_MODELS_DIR=str(folder), HEADSCOPE_DEVICE="cpu")
    return folder


@pytest.fixture()
def tiny_group_folder(tmp_path, cli_env) -> Path:
    """A models folder, in use by the CLI, holding the tiny seed group tiny-grouped@13,14 (no seed 15)."""
    folder = tmp_path / "models"
    folder.mkdir()
    write_tiny_seed_group(folder, (13, 14), name="tiny-grouped")
    cli_env(HEADSCOPE_MODELS_DIR=str(folder), HEADSCOPE_DEVICE="cpu")
    return folder

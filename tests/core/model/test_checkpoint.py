"""Checkpoint folders: listing, refusing pickles, atomic writes, registering a user's model."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from app.core.data.files import replace_folder
from app.core.model.checkpoint import (
    CheckpointError,
    check_weights_are_safe,
    load_checkpoint,
    read_checkpoint_info,
    scan_models_dir,
)


def test_demo_checkpoints_are_listed(models_dir):
    infos = {i.id: i for i in scan_models_dir(models_dir)}
    absa, relation = infos["demo-absa-qa-m"], infos["demo-re"]
    assert (absa.task, absa.format, absa.num_layers, absa.num_heads) == ("absa", "qa-m", 6, 12)
    assert absa.labels == ("positive", "neutral", "negative", "conflict", "none")
    assert relation.task == "re" and "Other" in relation.labels
    for info in (absa, relation):
        assert info.metrics["dev"]["n"] > 0
        assert len(info.metadata["training"]["data"][0]["sha256"]) == 64


def test_pickle_weights_are_refused_before_loading(tmp_path, models_dir):
    folder = tmp_path / "pickled"
    shutil.copytree(models_dir / "demo-absa-qa-m", folder)
    (folder / "model.safetensors").unlink()
    # Not even a valid pickle: the refusal must come before anything tries to read it.
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04 this would run code")
    with pytest.raises(CheckpointError, match="only safetensors"):
        check_weights_are_safe(folder)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(read_checkpoint_info(folder))


def test_bad_metadata_names_the_problem(tmp_path, models_dir):
    folder = tmp_path / "models" / "broken"
    shutil.copytree(models_dir / "demo-absa-qa-m", folder)
    (folder / "headscope.json").write_text(json.dumps({"task": "absa", "format": "qa-x"}))
    with pytest.raises(CheckpointError, match="'format' for task absa must be one of"):
        read_checkpoint_info(folder)
    assert scan_models_dir(tmp_path / "models") == []  # skipped, not fatal


def test_interrupted_write_leaves_nothing_listed(tmp_path, models_dir):
    def write_then_crash(folder):
        shutil.copytree(models_dir / "demo-absa-qa-m", folder, dirs_exist_ok=True)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_folder(tmp_path / "half-written", write_then_crash)
    assert scan_models_dir(tmp_path) == [] and list(tmp_path.iterdir()) == []


def test_add_registers_a_user_folder(tmp_path, models_dir, monkeypatch):
    from app.cli import cli
    from app.config import get_settings

    user_model = tmp_path / "my-finetune"
    shutil.copytree(models_dir / "demo-absa-qa-m", user_model)
    (user_model / "headscope.json").unlink()  # a plain Hugging Face folder
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["add", str(user_model), "--task", "absa", "--format", "qa-m", "--name", "mine"]
        )
        assert result.exit_code == 0, result.output
        listed = CliRunner().invoke(cli, ["models", "--json"])
    finally:
        get_settings.cache_clear()
    [info] = json.loads(listed.output)
    assert info["id"] == "mine" and info["source"] == str(user_model) and info["labels"][-1] == "none"
    loaded = load_checkpoint(read_checkpoint_info(tmp_path / "models" / "mine"))
    assert loaded.model.config.num_hidden_layers == 6


def test_weights_stored_in_half_precision_load_and_serve_as_float32(tmp_path):
    """transformers 5 keeps the dtype weights were stored in: a fine-tune shared in float16 would run in it on a
    CPU (slow; and training from such a base collapsed). Loaded as the checkpoint and as a pretrained reference, it
    is float32 and predicts as the float32 weights it was rounded from."""
    import torch
    from tiny_model import write_tiny_checkpoint

    from app.core.model.checkpoint import load_checkpoint, scan_models_dir
    from app.core.model.pretrained import load_pretrained_baseline

    folder = write_tiny_checkpoint(tmp_path, "absa")
    (info,) = scan_models_dir(tmp_path)
    full = load_checkpoint(info)
    inputs = full.tokenizer("The pasta was great.", "what do you think of the food ?", return_tensors="pt")
    with torch.inference_mode():
        exact = full.model(**inputs).logits
    full.model.half().save_pretrained(folder, safe_serialization=True)  # weights and config in float16
    half = load_checkpoint(info)
    reference = load_pretrained_baseline(half, location=str(folder))
    assert {p.dtype for p in half.model.parameters()} == {torch.float32}
    assert {p.dtype for p in reference.model.parameters()} == {torch.float32}
    with torch.inference_mode():
        rounded = half.model(**inputs).logits
    assert torch.allclose(rounded, exact, atol=1e-2) and not torch.equal(rounded, exact)  # rounded, not cast back

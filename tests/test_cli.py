"""The `headscope` console command on the real demo checkpoints."""

import json

from typer.testing import CliRunner

from app.cli import cli
from app.core.embedded import DEMO_RE_LABELS


def test_models_json_lists_the_demo_checkpoints(models_dir, monkeypatch):
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["models", "--json"])
        inspected = CliRunner().invoke(cli, ["inspect", "The <e1>flood</e1> was caused by heavy <e2>rain</e2>."])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    ids = {m["id"] for m in json.loads(result.output)}
    assert {"demo-absa-qa-m", "demo-re"} <= ids
    assert inspected.exit_code == 0, inspected.output
    assert inspected.output.split()[0] in DEMO_RE_LABELS  # the predicted label comes first
    assert "<e1>" in inspected.output  # then the tokens, markers included


def test_prepare_reuses_current_checkpoints(models_dir, monkeypatch):
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["prepare"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and "are current" in result.output

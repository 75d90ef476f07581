"""docs/reference/cli.md and settings.md are what tools/cli_reference.py writes from the code today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "tools" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.mark.parametrize("name", ["cli.md", "settings.md"])
def test_reference_is_up_to_date(name: str) -> None:
    path = ROOT / "docs" / "reference" / name
    expected = tool.outputs()[path]
    assert path.read_text(encoding="utf-8") == expected, (
        f"docs/reference/{name} is out of date: run .venv/bin/python tools/cli_reference.py and commit it"
    )


def test_cli_reference_names_every_command_and_option() -> None:
    text = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    for path, command in tool.walk(tool.cli_command())[1:]:
        assert f"## `headscope {' '.join(path)}`" in text
        for param in command.params:
            for name in getattr(param, "opts", []):
                if name.startswith("-"):
                    assert f"`{name}`" in text, (path, name)


def test_settings_reference_names_every_variable() -> None:
    from app.config import Settings

    text = (ROOT / "docs" / "reference" / "settings.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`HEADSCOPE_{name.upper()}`" in text


def test_every_setting_is_described() -> None:
    """A new setting needs a comment above it in app/config.py: that comment is its documentation."""
    from app.config import Settings

    comments = tool.field_comments((ROOT / "app" / "config.py").read_text(encoding="utf-8"))
    undescribed = [name for name in Settings.model_fields if not comments.get(name)]
    assert undescribed == [], f"settings without a comment in app/config.py: {undescribed}"

"""`headscope robustness` end to end on the real demo checkpoints: generated tests, a model test, a contrast set."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core.data.demo import demo_dataset
from app.core.robustness.context import RobustnessInputError
from app.core.robustness.run import available_tests, choose_tests, run_robustness
from app.core.robustness.settings import RobustnessSettings


@pytest.fixture()
def cli_env(models_dir, monkeypatch):
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    from app.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_runs_generated_and_model_tests_and_exports_the_suite(cli_env, tmp_path):
    out, suite = tmp_path / "r.json", tmp_path / "suite.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "robustness",
            "--model",
            "demo-re",
            "--data",
            "demo-re",
            "--train",
            "demo-re",
            "--tests",
            "q5-entity-only,q4-rule-mask,q3-k1",
            "--limit",
            "16",
            "--bootstrap",
            "50",
            "--no-progress",
            "--out",
            str(out),
            "--export-suite",
            str(suite),
        ],
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    tests = {t["test"]: t for t in written["tests"]}
    assert list(tests) == ["q5-entity-only", "q4-rule-mask", "q3-k1"]
    assert tests["q5-entity-only"]["variants"] == 16 and tests["q5-entity-only"]["debiased_accuracy"] is not None
    assert tests["q4-rule-mask"]["details"]["rules"]  # the rule words per relation are listed
    q3 = tests["q3-k1"]
    assert q3["kept_source_label"] is not None and q3["variants"] > 0
    assert all(row["edited"]["label"] == "Other" for row in q3["examples"])
    lines = suite.read_text().splitlines()
    assert len(lines) == sum(t["variants"] for t in written["tests"])
    # the exported suite goes back through the same report as a contrast set
    again = CliRunner().invoke(
        cli,
        [
            "robustness",
            "--model",
            "demo-re",
            "--data",
            "demo-re",
            "--suite",
            str(suite),
            "--limit",
            "16",
            "--bootstrap",
            "50",
            "--no-progress",
            "--out",
            str(out),
        ],
    )
    assert again.exit_code == 0, again.output
    contrast = {t["test"]: t for t in json.loads(out.read_text())["tests"]}
    assert set(contrast) == set(tests) and contrast["q4-rule-mask"]["family"] == "contrast-set"
    assert contrast["q4-rule-mask"]["variant_accuracy"] == tests["q4-rule-mask"]["variant_accuracy"]


def test_bad_requests_name_what_is_accepted(cli_env, registry):
    bad = CliRunner().invoke(cli, ["robustness", "--model", "demo-re", "--data", "demo-re", "--tests", "revtgt"])
    assert bad.exit_code == 2 and "accepted" in bad.output and "q5-entity-only" in bad.output
    names = [t["name"] for t in available_tests("absa")]
    assert "revtgt" in names and "q2-pwws" in names and "q3-k1" not in names
    with pytest.raises(RobustnessInputError, match="accepted"):
        choose_tests(["q9"], "re")
    absa = registry.get("demo-absa-qa-m")
    with pytest.raises(RobustnessInputError, match="ABSA checkpoint"):
        run_robustness(absa, demo_dataset("demo-re"), RobustnessSettings(tests=("q1-typo",)), name="demo-re")
    missing = RobustnessSettings(tests=("q4-rule-mask",), max_examples=4)
    with pytest.raises(RobustnessInputError, match="training"):
        run_robustness(registry.get("demo-re"), demo_dataset("demo-re"), missing, name="demo-re")


def test_a_baseline_model_is_scored_on_the_same_variants(registry):
    relation = registry.get("demo-re")
    settings = RobustnessSettings(tests=("q5-entity-only",), max_examples=12, bootstrap=50)
    result = run_robustness(relation, demo_dataset("demo-re"), settings, name="demo-re", baseline=relation).to_json()
    after, before = result["tests"][0], result["baseline"]["tests"][0]
    assert before["test"] == "q5-entity-only" and before["variant_accuracy"] == after["variant_accuracy"]
    with pytest.raises(RobustnessInputError, match="baseline"):
        run_robustness(
            relation, demo_dataset("demo-re"), settings, name="demo-re", baseline=registry.get("demo-absa-qa-m")
        )

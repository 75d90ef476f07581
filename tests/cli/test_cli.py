"""The `headscope` console command on the real demo checkpoints."""

import json

from typer.testing import CliRunner

from app.cli import cli
from app.core.training.demo_checkpoints import DEMO_RE_LABELS


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


def test_analyze_over_worker_processes(models_dir, monkeypatch, tmp_path):
    """`--processes N` shards the pass over worker processes here; `--ray` with it is refused, saying why."""
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    from app.config import get_settings

    common = [
        "analyze",
        "--model",
        "demo-re",
        "--data",
        "demo-re",
        "--limit",
        "16",
        "--batch-size",
        "4",
        "--no-pretrained",
        "--no-importance",
        "--no-progress",
        "--bootstrap",
        "50",
    ]
    get_settings.cache_clear()
    try:
        both = CliRunner().invoke(cli, common + ["--ray", "local", "--processes", "2"])
        sharded = CliRunner().invoke(cli, common + ["--processes", "2", "--out", str(tmp_path / "sharded.json")])
        single = CliRunner().invoke(cli, common + ["--out", str(tmp_path / "single.json")])
    finally:
        get_settings.cache_clear()
    assert both.exit_code != 0 and "--ray and --processes" in both.output
    assert sharded.exit_code == 0, sharded.output
    assert single.exit_code == 0, single.output
    labels = [json.loads((tmp_path / f"{run}.json").read_text())["heads"] for run in ("sharded", "single")]
    assert [h["labels"] for h in labels[0]] == [h["labels"] for h in labels[1]]


def test_analyze_faithfulness_reads_the_lexicon_for_plausibility(models_dir, monkeypatch, tmp_path):
    """Data without gold opinion spans: the faithfulness pass scores each head's plausibility on the lexicon's
    opinion words, as the analysis does, and leaves it out with --no-lexicon-words."""
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    from app.config import get_settings

    common = ["analyze", "--model", "demo-absa-qa-m", "--data", "demo-absa", "--limit", "4", "--no-pretrained"]
    common += ["--no-importance", "--no-progress", "--bootstrap", "20", "--js-sample", "0", "--faithfulness-limit", "2"]
    common += ["--lexicon", "app/demo_data/opinion_words"]
    get_settings.cache_clear()
    try:
        runs = {
            name: CliRunner().invoke(cli, common + flags + ["--out", str(tmp_path / f"{name}.json")])
            for name, flags in (("lexicon", []), ("none", ["--no-lexicon-words"]))
        }
    finally:
        get_settings.cache_clear()
    for run in runs.values():
        assert run.exit_code == 0, run.output
    with_words, without = (
        json.loads((tmp_path / f"{n}.json").read_text())["faithfulness"] for n in ("lexicon", "none")
    )
    assert with_words["settings"]["plausibility_pairs"] > 0
    plausibility = with_words["plausibility"]
    assert len(plausibility) == 6 and all(len(row) == 12 and all(0 <= v <= 1 for v in row) for row in plausibility)
    assert set(with_words["disagreement"]) == {"faithful", "plausible", "both", "faithful_only", "plausible_only"}
    assert without["settings"]["plausibility_pairs"] == 0 and without["plausibility"] is None
    # flow within its bound, and source against source on the same pairs, printed and written
    assert with_words["source_pairs"]["flow"] == with_words["pairs"] == with_words["settings"]["flow_pairs"]
    compared = {(d["first"], d["second"]) for d in with_words["paired"] if d["figure"] == "aopc_sufficiency"}
    assert {("flow", "random"), ("ig", "random"), ("rollout", "random")} <= compared
    assert any(first.startswith("attention:") and second == "flow" for first, second in compared)
    assert "paired differences" in runs["lexicon"].output

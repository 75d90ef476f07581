"""`headscope report` over seed groups on tiny checkpoints (tests/seed_group_support.py): two groups of two seeds
each (different random weights per seed) and a single checkpoint; every member is reported, each group's figures
are the mean and spread of its members' own rows, the two groups are compared seed by seed; a bad group exits 2
with seed_groups' message."""

from __future__ import annotations

import json

import pytest
from seed_group_support import write_perturbed_seed_group, write_tiny_seed_group  # tests/ is on sys.path
from tiny_model import TINY_ABSA_ID, write_tiny_checkpoint
from typer.testing import CliRunner

SMALL = ["--limit", "8", "--batch-size", "8", "--attacks", "hotflip", "--attack-examples", "2", "--budget", "4"]
SMALL += ["--no-pretrained-baseline", "--no-progress"]


@pytest.fixture(scope="module")
def groups_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed-groups")
    write_tiny_seed_group(folder, (13, 14), "tiny-vanilla")
    # other weights than the first group's at each seed: seed 14's copy, then that copy perturbed
    write_perturbed_seed_group(folder, folder / "tiny-vanilla-seed14", "tiny-other", (13, 14))
    write_tiny_checkpoint(folder, "absa")
    return folder


def test_two_seed_groups_and_a_checkpoint(groups_dir, tmp_path, cli_env):
    from app.cli import cli

    cli_env(HEADSCOPE_MODELS_DIR=str(groups_dir))
    out = tmp_path / "report.json"
    models = ["tiny-vanilla@13,14", "tiny-other@13,14", TINY_ABSA_ID]
    args = ["report", *[a for m in models for a in ("--model", m)], *SMALL, "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    members = ["tiny-vanilla", "tiny-vanilla-seed14", "tiny-other", "tiny-other-seed14", TINY_ABSA_ID]
    assert [m["id"] for m in report["models"]] == members  # every member reported as a checkpoint
    rows = {r["model"]: r for r in report["summary"]["rows"]}
    groups = report["seed_groups"]
    assert [e["label"] for e in groups["entries"]] == models
    vanilla = groups["entries"][0]["figures"]["in_distribution"]
    values = [rows["tiny-vanilla"]["in_distribution"], rows["tiny-vanilla-seed14"]["in_distribution"]]
    assert [v["value"] for v in vanilla["values"]] == values and vanilla["n"] == 2
    assert vanilla["mean"] == pytest.approx(sum(values) / 2) and vanilla["min"] == min(values)
    assert vanilla["sd"] == pytest.approx(abs(values[0] - values[1]) / 2**0.5)
    (paired,) = groups["paired"]  # the single checkpoint is compared with nobody
    assert (paired["a"], paired["b"], paired["seeds"]) == ("tiny-vanilla@13,14", "tiny-other@13,14", [13, 14])
    attack = paired["figures"]["adversarial"]
    differences = [rows[b]["adversarial"] - rows[a]["adversarial"] for a, b in (members[0:3:2], members[1:4:2])]
    assert [d["difference"] for d in attack["per_seed"]] == pytest.approx(differences) and attack["n"] == 2
    assert "Seed groups: mean ± SD" in result.output and "Paired: tiny-other@13,14 minus tiny-vanilla@13,14" in (
        result.output
    )
    assert "t-interval over the n seeds" in " ".join(result.output.split())


@pytest.mark.parametrize(
    "model,words",
    [
        ("tiny-vanilla@13,99", "no checkpoint for seed 99"),
        ("tiny-vanilla@13", "two or more distinct seeds"),
        ("tiny-vanilla@13,x", "two or more distinct seeds"),
    ],
)
def test_a_bad_group_exits_2_saying_why(groups_dir, cli_env, model, words):
    from app.cli import cli

    cli_env(HEADSCOPE_MODELS_DIR=str(groups_dir))
    result = CliRunner().invoke(cli, ["report", "--model", model, "--no-progress"])
    assert result.exit_code == 2 and words in " ".join(result.output.split()), result.output


def test_a_checkpoint_in_two_entries_is_refused(groups_dir, cli_env):
    from app.cli import cli

    cli_env(HEADSCOPE_MODELS_DIR=str(groups_dir))
    result = CliRunner().invoke(cli, ["report", "--model", "tiny-vanilla@13,14", "--model", "tiny-vanilla"])
    assert result.exit_code == 2 and "names a checkpoint twice" in result.output

"""`headscope analyze --model NAME@SEEDS`: each seed's analysis, then per label the heads of each seed, k of n
and the Jaccard against chance (the --out JSON and the printed table); a bad group exits 2 with its message."""

import json

import pytest
from seed_group_support import PERTURBED_GROUP  # tests/ is on sys.path
from typer.testing import CliRunner

from app.cli import cli

GROUP = PERTURBED_GROUP  # the group of the group_folder fixture (tests/cli/conftest.py)
SETTINGS = ["--data", "demo-absa", "--limit", "40", "--batch-size", "8", "--bootstrap", "200", "--no-pretrained"]
SETTINGS += ["--no-importance", "--no-agreement", "--js-sample", "0", "--no-progress", "--threads", "1"]


def test_a_group_compares_the_heads_each_seed_labels(group_folder, tmp_path):
    out = tmp_path / "group.json"
    found = CliRunner().invoke(cli, ["analyze", "--model", f"{GROUP}@13,14", *SETTINGS, "--out", str(out)])
    alone = CliRunner().invoke(
        cli, ["analyze", "--model", f"{GROUP}-seed14", *SETTINGS, "--out", str(tmp_path / "s.json")]
    )
    assert found.exit_code == 0, found.output
    assert alone.exit_code == 0, alone.output
    result = json.loads(out.read_text())
    assert result["group"] == f"{GROUP}@13,14" and [m["model"] for m in result["members"]] == [GROUP, f"{GROUP}-seed14"]
    # the group's seed 14 is that checkpoint's own analysis with the same options
    assert result["members"][1]["labelled"] == json.loads((tmp_path / "s.json").read_text())["labelled"]
    stability = result["stability"]
    assert stability["labels"], "the demo checkpoint labels heads on 40 demo pairs"
    for entry in stability["labels"]:
        sets = [{tuple(h) for h in m["labelled"].get(entry["label"], [])} for m in result["members"]]
        assert [{tuple(h) for h in heads} for heads in entry["heads"]] == sets
        assert sum(map(sum, entry["counts"])) == len(sets[0]) + len(sets[1])
        assert {tuple(h) for h in entry["in_all"]} == sets[0] & sets[1]
        (pair,) = entry["pairs"]
        assert pair["jaccard"] == pytest.approx(len(sets[0] & sets[1]) / len(sets[0] | sets[1]), abs=1e-6)
    assert f"{GROUP}@13,14: 2 seeds" in found.output and "Jaccard" in found.output
    assert stability["labels"][0]["label"] in found.output and "chance:" in found.output


def test_a_bad_group_exits_2_with_what_exists(tiny_group_folder, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["analyze", "--model", "tiny-grouped@13,15", *SETTINGS])
    malformed = runner.invoke(cli, ["analyze", "--model", "tiny-grouped@13", *SETTINGS])
    faithful = runner.invoke(cli, ["analyze", "--model", "tiny-grouped@13,14", *SETTINGS, "--faithfulness-limit", "4"])
    assert missing.exit_code == 2 and "no checkpoint for seed 15" in missing.output
    assert "seeds of 'tiny-grouped' here: 13, 14" in missing.output
    assert malformed.exit_code == 2 and "NAME@SEEDS with two or more distinct seeds" in malformed.output
    assert faithful.exit_code == 2 and "--faithfulness-limit runs on one checkpoint" in faithful.output

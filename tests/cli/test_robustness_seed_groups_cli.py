"""`headscope robustness --model NAME@SEEDS`: the suite on each seed in turn, then per test its figures over the seeds
(mean ± SD and each seed's value) and each seed's moved heads, their Jaccard against chance and k of n (the --out
JSON and the printed tables); a bad group exits 2."""

import json

import pytest
from seed_group_support import PERTURBED_GROUP, write_tiny_seed_group  # tests/ is on sys.path
from tiny_model import write_tiny_checkpoint
from typer.testing import CliRunner

from app.cli import cli
from app.core.model.seed_groups import seed_checkpoint_name
from app.core.robustness.seed_moved import moved_set

GROUP = PERTURBED_GROUP  # the group of the group_folder fixture (tests/cli/conftest.py)
SETTINGS = ["--data", "demo-absa", "--tests", "revnon,adddiff,aspect-only", "--limit", "40", "--batch-size", "8"]
SETTINGS += ["--bootstrap", "200", "--no-progress", "--threads", "1"]
PRINTED = 5.01e-4  # a printed figure (3 places) is within half its last place of the JSON's, plus float slack
FIGURES = {"source_accuracy": "source accuracy", "variant_accuracy": "variant accuracy", "flip_rate": "flip rate"}


def printed_figures(output: str) -> dict[tuple[str, str], list[str]]:
    """The figures table as printed: (test, figure) -> its cells (mean ± SD, then each seed's value)."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) > 3 and cells[1] in (*FIGURES.values(), "broken/held"):
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def number(cell: str) -> float | None:
    return None if cell == "–" else float(cell)


def assert_figures_printed(output: str, result: dict) -> None:
    """Each test's printed figures are the JSON's: mean ± SD over the seeds, then each seed's value, in seed order,
    and each seed's broken/held pairs as its own run counted them."""
    printed = printed_figures(output)
    assert {test for test, _ in printed} == {row["test"] for row in result["figures"]}
    for row in result["figures"]:
        for key, name in FIGURES.items():
            spread, (mean_sd, *per_seed) = row[key], printed[(row["test"], name)]
            assert [v["seed"] for v in spread["values"]] == [m["seed"] for m in result["members"]]
            values = [v["value"] for v in spread["values"]]
            assert [number(cell) for cell in per_seed] == pytest.approx(values, abs=PRINTED)
            mean, _, sd = mean_sd.partition(" ± ")
            assert number(mean) == pytest.approx(spread["mean"], abs=PRINTED)
            assert (number(sd) if sd else None) == pytest.approx(spread["sd"], abs=PRINTED)
        counted = [
            f"{t['broken']}/{t['held']}" for m in result["members"] for t in m["tests"] if t["test"] == row["test"]
        ]
        assert printed[(row["test"], "broken/held")][1:] == counted


def test_a_group_compares_the_heads_that_moved_in_each_seed(group_folder, tmp_path):
    out, alone_out = tmp_path / "group.json", tmp_path / "seed14.json"
    found = CliRunner().invoke(cli, ["robustness", "--model", f"{GROUP}@13,14", *SETTINGS, "--out", str(out)])
    alone = CliRunner().invoke(cli, ["robustness", "--model", f"{GROUP}-seed14", *SETTINGS, "--out", str(alone_out)])
    assert found.exit_code == 0, found.output
    assert alone.exit_code == 0, alone.output
    result, seed14 = json.loads(out.read_text()), json.loads(alone_out.read_text())
    assert result["group"] == f"{GROUP}@13,14" and [m["model"] for m in result["members"]] == [GROUP, f"{GROUP}-seed14"]
    # the group's seed 14 is that checkpoint's own run with the same options
    assert [(t["test"], t["broken"], t["held"]) for t in result["members"][1]["tests"]] == [
        (t["test"], t["broken"], t["held"]) for t in seed14["tests"]
    ]
    rows = {(row["test"], row["query_set"]): row for row in result["moved"]["tests"]}
    assert {test for test, _ in rows} == {"revnon", "adddiff", "aspect-only"}
    for t in seed14["tests"]:
        for query_set in ("focus", "cls"):
            row = rows[(t["test"], query_set)]
            assert {tuple(h) for h in row["heads"][1]} == (moved_set(t, query_set) or set())
    compared = [row for row in result["moved"]["tests"] if all(row["heads"])]
    assert compared, "the demo checkpoint and its perturbed copy both move heads on some test"
    for overlap in compared:
        sets = [{tuple(h) for h in heads} for heads in overlap["heads"]]
        (pair,) = overlap["pairs"]
        assert pair["jaccard"] == pytest.approx(len(sets[0] & sets[1]) / len(sets[0] | sets[1]), abs=1e-6)
        assert {tuple(h) for h in overlap["in_all"]} == sets[0] & sets[1]
        assert 0 < pair["chance"] < 1
    assert f"{GROUP}@13,14: 2 seeds" in found.output and "Jaccard" in found.output and "chance:" in found.output
    assert_figures_printed(found.output, result)


def test_a_bad_group_exits_2_with_what_exists(tiny_group_folder, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["robustness", "--model", "tiny-grouped@13,15", *SETTINGS])
    malformed = runner.invoke(cli, ["robustness", "--model", "tiny-grouped@13", *SETTINGS])
    baseline = runner.invoke(
        cli, ["robustness", "--model", "tiny-grouped@13,14", *SETTINGS, "--baseline-model", "tiny-grouped"]
    )
    export = runner.invoke(
        cli, ["robustness", "--model", "tiny-grouped@13,14", *SETTINGS, "--export-suite", str(tmp_path / "v.jsonl")]
    )
    assert missing.exit_code == 2 and "no checkpoint for seed 15" in missing.output
    assert "seeds of 'tiny-grouped' here: 13, 14" in missing.output
    assert malformed.exit_code == 2 and "NAME@SEEDS with two or more distinct seeds" in malformed.output
    assert baseline.exit_code == 2 and "--baseline-model runs on one checkpoint" in baseline.output
    assert export.exit_code == 2 and "--export-suite runs on one checkpoint" in export.output
    assert not (tmp_path / "v.jsonl").exists()


def test_a_group_of_mixed_tasks_exits_2_before_any_seed_runs(tiny_group_folder, tmp_path):
    # a relation checkpoint named as the aspect model's seed 15: refused before seed 13's suite runs
    write_tiny_checkpoint(tiny_group_folder, "re", model_id=seed_checkpoint_name("tiny-grouped", 15), seed=15)
    out = tmp_path / "group.json"
    mixed = CliRunner().invoke(cli, ["robustness", "--model", "tiny-grouped@13,15", *SETTINGS, "--out", str(out)])
    assert mixed.exit_code == 2 and "differ in task or shape" in mixed.output
    assert "tiny-grouped-seed15: re" in mixed.output
    assert not out.exists()


def test_a_group_of_tiny_checkpoints_runs_each_seed(tmp_path, cli_env):
    """Random tiny checkpoints: whatever they move (or, with no broken pair, leave unranked), each seed's run
    stands in the result and every test has a row per query set."""
    folder = tmp_path / "models"
    folder.mkdir()
    write_tiny_seed_group(folder, (13, 14, 15), name="tiny-grouped")
    cli_env(HEADSCOPE_MODELS_DIR=str(folder), HEADSCOPE_DEVICE="cpu")
    out = tmp_path / "tiny.json"
    found = CliRunner().invoke(cli, ["robustness", "--model", "tiny-grouped@13,14,15", *SETTINGS, "--out", str(out)])
    assert found.exit_code == 0, found.output
    result = json.loads(out.read_text())
    assert result["moved"]["seeds"] == [13, 14, 15] and len(result["members"]) == 3
    for row in result["moved"]["tests"]:
        assert len(row["pairs"]) == 3 and len(row["broken_held"]) == 3
        assert all(seed in (13, 14, 15) for seed in row["unranked"])
    assert_figures_printed(found.output, result)

"""Model reports, core and CLI: ECE, temperature scaling and anomaly detection against their definitions on
hand-built probabilities; the data plan of the demo checkpoints (held-out test and dev halves, the other
task's text out of domain, no shifted set and why), with the shared benchmarks when present; bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from app.core.data.demo import demo_dataset
from app.core.data.prepared import prepare
from app.core.data.sources import load_data_source
from app.core.model.checkpoint import CheckpointInfo
from app.core.report.calibration import (
    Calibration,
    calibration,
    expected_calibration_error,
    fit_temperature,
    reliability,
)
from app.core.report.metrics import set_metrics
from app.core.report.ood import EmptySetError, anomaly_scores
from app.core.report.plan import ReportInputError, plan_report
from app.core.report.run import temperature_note
from app.core.report.settings import ReportSettings
from app.core.training.loop import split_dev

SHARED = os.environ.get("HEADSCOPE_SHARED_DATA")
needs_shared = pytest.mark.skipif(not SHARED, reason="HEADSCOPE_SHARED_DATA not set")


def load(name):
    return load_data_source(name, shared_data=Path(SHARED) if SHARED else None, allow_paths=True)


# --- calibration ---------------------------------------------------------------------------------

PROBS = torch.tensor(
    [[0.95, 0.05], [0.15, 0.85], [0.55, 0.45], [0.35, 0.65], [0.72, 0.28], [0.22, 0.78]], dtype=torch.float64
)
GOLD = torch.tensor([0, 0, 0, 1, 1, 1])


def test_ece_by_its_definition():
    # top-1 confidences .95 .85 .55 .65 .72 .78, right: yes no yes yes no yes
    # bins of 0.1: [.5,.6) {.55 right}, [.6,.7) {.65 right}, [.7,.8) {.72 wrong, .78 right}, [.8,.9) {.85 wrong},
    # [.9,1] {.95 right}: ECE = (|1-.55| + |1-.65| + 2|.5-.75| + |0-.85| + |1-.95|) / 6
    expected = (0.45 + 0.35 + 2 * 0.25 + 0.85 + 0.05) / 6
    assert expected_calibration_error(PROBS, GOLD, 10) == pytest.approx(expected, abs=1e-9)
    rows = reliability(PROBS, GOLD, 10)
    assert [r["count"] for r in rows] == [0, 0, 0, 0, 0, 1, 1, 2, 1, 1]
    assert rows[7]["accuracy"] == 0.5 and rows[7]["confidence"] == pytest.approx(0.75)
    assert ece_of_diagram(rows) == pytest.approx(expected, abs=1e-9)
    # a label the model lacks (-1) is always wrong
    assert expected_calibration_error(PROBS[:1], torch.tensor([-1]), 10) == pytest.approx(0.95)


def ece_of_diagram(rows: list[dict]) -> float:
    """sum (n_b / n) |acc_b - conf_b| over a reliability diagram's bins: what the diagram shows, as one number."""
    total = sum(r["count"] for r in rows)
    return sum(r["count"] / total * abs(r["accuracy"] - r["confidence"]) for r in rows if r["count"])


def test_the_diagram_bins_confidences_on_an_edge_as_the_ece_does():
    # top-1 confidences that are bin edges as torchmetrics computes them: for 20 bins the edge 11/20 is
    # 0.5499999999999999 in float64, where int(confidence * bins) would say bin 10 and the ECE's binning bin 11
    for bins in (20, 22, 25):
        edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
        confidence = edges[(edges >= 0.5) & (edges < 1)]
        probabilities = torch.stack([confidence, 1 - confidence], dim=-1)
        gold = torch.arange(len(confidence)) % 3 % 2  # right, wrong, right, right, wrong, ...
        assert ece_of_diagram(reliability(probabilities, gold, bins)) == pytest.approx(
            expected_calibration_error(probabilities, gold, bins), abs=1e-12
        )


def test_temperature_scaling_recovers_a_known_temperature():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6000, 4, generator=generator, dtype=torch.float64) * 3
    gold = torch.multinomial((logits / 2.5).softmax(-1), 1, generator=generator).squeeze(1)
    assert fit_temperature(logits, gold) == pytest.approx(2.5, rel=0.1)
    scaled = calibration(logits, gold, 2.5, 10)
    assert scaled.ece_scaled < scaled.ece and scaled.ece_scaled < 0.03  # well calibrated once divided by T
    assert scaled.accuracy == pytest.approx(float((logits.argmax(-1) == gold).double().mean()))
    assert fit_temperature(logits[:5], gold[:5]) is None  # too few dev inputs


# --- anomaly detection ---------------------------------------------------------------------------


def test_anomaly_scores_by_their_definitions():
    inside, outside = np.array([0.9, 0.8, 0.7]), np.array([0.6, 0.75, 0.2])
    found = anomaly_scores(inside, outside)
    assert found["auroc"] == pytest.approx(8 / 9)  # P(score_in > score_out) over the 9 pairs
    # ranked: .9 in, .8 in, .75 out, .7 in, .6 out, .2 out: precision at each positive 1, 1, 3/4
    assert found["aupr"] == pytest.approx((1 + 1 + 0.75) / 3)
    assert found["fpr_at_95_tpr"] == pytest.approx(1 / 3)  # every in-distribution input accepted: .75 too
    assert found["roc"]["fpr"][0] == 0 and found["roc"]["tpr"][-1] == 1
    with pytest.raises(EmptySetError, match="0 out-of-domain"):
        anomaly_scores(inside, np.array([]))


def test_category_metrics_headline():
    info = CheckpointInfo(
        "m", Path("m"), "absa", "qa-m", ("positive", "neutral", "negative", "conflict", "none"), 2, 2, 128, "bert"
    )
    from app.core.inputs.units import UnitSpec

    specs = [UnitSpec("s", "t", "food", polarity=p) for p in ("positive", "none", "negative", "none")]
    probs = np.array([[0.9, 0, 0, 0, 0.1], [0, 0, 0, 0, 1], [0.6, 0, 0.4, 0, 0], [0.2, 0, 0, 0, 0.8]])
    metrics = set_metrics(info, specs, probs)
    assert metrics["headline"]["f1"] == metrics["aspect_f1"] == 1.0  # present exactly where gold says
    assert metrics["headline"]["accuracy"] == metrics["accuracy_3way"] == 0.5
    assert metrics["accuracy"] == 0.75 and metrics["n"] == 4


# --- the data plan -------------------------------------------------------------------------------


def test_demo_plan_without_shared_data(registry):
    settings = ReportSettings(max_examples=None)
    absa = plan_report(registry.info("demo-absa-qa-m"), settings, None, load)
    test, dev = absa.of("test")[0], absa.of("dev")[0]
    test_ids, dev_ids = {s.sentence_id for s in test.specs}, {s.sentence_id for s in dev.specs}
    assert test_ids and dev_ids and not test_ids & dev_ids
    # both halves come from the checkpoint's own held-out split: nothing it trained on
    info = registry.info("demo-absa-qa-m")
    examples = demo_dataset("demo-absa").examples
    groups = prepare("absa", "qa-m", examples, labels=info.labels).groups
    _, held = split_dev([type("G", (), {"group": g})() for g in dict.fromkeys(groups)], 0.15, 13)
    assert test_ids | dev_ids == {g.group for g in held}
    assert [o.data for o in absa.of("ood")] == ["demo-re"]  # relation sentences as out-of-domain text
    assert "HEADSCOPE_SHARED_DATA" in absa.missing["shift"]  # said, not a silent zero
    relation = plan_report(registry.info("demo-re"), settings, None, load)
    assert [o.data for o in relation.of("ood")] == ["demo-absa"]
    assert "relation test set from another domain" in relation.missing["shift"]


def test_bad_shift_and_ood_data_are_refused(registry, tmp_path):
    info = registry.info("demo-re")
    with pytest.raises(ReportInputError) as caught:
        plan_report(info, ReportSettings(shift=("demo-absa",)), None, load)
    assert caught.value.field == "settings.shift" and "cannot be scored by demo-re" in str(caught.value)
    other = tmp_path / "other-labels.jsonl"
    other.write_text(json.dumps({"text": "The <e1>cat</e1> sat on the <e2>mat</e2>.", "relation": "located-on"}) + "\n")
    with pytest.raises(
        ReportInputError, match="labels the model does not: located-on; the model's labels: Cause-Effect"
    ):
        plan_report(info, ReportSettings(shift=(str(other),)), None, load)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ReportInputError, match="gives demo-re no inputs") as caught:
        plan_report(info, ReportSettings(ood=(str(empty),)), None, load)
    assert caught.value.field == "settings.ood"
    unknown = CheckpointInfo("plain", Path("plain"), "re", "re-markers", ("a", "b"), 2, 2, 128, "bert")
    with pytest.raises(ReportInputError, match="no test data"):
        plan_report(unknown, ReportSettings(), None, load)


def test_the_cli_refuses_bad_input(tiny_models_dir, tmp_path, cli_env):
    """Refusals need a relation checkpoint, not a trained one: the tiny one (tests/tiny_model.py)."""
    from tiny_model import TINY_RE_ID

    from app.cli import cli

    cli_env(HEADSCOPE_MODELS_DIR=str(tiny_models_dir))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(cli, ["report", "--model", TINY_RE_ID, "--ood", str(empty), "--no-progress"])
    assert result.exit_code == 2 and f"gives {TINY_RE_ID} no inputs" in result.output
    result = CliRunner().invoke(cli, ["report", "--model", TINY_RE_ID, "--attacks", "fgsm", "--no-progress"])
    assert result.exit_code == 2 and "pwws" in result.output and "hotflip" in result.output
    result = CliRunner().invoke(cli, ["report", "--model", "nope", "--no-progress"])
    assert result.exit_code == 2 and "nope" in result.output


def test_the_cli_report_on_a_demo_checkpoint(models_dir, tmp_path, cli_env):
    from app.cli import cli

    cli_env(HEADSCOPE_MODELS_DIR=str(models_dir), HEADSCOPE_DEVICE="cpu")  # (the batch size it records is a CPU's)

    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--model",
            "demo-re",
            "--limit",
            "24",
            "--attacks",
            "hotflip",
            "--attack-examples",
            "2",
            "--budget",
            "8",
            "--no-progress",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    model = report["models"][0]
    assert model["in_distribution"]["n"] == 24 and model["calibration"]["temperature"] > 0
    assert model["anomaly"]["sets"][0]["n_out"] == 24 and 0 <= model["anomaly"]["sets"][0]["auroc"] <= 1
    assert 1 <= model["adversarial"]["attacks"]["hotflip"]["n"] <= 2  # attacked: the correct ones of the two
    # no --batch-size: the settings leave it open, the model's section says the batch its pass ran (a CPU's default)
    assert report["settings"]["batch_size"] is None and model["batch_size"] == 32
    pretrained = model["interpretability"]["pretrained"]
    assert pretrained is None or 0 <= pretrained <= 1
    assert "Model report" in result.output and "demo-re" in result.output


# --- with the shared benchmarks ------------------------------------------------------------------


@needs_shared
def test_shared_plan_adds_the_real_test_and_shifted_sets(registry):
    shared = Path(SHARED)
    settings = ReportSettings(max_examples=40)
    absa = plan_report(registry.info("demo-absa-qa-m"), settings, shared, load)
    assert absa.of("test")[0].data == "semeval2014_task4/xml/Restaurants_Test_Gold.xml"
    assert absa.of("dev")[0].data == "demo-absa"  # the checkpoint's own held-out split fits the temperature
    (mams,) = absa.of("shift")
    assert mams.data == "mams/acsa/val.xml" and set(mams.categories) == {"food", "service", "price", "ambience"}
    assert {o.data for o in absa.of("ood")} == {"semeval2010_task8/TEST_FILE_FULL.TXT", "sentihood/sentihood-test.json"}
    term = CheckpointInfo(
        "terms", Path("terms"), "absa", "term", ("positive", "neutral", "negative"), 6, 12, 128, "bert"
    )
    plan = plan_report(term, settings, shared, load)
    assert plan.of("test")[0].data.endswith("Restaurants_Test_Gold.xml")
    assert plan.of("test")[0].note.startswith("80%")  # no training record: 20% of the test fits the temperature
    assert {s.data for s in plan.of("shift")} == {"semeval2014_task4/xml/Laptops_Test_Gold.xml", "mams/atsa/val.xml"}
    relation = plan_report(registry.info("demo-re"), settings, shared, load)
    assert relation.of("test")[0].data == "semeval2010_task8/TEST_FILE_FULL.TXT"
    assert not relation.of("shift") and "shift" in relation.missing


@needs_shared
def test_category_model_on_data_without_shared_categories_is_refused(registry):
    from app.core.report.plan import shift_set

    dataset = load("mams/acsa/val.xml")
    found = shift_set(registry.info("demo-absa-qa-m"), "mams/acsa/val.xml", dataset, 10, ["location"], strict=False)
    assert not found.specs and "no aspect category in common" in found.note
    with pytest.raises(ReportInputError, match="no aspect category in common"):
        shift_set(registry.info("demo-absa-qa-m"), "mams/acsa/val.xml", dataset, 10, ["location"], strict=True)


def test_a_temperature_that_worsens_the_test_sets_calibration_is_flagged():
    def test_set(ece, scaled):
        return Calibration(n=200, ece=ece, ece_scaled=scaled, reliability=[], reliability_scaled=[], accuracy=0.3)

    worse = temperature_note(0.45, test_set(0.306, 0.569), "demo-re dev", 48)
    assert "worse" in worse and "0.306 → 0.569" in worse and "48 inputs" in worse
    assert temperature_note(1.7, test_set(0.2, 0.05), "dev", 48) is None
    assert "not fitted" in temperature_note(None, test_set(0.2, None), "dev", 4)

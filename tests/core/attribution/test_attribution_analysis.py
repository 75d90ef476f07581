"""Agreement with attribution over a dataset, as `headscope analyze` computes it on the demo checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from scipy.stats import spearmanr
from typer.testing import CliRunner

from app.cli import cli
from app.core.attribution.live import AttributionRequest, attribute
from app.core.attribution.tokens import content_mask
from app.core.data.demo import demo_dataset
from app.core.heads.analysis import analyze
from app.core.heads.labels import DEFAULT_RULE
from app.core.heads.result import upgrade_result
from app.core.heads.settings import AnalysisSettings
from app.core.inputs.units import encode_unit, unit_specs
from app.core.model.pretrained import load_pretrained_baseline
from app.core.passes.inspection import InspectionInput, inspect

SETTINGS = AnalysisSettings(
    max_examples=32, batch_size=16, bootstrap=100, js_sample=0, importance=False, ig=True, ig_steps=4, ig_limit=24
)  # 24: the rule needs >= 20 pairs to label


@pytest.fixture(scope="module")
def analysed(absa):
    return analyze(absa, demo_dataset("demo-absa"), SETTINGS, pretrained=load_pretrained_baseline(absa))


def test_per_head_agreement_with_cis_and_baselines(analysed):
    result = analysed.to_json()
    assert {"rollout_agreement", "ig_agreement"} <= set(result["statistics"])
    for head in result["heads"]:
        rollout, ig = head["statistics"]["rollout_agreement"], head["statistics"]["ig_agreement"]
        assert rollout["n"] == 32 and ig["n"] == 24
        for entry in (rollout, ig):
            assert -1 <= entry["ci"][0] <= entry["score"] <= entry["ci"][1] <= 1
            assert entry["baselines"]["uniform"] == 0  # a uniform row ranks nothing
            assert entry["baselines"]["pretrained"] is not None and entry["baselines"]["positional_rule"]
    section = result["attribution"]
    assert section["examples"] == {"ig_agreement": 24, "rollout_agreement": 32}
    assert section["ig"]["steps"] == 4 and section["ig"]["examples"] == 24 and section["ig"]["pairs_per_s"] > 0
    assert 0 <= section["ig"]["mean_relative_gap"] <= section["ig"]["max_relative_gap"]
    rate = section["interpretability"]
    assert (
        rate["examples"] > 0 and 0 <= rate["rate"] <= 1 and rate["attention_rate"] == result["interpretability"]["rate"]
    )
    assert result["support"]["attribution"]["examples"] == 24
    assert "ig" in result["timings_s"] and result["settings"]["ig_steps"] == 4


def test_attribution_label_follows_the_rule(analysed):
    result = analysed.to_json()
    assert result["rule"]["labels"]["attribution"] == ["ig_agreement"]
    for head in result["heads"]:
        entry = head["statistics"]["ig_agreement"]
        best = max(0.0, entry["baselines"]["best"])
        earned = (
            entry["n"] >= DEFAULT_RULE.min_examples
            and entry["ci"][0] > DEFAULT_RULE.threshold(torch.tensor(best)).item()
        )
        assert ("attribution" in head["labels"]) == earned, (head["layer"], head["head"])


@pytest.mark.parametrize(
    "statistic,method,tolerance", [("rollout_agreement", "rollout", 2e-3), ("ig_agreement", "ig", 1e-2)]
)
def test_typical_pair_scores_match_the_live_inspection(absa, analysed, statistic, method, tolerance):
    """A typical pair's score, recomputed from one live inspection of that pair and scipy's Spearman."""
    head = max(analysed.heads, key=lambda h: h.statistics[statistic].score)
    index, score = head.statistics[statistic].typical[0]
    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples))
    spec = specs[index]
    unit = encode_unit(absa, spec, None, 128)
    inspection = inspect(absa, InspectionInput(spec.text, spec.aspect, spec.term_spans[0] if spec.term_spans else None))
    assert inspection.encoded.input_ids == unit.encoded.input_ids
    report = attribute(absa, inspection, AttributionRequest((method,), ig_steps=4))
    keep = content_mask(inspection.encoded)
    row = inspection.attention[head.layer, head.head, 0]
    expected = spearmanr(row[keep].numpy(), report.scores[method].abs()[keep].numpy()).statistic
    assert score == pytest.approx(expected, abs=tolerance)


def test_older_results_and_bad_settings():
    upgraded = upgrade_result({"version": 3, "heads": []})
    assert upgraded["version"] == 4 and upgraded["attribution"] is None
    with pytest.raises(ValueError, match="turn agreement on too"):
        AnalysisSettings(ig=True, agreement=False)
    with pytest.raises(ValueError, match="less than or equal to 256"):
        AnalysisSettings(ig=True, ig_steps=257)


def test_cli_prints_ig_pairs_per_second(models_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    from app.config import get_settings

    get_settings.cache_clear()
    out = tmp_path / "result.json"
    try:
        run = CliRunner().invoke(
            cli,
            [
                "analyze",
                "--model",
                "demo-re",
                "--data",
                "demo-re",
                "--limit",
                "16",
                "--no-pretrained",
                "--no-importance",
                "--bootstrap",
                "50",
                "--no-progress",
                "--ig",
                "--ig-steps",
                "4",
                "--ig-limit",
                "8",
                "--out",
                str(out),
            ],
        )
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    assert "integrated gradients: 8 pairs x 4 steps" in run.output and "pairs/s" in run.output
    assert "interpretability rate with IG instead of attention" in run.output
    assert json.loads(out.read_text())["attribution"]["ig"]["examples"] == 8

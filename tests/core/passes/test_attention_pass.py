"""The one attention pass and the analysis probes, on a tiny seeded BERT with known answers."""

from __future__ import annotations

import json
import math

import pytest
import torch
from tiny_model import tiny_checkpoint

from app.core.data.demo import demo_dataset
from app.core.heads import probes
from app.core.heads.analysis import analyze
from app.core.heads.result import RESULT_VERSION, upgrade_result
from app.core.heads.settings import AnalysisSettings
from app.core.heads.statistics import token_sets
from app.core.inputs.units import encode_unit, unit_specs
from app.core.passes.attention_pass import PassBatch, Stopwatch, attention_pass


@pytest.fixture(scope="module")
def uniform_absa():
    return tiny_checkpoint("absa", uniform=True)


@pytest.fixture(scope="module")
def absa_specs(uniform_absa):
    specs, pairing = unit_specs(uniform_absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    assert pairing == "terms"
    return specs[:11]


class Recorder:
    timing = "recorder"

    def __init__(self) -> None:
        self.batches: list[PassBatch] = []

    def observe(self, batch: PassBatch) -> None:
        self.batches.append(batch)


def test_every_item_is_observed_once_in_batches(uniform_absa, absa_specs):
    recorder, calls, runs = Recorder(), [], []

    def runner(work):
        runs.append(1)
        return work()

    stopwatch = Stopwatch()
    summary = attention_pass(
        uniform_absa,
        absa_specs,
        lambda s: encode_unit(uniform_absa, s),
        [recorder],
        batch_size=4,
        runner=runner,
        progress=lambda *c: calls.append(c),
        phase="p",
        stopwatch=stopwatch,
    )
    assert summary.items == 11 and summary.skipped == 0 and summary.observed == 11
    assert [i for b in recorder.batches for i in b.indices] == list(range(11))
    assert [len(b.units) for b in recorder.batches] == [4, 4, 3] and len(runs) == 3
    assert calls == [(4, 11, "p"), (8, 11, "p"), (11, 11, "p")]
    assert {"forward", "recorder"} <= set(stopwatch.seconds)
    first = recorder.batches[0]
    assert first.attention.shape[:3] == (4, 2, 2) and first.reference_attention is None
    assert torch.equal(first.valid.sum(-1), torch.tensor([len(u.encoded.input_ids) for u in first.units]))


def test_items_that_cannot_be_encoded_are_skipped_and_counted(uniform_absa, absa_specs):
    recorder = Recorder()
    summary = attention_pass(
        uniform_absa,
        absa_specs[:5],
        lambda s: None if s is absa_specs[2] else encode_unit(uniform_absa, s),
        [recorder],
        batch_size=2,
    )
    assert summary.skipped == 1 and [i for b in recorder.batches for i in b.indices] == [0, 1, 3, 4]


def test_uniform_heads_give_the_known_statistics(uniform_absa, absa_specs):
    """With zeroed query/key projections every head attends uniformly: mass(Q -> K) = |K| / n, entropy = ln n."""
    probe = probes.StatisticsProbe("absa")
    attention_pass(uniform_absa, absa_specs, lambda s: encode_unit(uniform_absa, s), [probe], batch_size=4)
    units = [encode_unit(uniform_absa, s) for s in absa_specs]
    lengths = torch.tensor([len(u.encoded.input_ids) for u in units], dtype=torch.float32)
    to_cls = probe.scores.values("to_cls")
    entropy = probe.scores.values("entropy")
    assert torch.allclose(to_cls, (1 / lengths)[:, None, None].expand_as(to_cls), atol=1e-6)
    assert torch.allclose(entropy, lengths.log()[:, None, None].expand_as(entropy), atol=1e-5)
    terms = torch.tensor([len(token_sets(u.encoded)["aspect_term"]) for u in units], dtype=torch.float32)
    aspect = probe.scores.values("aspect_mass")
    assert torch.allclose(aspect, (terms / lengths)[:, None, None].expand_as(aspect), atol=1e-6)


def test_a_reference_equal_to_the_model_changed_nothing(absa_specs):
    model = tiny_checkpoint("absa", seed=3)
    change, pretrained, statistics = (
        probes.FinetuneChangeProbe("absa"),
        probes.PretrainedBaselineProbe("absa"),
        probes.StatisticsProbe("absa"),
    )
    recorder = Recorder()
    attention_pass(
        model,
        absa_specs,
        lambda s: encode_unit(model, s),
        [statistics, pretrained, change, recorder],
        reference=model,
        batch_size=5,
    )
    assert change.change.values("js").abs().max() < 1e-6
    for name in ("to_cls", "aspect_mass", "entropy"):
        assert torch.allclose(pretrained.pretrained.mean(name), statistics.scores.mean(name), atol=1e-5)
    batch = recorder.batches[0]  # the statistics were computed once and shared
    assert "statistics" in batch.derived and "masks" in batch.derived


def test_analysis_on_the_tiny_model_is_strict_json_in_the_current_shape(uniform_absa):
    settings = AnalysisSettings(max_examples=24, batch_size=8, bootstrap=50, js_sample=4, importance=False)
    result = analyze(uniform_absa, demo_dataset("demo-absa"), settings, pretrained=uniform_absa).to_json()
    text = json.dumps(result, allow_nan=False)
    assert result["version"] == RESULT_VERSION and result["data"]["pairs"] == 24
    assert len(result["heads"]) == 4 and result["head_map"]["examples"] == 4
    entry = result["heads"][0]["statistics"]["to_cls"]
    assert entry["margin"] == pytest.approx(entry["ci"][0] - entry["baselines"]["best"], abs=2e-6)
    assert "NaN" not in text and upgrade_result(json.loads(text)) == result


def test_results_of_an_older_version_are_upgraded():
    old = {
        "version": 2,
        "heads": [
            {
                "statistics": {
                    "s": {
                        "ci": [0.5, 0.7],
                        "baselines": {"uniform": 0.1, "positional": 0.3, "positional_rule": "next", "pretrained": None},
                    }
                }
            }
        ],
    }
    entry = upgrade_result(old)["heads"][0]["statistics"]["s"]
    assert old["version"] == RESULT_VERSION and entry["baselines"]["best"] == 0.3
    assert entry["margin"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="newer"):
        upgrade_result({"version": RESULT_VERSION + 1})


def test_settings_bound_what_the_cli_and_web_accept():
    with pytest.raises(ValueError):
        AnalysisSettings(batch_size=0)
    with pytest.raises(ValueError):
        AnalysisSettings(unknown=1)
    assert math.isclose(AnalysisSettings().bootstrap, 1000)


def test_cli_and_web_defaults_are_the_settings_model_defaults():
    import typer.main

    from app.cli import cli
    from app.web.analysis_jobs import AnalysisRequest

    command = typer.main.get_command(cli).commands["analyze"]
    fields = AnalysisSettings.model_fields
    options = {"use_lexicon": "lexicon"}
    checked = set()
    for param in command.params:
        name = options.get(param.name, param.name)
        if name in fields:
            default = fields[name].get_default(call_default_factory=True)
            assert (tuple(param.default) if name == "ablate_labels" else param.default) == default, name
            checked.add(name)
    assert checked == set(fields), set(fields) - checked
    web = AnalysisRequest.model_validate({"model": "m", "data": "demo-absa"}).settings
    assert web == AnalysisSettings()


def test_groups_are_never_split_across_batches():
    from app.core.passes.attention_pass import batch_bounds

    items = ["a", "a", "b", "b", "b", "c", "d", "d", "d", "d", "d", "e"]
    bounds = batch_bounds(items, 4, group=lambda x: x)
    assert bounds == [(0, 2), (2, 6), (6, 11), (11, 12)]
    assert batch_bounds(items, 5) == [(0, 5), (5, 10), (10, 12)]
    for start, stop in bounds:
        assert all(items[i] != items[stop] for i in range(start, stop)) if stop < len(items) else True

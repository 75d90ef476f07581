"""`headscope train` (fine-tune, or run a recipe) and `headscope evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from app.cli.common import console, fail
from app.config import get_settings

evaluate_app = typer.Typer()
train_app = typer.Typer(help="Fine-tune a checkpoint on ABSA or RE data, or from a recipe in models/recipes/.")

# RoAST and its ablations (app/core/training/roast.py); None: the method's default, recorded in the model card.
METHOD_FIELDS = (
    "adv_eps",
    "adv_norm",
    "kl_coeff",
    "kl_both_sides",
    "alpha",
    "beta",
    "unbiased_scale",
    "fisher_fraction",
)
METHOD_OPT = typer.Option(
    "vanilla",
    "--method",
    help="fine-tuning method: vanilla, roast (adversarial perturbation with "
    "selective training, Kim et al. 2023), or its halves adv-only and "
    "selective-only",
)
ADV_EPS_OPT = typer.Option(
    None,
    "--adv-eps",
    help="roast, adv-only: perturbation size on the embedding output, "
    "per token after normalising the gradient (default 0.1)",
)
ADV_NORM_OPT = typer.Option(
    None, "--adv-norm", help="roast, adv-only: the per-token normalisation, linf (default) or l2"
)
KL_OPT = typer.Option(
    None,
    "--kl-coeff",
    help="roast, adv-only: weight of the symmetric-KL consistency between clean "
    "and perturbed predictions (default 0.01)",
)
KL_BOTH_OPT = typer.Option(
    None,
    "--kl-both-sides/--kl-perturbed-side",
    help="roast, adv-only: back-propagate the consistency into the clean pass too (as the paper's "
    "code; one more backward) or only into the perturbed one (default)",
)
ALPHA_OPT = typer.Option(
    None,
    "--alpha",
    help="roast, selective-only: keep-probability midpoint on the relative importance scale, in [0, 1] (default 0.9)",
)
BETA_OPT = typer.Option(None, "--beta", help="roast, selective-only: keep-probability sharpness > 0 (default 10)")
UNBIASED_OPT = typer.Option(
    None,
    "--unbiased-scale/--no-unbiased-scale",
    help="roast, selective-only: divide kept gradients by their keep probability (default on)",
)
FISHER_OPT = typer.Option(
    None,
    "--fisher-fraction",
    help="roast, selective-only: share of the first epoch's batches "
    "for the first mask's Fisher, in (0, 1] (default 0.1)",
)


@train_app.callback(invoke_without_command=True)
def train(
    ctx: typer.Context,
    recipe: str | None = typer.Option(None, "--recipe", help="train a recipe (data under HEADSCOPE_SHARED_DATA)"),
    list_recipes: bool = typer.Option(False, "--list-recipes", help="name the recipes and exit"),
    out: str | None = typer.Option(None, help="with --recipe: checkpoint name (default: the recipe's name)"),
    epochs: int | None = typer.Option(None, help="with --recipe: override its epochs"),
    seeds: str | None = typer.Option(
        None,
        "--seeds",
        help="with --recipe: train once per seed (e.g. 13,14,15) into <out>-seed<N>, grouped for report and analyze",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    method: str | None = typer.Option(
        None,
        "--method",
        help="with --recipe: override its fine-tuning method (vanilla, roast, adv-only, selective-only)",
    ),
    adv_eps: float | None = ADV_EPS_OPT,
    adv_norm: str | None = ADV_NORM_OPT,
    kl_coeff: float | None = KL_OPT,
    kl_both_sides: bool | None = KL_BOTH_OPT,
    alpha: float | None = ALPHA_OPT,
    beta: float | None = BETA_OPT,
    unbiased_scale: bool | None = UNBIASED_OPT,
    fisher_fraction: float | None = FISHER_OPT,
) -> None:
    """`headscope train absa|re ...`, `headscope train --recipe NAME`, `headscope train --list-recipes`."""
    from app.core.training import recipes as recipes_mod

    if ctx.invoked_subcommand is not None:
        if recipe or list_recipes:
            fail("--recipe and --list-recipes go without the absa/re subcommand")
        return
    if list_recipes:
        for r in recipes_mod.list_recipes():
            console.print(
                f"[bold]{r.name}[/bold]  {r.spec.get('task')}/{r.spec.get('format')}  {r.description}", soft_wrap=True
            )
        return
    if not recipe:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    settings = get_settings()
    try:
        from app.core.model.checkpoint import pick_device

        given = method_options(locals())
        overrides = {"out": out, "epochs": epochs, "method": method, "method_settings": given}
        device = pick_device(settings.device)
        where = (settings.models_dir, settings.shared_data)
        if seeds is not None:
            seed_list = recipes_mod.parse_seeds(seeds)
            results = recipes_mod.run_recipe_seeds(
                recipe, seed_list, *where, progress=progress, overrides=overrides, device=device
            )
        else:
            results = [recipes_mod.run_recipe(recipe, *where, progress=progress, overrides=overrides, device=device)]
    except (recipes_mod.RecipeError, ValueError) as exc:
        fail(str(exc))
    for result in results:
        _report(result)


def _report(result) -> None:
    console.print(f"trained {result.path} in {result.train_time_s:.0f}s", soft_wrap=True)
    print(json.dumps(result.metrics))


def method_options(options: dict) -> dict:
    """The RoAST settings the command was given (app.core.training.roast.MethodSettings' names), checked against the
    method before any data is read: an unknown method or a bad or unused setting exits naming what is accepted."""
    from app.core.training.roast import MethodError, method_settings

    given = {name: options.get(name) for name in METHOD_FIELDS if options.get(name) is not None}
    try:
        method_settings(options.get("method") or "vanilla", given)
    except MethodError as exc:
        if options.get("method") is not None:  # with --recipe and no --method: checked against the recipe's method
            fail(str(exc))
    return given


# The options `train absa` and `train re` share, by TrainSpec's field names (the option's own name where it differs).
SPEC_OPTIONS = {
    "train": "data",
    "out": "out",
    "test": "test",
    "data_format": "data_format",
    "base": "base",
    "epochs": "epochs",
    "learning_rate": "lr",
    "batch_size": "batch_size",
    "max_length": "max_length",
    "seed": "seed",
    "dev_fraction": "dev_fraction",
    "patience": "patience",
    "class_weighting": "class_weighting",
    "method": "method",
}


def _train_task(options: dict, **fields) -> None:
    """Build the TrainSpec from a train command's options (its locals()) and the task's own `fields`, then train it;
    bad input exits with its message (the RoAST settings are checked before any data is read)."""
    from app.core.data.readers import DatasetError
    from app.core.training.recipes import RecipeError, TrainSpec, shared_lexicon, train_on_data

    method_given = method_options(options)
    fields |= {field: options[option] for field, option in SPEC_OPTIONS.items()}
    progress, augment = options["progress"], options["augment"]
    fields["method_settings"] = method_given or None
    fields["lexicon"] = shared_lexicon(get_settings().shared_data)
    fields["augment"] = tuple(t.strip() for t in augment.split(",") if t.strip())
    for name in ("train", "test"):
        fields[name] = str(fields[name]) if fields[name] else None
    try:
        from app.core.model.checkpoint import pick_device

        settings = get_settings()
        result = train_on_data(
            TrainSpec(**fields), settings.models_dir, progress=progress, device=pick_device(settings.device)
        )
    except (DatasetError, RecipeError, ValueError) as exc:
        fail(str(exc))
    _report(result)


# TrainingArgs' defaults, written out so `headscope --help` does not import torch
# (tests/test_train_cli.py checks they stay equal).
TRAIN_DEFAULTS = {
    "epochs": 4,
    "learning_rate": 5e-5,
    "batch_size": 16,
    "max_length": 128,
    "seed": 13,
    "dev_fraction": 0.15,
    "class_weighting": "none",
}


def _default(name: str):
    return TRAIN_DEFAULTS[name]


DATA_OPT = typer.Option(..., "--data", help="training data file (format from its name, or --data-format)")
TEST_OPT = typer.Option(None, "--test", help="test file: evaluated at the end, metrics stored in headscope.json")
DATA_FORMAT_OPT = typer.Option(
    None, "--data-format", help="loader name, e.g. semeval2014, mams-atsa, semeval2010, jsonl"
)
OUT_OPT = typer.Option(..., "--out", help="checkpoint name under the models folder")
BASE_OPT = typer.Option("embedded", "--base", help="base model: 'embedded' (MiniLM-L6) or a Hugging Face folder")
EPOCHS_OPT = typer.Option(_default("epochs"), "--epochs")
LR_OPT = typer.Option(_default("learning_rate"), "--lr", help="peak learning rate (linear warm-up and decay)")
BATCH_OPT = typer.Option(_default("batch_size"), "--batch-size")
MAXLEN_OPT = typer.Option(_default("max_length"), "--max-length")
SEED_OPT = typer.Option(_default("seed"), "--seed", help="same seed, same machine: same metrics")
DEV_OPT = typer.Option(_default("dev_fraction"), "--dev-fraction", help="share of sentences held out as the dev split")
PATIENCE_OPT = typer.Option(None, "--patience", help="early stopping: epochs without dev improvement (keeps the best)")
WEIGHT_OPT = typer.Option(_default("class_weighting"), "--class-weighting", help="none or sqrt-inverse")
PROGRESS_OPT = typer.Option(True, "--progress/--no-progress")
AUGMENT_OPT = typer.Option(
    "",
    "--augment",
    help="comma-separated robustness tests whose variants of the training data "
    "are added to it (e.g. q1-typo,q5-entity-mask; `headscope robustness "
    "--list-tests`)",
)


@train_app.command("absa")
def train_absa(
    data: Path = DATA_OPT,
    fmt: str = typer.Option(..., "--format", help="qa-m, nli-m, qa-b, nli-b or term"),
    out: str = OUT_OPT,
    test: Path | None = TEST_OPT,
    data_format: str | None = DATA_FORMAT_OPT,
    base: str = BASE_OPT,
    epochs: int = EPOCHS_OPT,
    lr: float = LR_OPT,
    batch_size: int = BATCH_OPT,
    max_length: int = MAXLEN_OPT,
    seed: int = SEED_OPT,
    dev_fraction: float = DEV_OPT,
    patience: int | None = PATIENCE_OPT,
    class_weighting: str = WEIGHT_OPT,
    progress: bool = PROGRESS_OPT,
    augment: str = AUGMENT_OPT,
    method: str = METHOD_OPT,
    adv_eps: float | None = ADV_EPS_OPT,
    adv_norm: str | None = ADV_NORM_OPT,
    kl_coeff: float | None = KL_OPT,
    kl_both_sides: bool | None = KL_BOTH_OPT,
    alpha: float | None = ALPHA_OPT,
    beta: float | None = BETA_OPT,
    unbiased_scale: bool | None = UNBIASED_OPT,
    fisher_fraction: float | None = FISHER_OPT,
) -> None:
    """Fine-tune for aspect-based sentiment (categories in QA-M/NLI-M/QA-B/NLI-B, or aspect terms)."""
    _train_task(locals(), task="absa", format=fmt)


@train_app.command("re")
def train_re(
    data: Path = DATA_OPT,
    out: str = OUT_OPT,
    test: Path | None = TEST_OPT,
    data_format: str | None = DATA_FORMAT_OPT,
    base: str = BASE_OPT,
    epochs: int = EPOCHS_OPT,
    lr: float = LR_OPT,
    batch_size: int = BATCH_OPT,
    max_length: int = MAXLEN_OPT,
    seed: int = SEED_OPT,
    dev_fraction: float = DEV_OPT,
    patience: int | None = PATIENCE_OPT,
    class_weighting: str = WEIGHT_OPT,
    progress: bool = PROGRESS_OPT,
    pooling: str = typer.Option(
        "entity-start", "--pooling", help="entity-start (classify from the <e1>/<e2> marker states) or cls"
    ),
    augment: str = AUGMENT_OPT,
    method: str = METHOD_OPT,
    adv_eps: float | None = ADV_EPS_OPT,
    adv_norm: str | None = ADV_NORM_OPT,
    kl_coeff: float | None = KL_OPT,
    kl_both_sides: bool | None = KL_BOTH_OPT,
    alpha: float | None = ALPHA_OPT,
    beta: float | None = BETA_OPT,
    unbiased_scale: bool | None = UNBIASED_OPT,
    fisher_fraction: float | None = FISHER_OPT,
) -> None:
    """Fine-tune for relation extraction with entity markers around e1 and e2."""
    _train_task(locals(), task="re", format="re-markers", pooling=pooling)


@evaluate_app.command("evaluate")
def evaluate(
    model: str = typer.Option(..., "--model", help="checkpoint id (folder name under the models folder)"),
    data: Path = typer.Option(..., "--data", help="data file with gold labels"),
    data_format: str | None = typer.Option(None, "--data-format", help="loader name when the file name does not tell"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as one JSON object"),
) -> None:
    """Score a checkpoint on a data file with the benchmark's own metrics."""
    from app.core.data.readers import DatasetError
    from app.core.model.checkpoint import CheckpointError
    from app.core.training.recipes import RecipeError, evaluate_checkpoint

    folder = get_settings().models_dir / model
    if not (folder / "headscope.json").exists():
        fail(f"no checkpoint {model!r} in {get_settings().models_dir} (see `headscope models`)")
    try:
        from app.core.model.checkpoint import pick_device

        metrics = evaluate_checkpoint(folder, data, data_format, device=pick_device(get_settings().device))
    except (CheckpointError, DatasetError, RecipeError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(metrics))
        return
    table = Table("metric", "value")
    for key, value in metrics.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)

"""The `headscope` command: serve the app and run its jobs from a shell."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from app.config import get_settings

cli = typer.Typer(help="headscope: see what the attention heads of fine-tuned BERT models do.", no_args_is_help=True)
console = Console()


@cli.command()
def prepare(force: bool = typer.Option(False, help="retrain the demo checkpoints even when current")) -> None:
    """Train the embedded demo checkpoints (ABSA QA-M and RE) when missing; reuse them otherwise."""
    from app.core.embedded import prepare_demo_models

    settings = get_settings()
    results = prepare_demo_models(settings.models_dir, progress=True, force=force)
    for result in results:
        console.print(f"trained {result.path} in {result.train_time_s:.0f}s: {json.dumps(result.metrics)}")
    if not results:
        console.print(f"demo checkpoints in {settings.models_dir} are current")


@cli.command()
def serve(
    host: Optional[str] = typer.Option(None, help="default: HEADSCOPE_HOST or 127.0.0.1"),
    port: Optional[int] = typer.Option(None, help="default: HEADSCOPE_PORT or 8000"),
    prepare_models: Optional[bool] = typer.Option(None, "--prepare/--no-prepare",
                                                  help="train missing demo checkpoints first (default: HEADSCOPE_PREPARE_ON_START)"),
) -> None:
    """Run the web app."""
    import uvicorn

    from app.web.main import create_app

    settings = get_settings()
    if prepare_models if prepare_models is not None else settings.prepare_on_start:
        from app.core.embedded import prepare_demo_models

        prepare_demo_models(settings.models_dir, progress=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info")


@cli.command("models")
def list_models(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the checkpoints in the models folder."""
    from app.core.checkpoint import scan_models_dir

    infos = scan_models_dir(get_settings().models_dir)
    if as_json:
        print(json.dumps([i.to_json() for i in infos], indent=2))
        return
    table = Table("id", "task", "format", "labels", "layers×heads", "metrics")
    for i in infos:
        table.add_row(i.id, i.task, i.format, ", ".join(i.labels), f"{i.num_layers}×{i.num_heads}", json.dumps(i.metrics))
    console.print(table)


@cli.command("inspect")
def inspect_text(
    text: str = typer.Argument(..., help="review, or a sentence with <e1>..</e1> and <e2>..</e2>"),
    aspect: Optional[str] = typer.Option(None, help="ABSA aspect category or term"),
    model: Optional[str] = typer.Option(None, help="checkpoint id (default: the demo model of the task)"),
) -> None:
    """Predict one input and print the heads that attend most from the aspect/entity 1."""
    from app.core.checkpoint import pick_device
    from app.core.inspection import InspectionInput, inspect
    from app.core.registry import ModelRegistry

    settings = get_settings()
    registry = ModelRegistry(settings.models_dir, pick_device(settings.device))
    registry.refresh()
    model = model or registry.default_id("absa" if aspect else "re")
    if model is None:
        raise typer.BadParameter("no checkpoints found: run `headscope prepare` first")
    result = inspect(registry.get(model), InspectionInput(text, aspect))
    console.print(f"[bold]{result.prediction.label}[/bold]  " +
                  "  ".join(f"{k}={v:.3f}" for k, v in result.prediction.probabilities.items()))
    console.print("tokens: " + " ".join(t.text for t in result.encoded.tokens))


@cli.command("add")
def add_checkpoint(
    source: str = typer.Argument(..., help="a local Hugging Face model folder, or a hub name (needs internet once)"),
    task: str = typer.Option(..., help="absa or re"),
    format: str = typer.Option(..., "--format", help="absa: qa-m, nli-m, qa-b, nli-b, term; re: re-markers"),
    name: Optional[str] = typer.Option(None, help="id under the models folder (default: the source's last path part)"),
) -> None:
    """Register your own fine-tuned checkpoint without copying it (writes models/NAME/headscope.json)."""
    from app.core.checkpoint import METADATA_FILE, CheckpointError, read_checkpoint_info

    settings = get_settings()
    local = Path(source).expanduser()
    location = str(local.resolve()) if local.is_dir() else source
    name = name or Path(source.rstrip("/")).name
    folder = settings.models_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METADATA_FILE).write_text(json.dumps({"id": name, "task": task, "format": format, "source": location},
                                                   indent=2) + "\n", encoding="utf-8")
    try:
        info = read_checkpoint_info(folder)
    except CheckpointError as exc:
        (folder / METADATA_FILE).unlink()
        raise typer.BadParameter(str(exc)) from exc
    console.print(f"registered {info.id}: {info.task}/{info.format}, labels {list(info.labels)}, "
                  f"{info.num_layers}×{info.num_heads} heads, weights at {location}")


train_app = typer.Typer(help="Fine-tune a checkpoint on ABSA or RE data, or from a recipe in models/recipes/.")
cli.add_typer(train_app, name="train")


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(2)


@train_app.callback(invoke_without_command=True)
def train(
    ctx: typer.Context,
    recipe: Optional[str] = typer.Option(None, "--recipe", help="train a recipe (data under HEADSCOPE_SHARED_DATA)"),
    list_recipes: bool = typer.Option(False, "--list-recipes", help="name the recipes and exit"),
    out: Optional[str] = typer.Option(None, help="with --recipe: checkpoint name (default: the recipe's name)"),
    epochs: Optional[int] = typer.Option(None, help="with --recipe: override its epochs"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
) -> None:
    """`headscope train absa|re ...`, `headscope train --recipe NAME`, `headscope train --list-recipes`."""
    from app.core import recipes as recipes_mod

    if ctx.invoked_subcommand is not None:
        if recipe or list_recipes:
            _fail("--recipe and --list-recipes go without the absa/re subcommand")
        return
    if list_recipes:
        for r in recipes_mod.list_recipes():
            console.print(f"[bold]{r.name}[/bold]  {r.spec.get('task')}/{r.spec.get('format')}  {r.description}",
                          soft_wrap=True)
        return
    if not recipe:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    settings = get_settings()
    try:
        from app.core.checkpoint import pick_device

        result = recipes_mod.run_recipe(recipe, settings.models_dir, settings.shared_data, progress=progress,
                                        overrides={"out": out, "epochs": epochs}, device=pick_device(settings.device))
    except (recipes_mod.RecipeError, ValueError) as exc:
        _fail(str(exc))
    _report(result)


def _report(result) -> None:
    console.print(f"trained {result.path} in {result.train_time_s:.0f}s", soft_wrap=True)
    print(json.dumps(result.metrics))


def _train_task(task: str, data: Path, fmt: str, out: str, test: Optional[Path], data_format: Optional[str], base: str,
                epochs: int, lr: float, batch_size: int, max_length: int, seed: int, dev_fraction: float,
                patience: Optional[int], class_weighting: str, progress: bool, pooling: str = "cls") -> None:
    from app.core.datasets import DatasetError
    from app.core.recipes import RecipeError, TrainSpec, train_on_data

    spec = TrainSpec(task=task, format=fmt, train=str(data), out=out, test=str(test) if test else None,
                     data_format=data_format, base=base, epochs=epochs, learning_rate=lr, batch_size=batch_size,
                     max_length=max_length, seed=seed, dev_fraction=dev_fraction, patience=patience,
                     class_weighting=class_weighting, pooling=pooling)
    try:
        from app.core.checkpoint import pick_device

        settings = get_settings()
        result = train_on_data(spec, settings.models_dir, progress=progress, device=pick_device(settings.device))
    except (DatasetError, RecipeError, ValueError) as exc:
        _fail(str(exc))
    _report(result)


# TrainingArgs' defaults, written out so `headscope --help` does not import torch
# (tests/test_train_cli.py checks they stay equal).
TRAIN_DEFAULTS = {"epochs": 4, "learning_rate": 5e-5, "batch_size": 16, "max_length": 128, "seed": 13,
                  "dev_fraction": 0.15, "class_weighting": "none"}


def _default(name: str):
    return TRAIN_DEFAULTS[name]


DATA_OPT = typer.Option(..., "--data", help="training data file (format from its name, or --data-format)")
TEST_OPT = typer.Option(None, "--test", help="test file: evaluated at the end, metrics stored in headscope.json")
DATA_FORMAT_OPT = typer.Option(None, "--data-format", help="loader name, e.g. semeval2014, mams-atsa, semeval2010, jsonl")
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


@train_app.command("absa")
def train_absa(
    data: Path = DATA_OPT,
    fmt: str = typer.Option(..., "--format", help="qa-m, nli-m, qa-b, nli-b or term"),
    out: str = OUT_OPT, test: Optional[Path] = TEST_OPT, data_format: Optional[str] = DATA_FORMAT_OPT,
    base: str = BASE_OPT, epochs: int = EPOCHS_OPT, lr: float = LR_OPT, batch_size: int = BATCH_OPT,
    max_length: int = MAXLEN_OPT, seed: int = SEED_OPT, dev_fraction: float = DEV_OPT,
    patience: Optional[int] = PATIENCE_OPT, class_weighting: str = WEIGHT_OPT, progress: bool = PROGRESS_OPT,
) -> None:
    """Fine-tune for aspect-based sentiment (categories in QA-M/NLI-M/QA-B/NLI-B, or aspect terms)."""
    _train_task("absa", data, fmt, out, test, data_format, base, epochs, lr, batch_size, max_length, seed,
                dev_fraction, patience, class_weighting, progress)


@train_app.command("re")
def train_re(
    data: Path = DATA_OPT,
    out: str = OUT_OPT, test: Optional[Path] = TEST_OPT, data_format: Optional[str] = DATA_FORMAT_OPT,
    base: str = BASE_OPT, epochs: int = EPOCHS_OPT, lr: float = LR_OPT, batch_size: int = BATCH_OPT,
    max_length: int = MAXLEN_OPT, seed: int = SEED_OPT, dev_fraction: float = DEV_OPT,
    patience: Optional[int] = PATIENCE_OPT, class_weighting: str = WEIGHT_OPT, progress: bool = PROGRESS_OPT,
    pooling: str = typer.Option("entity-start", "--pooling",
                                help="entity-start (classify from the <e1>/<e2> marker states) or cls"),
) -> None:
    """Fine-tune for relation extraction with entity markers around e1 and e2."""
    _train_task("re", data, "re-markers", out, test, data_format, base, epochs, lr, batch_size, max_length, seed,
                dev_fraction, patience, class_weighting, progress, pooling)


@cli.command("evaluate")
def evaluate(
    model: str = typer.Option(..., "--model", help="checkpoint id (folder name under the models folder)"),
    data: Path = typer.Option(..., "--data", help="data file with gold labels"),
    data_format: Optional[str] = typer.Option(None, "--data-format", help="loader name when the file name does not tell"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as one JSON object"),
) -> None:
    """Score a checkpoint on a data file with the benchmark's own metrics."""
    from app.core.checkpoint import CheckpointError
    from app.core.datasets import DatasetError
    from app.core.recipes import RecipeError, evaluate_checkpoint

    folder = get_settings().models_dir / model
    if not (folder / "headscope.json").exists():
        _fail(f"no checkpoint {model!r} in {get_settings().models_dir} (see `headscope models`)")
    try:
        from app.core.checkpoint import pick_device

        metrics = evaluate_checkpoint(folder, data, data_format, device=pick_device(get_settings().device))
    except (CheckpointError, DatasetError, RecipeError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(metrics))
        return
    table = Table("metric", "value")
    for key, value in metrics.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)


@cli.command("analyze")
def analyze_heads(
    model: str = typer.Option(..., "--model", help="checkpoint id (folder name under the models folder)"),
    data: Path = typer.Option(..., "--data", help="labelled data file (SemEval-2014/MAMS XML, ASTE, SemEval-2010, JSONL), "
                                                  "or the bundled demo data: demo-absa, demo-re"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the result JSON here (default: print no JSON)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="analyse only the first N pairs"),
    batch_size: int = typer.Option(16, "--batch-size"),
    pretrained: bool = typer.Option(True, "--pretrained/--no-pretrained",
                                    help="also run the pretrained base model for the per-head pretrained baseline"),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="bootstrap resamples for the 95% confidence intervals"),
    seed: int = typer.Option(0, "--seed"),
    data_format: Optional[str] = typer.Option(None, "--data-format", help="loader name when the file name does not tell"),
    lexicon: Optional[Path] = typer.Option(None, "--lexicon",
                                           help="opinion-lexicon folder (Hu & Liu) for data without gold opinions"),
    js_sample: int = typer.Option(64, "--js-sample", help="examples for the heads x heads Jensen-Shannon map (0: none)"),
    pairs: str = typer.Option("auto", "--pairs", help="ABSA: auto, terms or categories (data with both)"),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (1 is fastest on a busy machine)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    importance: bool = typer.Option(True, "--importance/--no-importance",
                                    help="head importance (Michel et al. 2019) and ablation of the aspect (RE: entity) "
                                         "heads against random heads; needs pairs with gold labels the model predicts"),
    ablation_draws: int = typer.Option(5, "--ablation-draws", help="random head sets masked for the ablation baseline"),
    ablate: list[str] = typer.Option([], "--ablate", help="also ablate the heads of this label (repeatable), "
                                     "e.g. aspect-sentiment; the task's own label (aspect / entity) always is"),
    importance_limit: Optional[int] = typer.Option(None, "--importance-limit",
                                                   help="use only the first N pairs for importance and ablation"),
    typical_k: int = typer.Option(3, "--typical-k", help="most typical examples kept per head and statistic"),
) -> None:
    """Label every attention head on a labelled dataset (aspect, aspect-sentiment, no-op, entity...) with CIs and baselines."""
    from app.core.checkpoint import CheckpointError, pick_device
    from app.core.datasets import DatasetError
    from app.core.heads.analysis import AnalysisError, analyze, load_pretrained_baseline
    from app.core.heads.sources import DEMO_DATASETS, demo_dataset
    from app.core.registry import ModelRegistry, UnknownModelError

    settings = get_settings()
    if threads:
        import torch

        torch.set_num_threads(threads)
    if lexicon is None and settings.shared_data is not None and (settings.shared_data / "opinion_lexicon").is_dir():
        lexicon = settings.shared_data / "opinion_lexicon"  # the benchmark data's Hu & Liu lexicon
    registry = ModelRegistry(settings.models_dir, pick_device(settings.device), half=settings.cuda_half)
    registry.refresh()
    try:
        loaded = registry.get(model)
        base = load_pretrained_baseline(loaded) if pretrained else None
        source = demo_dataset(str(data)) if str(data) in DEMO_DATASETS and not data.exists() else data
        result = analyze(loaded, source, pretrained=base, limit=limit, batch_size=batch_size, bootstrap=bootstrap,
                         seed=seed, progress=progress, data_format=data_format, lexicon=lexicon, js_sample=js_sample,
                         pairs=pairs, importance=importance, ablation_draws=ablation_draws,
                         importance_limit=importance_limit, typical_k=typical_k, ablate_labels=ablate)
    except UnknownModelError as exc:
        _fail(str(exc))
    except (AnalysisError, CheckpointError, DatasetError, ValueError) as exc:
        _fail(str(exc))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, allow_nan=False) + "\n", encoding="utf-8")
    console.print(f"{result['model']['id']} on {result['data']['path']}: {result['data']['pairs']} pairs "
                  f"({result['data']['pairing']}), {result['pairs_per_s']} pairs/s", soft_wrap=True)
    table = Table("label", "heads (layer.head)", "supported by")
    for label, heads in sorted(result["labelled"].items()):
        family = result["support"].get(label, {})
        table.add_row(label, " ".join(f"{l}.{h}" for l, h in heads), f"{family.get('examples', '')} ex.: {family.get('source', '')}")
    if result["labelled"]:
        console.print(table)
    else:
        console.print("no head beats its baselines by the rule's margin")
    rate = result["interpretability"]
    if rate["rate"] is None:
        console.print("interpretability rate: no example with a gold span (aspect term or entities) in this data")
    else:
        best = rate["best_head"]
        console.print(f"interpretability rate {rate['rate']:.3f} (random {rate['random']:.3f}, pretrained "
                      f"{rate['pretrained']}); best single head {best['layer']}.{best['head']}: {best['rate']}",
                      soft_wrap=True)
    if result.get("importance"):
        scores = result["importance"]["scores"]
        ranked = sorted(((s, l, h) for l, row in enumerate(scores) for h, s in enumerate(row)), reverse=True)[:5]
        console.print(f"head importance ({result['importance']['examples']} ex., per-layer L2): top "
                      + " ".join(f"{l}.{h}={s:.3f}" for s, l, h in ranked), soft_wrap=True)
    change = result.get("finetune_change")
    if change:
        ranked = sorted(((v, l, h) for l, row in enumerate(change["js"]) for h, v in enumerate(row) if v is not None),
                        reverse=True)[:5]
        console.print(f"fine-tune change (JS divergence vs the pretrained model, {change['examples']} ex.): most changed "
                      + " ".join(f"{l}.{h}={v:.3f}" for v, l, h in ranked), soft_wrap=True)
    for ablation in (result.get("ablations") or {}).values():
        console.print(f"ablation of {len(ablation['heads'])} {ablation['label']} heads: accuracy {ablation['accuracy']} -> "
                      f"{ablation['masked']} (drop {ablation['drop']}); random heads: mean {ablation['random']['mean']} "
                      f"(drop {ablation['random_drop']}, {ablation['draws']} draws)", soft_wrap=True)
    for key, reason in (result.get("not_computed") or {}).items():
        if importance:
            console.print(f"{key}: not computed ({reason})", soft_wrap=True)
    if out is not None:
        console.print(f"wrote {out}", soft_wrap=True)


user_app = typer.Typer(help="Accounts for a server with HEADSCOPE_AUTH_ENABLED=true (findings sharing).")
cli.add_typer(user_app, name="user")


def _open_store():
    from app.store import Store

    settings = get_settings()
    store = Store(settings.database_url_or_default(), settings.sqlite_synchronous)
    store.migrate()  # the CLI may run before the server ever started on this database
    return store


def _write_password(from_stdin: bool, write) -> None:
    """Read a password (stdin for scripts, else a hidden prompt) and run `write(db, password)` in one transaction."""
    import sys

    from app.store.errors import StoreError

    password = sys.stdin.readline().rstrip("\n") if from_stdin else typer.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    store = _open_store()
    try:
        with store.write() as db:
            write(db, password)
    except StoreError as exc:
        _fail(str(exc))


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="user name: letters, digits, _ . @ -"),
    admin: bool = typer.Option(False, "--admin", help="may edit and delete every finding"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin (scripts)"),
) -> None:
    """Create an account (password from a prompt, or stdin with --password-stdin)."""
    from app.store import users

    _write_password(password_stdin, lambda db, password: users.create_user(db, name, password, is_admin=admin))
    console.print(f"created user {name}{' (admin)' if admin else ''}")


@user_app.command("password")
def user_password(
    name: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin (scripts)"),
) -> None:
    """Set a password (e.g. for an author that came with an import and has none)."""
    from app.store import users

    _write_password(password_stdin, lambda db, password: users.set_password(db, name, password))
    console.print(f"password set for {name}")


@user_app.command("token")
def user_token(
    name: str = typer.Argument(..., help="the account the token acts as"),
    label: str = typer.Option("cli", "--label", help="what the token is for (shown in GET /api/tokens)"),
) -> None:
    """Print a new API token for scripts (`Authorization: Bearer ...`); it is shown only this once."""
    from app.store import users

    store = _open_store()
    with store.write() as db:
        user = users.get_user(db, name)
        if user is None:
            _fail(f"no user {name!r}: create it with `headscope user add {name}`")
        _, token = users.create_token(db, user, label)
    print(token)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()

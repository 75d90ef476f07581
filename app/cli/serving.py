"""Commands that prepare, list, register and serve checkpoints, and inspect one input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer
from rich.table import Table

from app.cli.common import console, open_registry
from app.config import get_settings

cli = typer.Typer()


@cli.command()
def prepare(force: bool = typer.Option(False, help="retrain the demo checkpoints even when current")) -> None:
    """Train the embedded demo checkpoints (ABSA QA-M and RE) when missing; reuse them otherwise."""
    from app.core.training.demo_checkpoints import prepare_demo_models

    settings = get_settings()
    results = prepare_demo_models(settings.models_dir, progress=True, force=force)
    for result in results:
        console.print(f"trained {result.path} in {result.train_time_s:.0f}s: {json.dumps(result.metrics)}")
    if not results:
        console.print(f"demo checkpoints in {settings.models_dir} are current")


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="default: HEADSCOPE_HOST or 127.0.0.1"),
    port: int | None = typer.Option(None, help="default: HEADSCOPE_PORT or 8000"),
    prepare_models: bool | None = typer.Option(
        None,
        "--prepare/--no-prepare",
        help="train missing demo checkpoints first (default: HEADSCOPE_PREPARE_ON_START)",
    ),
) -> None:
    """Run the web app."""
    import uvicorn

    from app.web.main import create_app

    settings = get_settings()
    if prepare_models if prepare_models is not None else settings.prepare_on_start:
        from app.core.training.demo_checkpoints import prepare_demo_models

        prepare_demo_models(settings.models_dir, progress=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info")


@cli.command("models")
def list_models(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the checkpoints in the models folder."""
    from app.core.model.checkpoint import scan_models_dir

    infos = scan_models_dir(get_settings().models_dir)
    if as_json:
        print(json.dumps([i.to_json() for i in infos], indent=2))
        return
    table = Table("id", "task", "format", "labels", "layers×heads", "metrics")
    for i in infos:
        table.add_row(
            i.id, i.task, i.format, ", ".join(i.labels), f"{i.num_layers}×{i.num_heads}", json.dumps(i.metrics)
        )
    console.print(table)


@cli.command("inspect")
def inspect_text(
    text: str = typer.Argument(..., help="review, or a sentence with <e1>..</e1> and <e2>..</e2>"),
    aspect: str | None = typer.Option(None, help="ABSA aspect category or term"),
    model: str | None = typer.Option(None, help="checkpoint id (default: the demo model of the task)"),
) -> None:
    """Predict one input and print the heads that attend most from the aspect/entity 1."""
    from app.core.passes.inspection import InspectionInput, inspect

    registry = open_registry(half=False)
    model = model or registry.default_id("absa" if aspect else "re")
    if model is None:
        raise typer.BadParameter("no checkpoints found: run `headscope prepare` first")
    result = inspect(registry.get(model), InspectionInput(text, aspect))
    console.print(
        f"[bold]{result.prediction.label}[/bold]  "
        + "  ".join(f"{k}={v:.3f}" for k, v in result.prediction.probabilities.items())
    )
    console.print("tokens: " + " ".join(t.text for t in result.encoded.tokens))


@cli.command("add")
def add_checkpoint(
    source: str = typer.Argument(..., help="a local Hugging Face model folder, or a hub name (needs internet once)"),
    task: str = typer.Option(..., help="absa or re"),
    format: str = typer.Option(..., "--format", help="absa: qa-m, nli-m, qa-b, nli-b, term; re: re-markers"),
    name: str | None = typer.Option(None, help="id under the models folder (default: the source's last path part)"),
) -> None:
    """Register your own fine-tuned checkpoint without copying it (writes models/NAME/headscope.json)."""
    from app.core.model.checkpoint import METADATA_FILE, CheckpointError, read_checkpoint_info

    settings = get_settings()
    local = Path(source).expanduser()
    location = str(local.resolve()) if local.is_dir() else source
    name = name or Path(source.rstrip("/")).name
    folder = settings.models_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METADATA_FILE).write_text(
        json.dumps({"id": name, "task": task, "format": format, "source": location}, indent=2) + "\n", encoding="utf-8"
    )
    try:
        info = read_checkpoint_info(folder)
    except CheckpointError as exc:
        (folder / METADATA_FILE).unlink()
        raise typer.BadParameter(str(exc)) from exc
    console.print(
        f"registered {info.id}: {info.task}/{info.format}, labels {list(info.labels)}, "
        f"{info.num_layers}×{info.num_heads} heads, weights at {location}"
    )

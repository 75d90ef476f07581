"""What every command shares: the console, failing with a message, the model registry, a progress bar."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from app.config import get_settings

console = Console()


def fail(message: str) -> NoReturn:
    """Print the error and exit with status 2 (bad input), as every command does."""
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(2)


def write_and_show(out: Path | None, result: dict[str, Any], show: Callable[[], None]) -> None:
    """Write a command's JSON result to --out (when given), show it on the console, then say where it went."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, allow_nan=False) + "\n", encoding="utf-8")
    show()
    if out is not None:
        console.print(f"wrote {out}", soft_wrap=True)


def settings_option(model, name: str, *flags: str, default=None):
    """A CLI option whose default, help and bounds are those of a settings model's field (one declaration)."""
    field = model.model_fields[name]
    low = high = None
    for constraint in field.metadata:
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
    value = field.get_default(call_default_factory=True) if default is None else default
    return typer.Option(
        list(value) if isinstance(value, tuple) else value, *flags, help=field.description or "", min=low, max=high
    )


def open_registry(half: bool | str | None = None):
    """The checkpoints of the models folder, on the configured device."""
    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry

    settings = get_settings()
    registry = ModelRegistry(
        settings.models_dir, pick_device(settings.device), half=settings.cuda_half if half is None else half
    )
    registry.refresh()
    return registry


def progress_bar(description: str):
    """(callback(done, total, phase), close()) drawing a tqdm bar (count, rate, ETA) per phase of a job on stderr."""
    with warnings.catch_warnings():  # in a notebook without ipywidgets tqdm.auto warns, then draws text bars
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    bar, current = None, None

    def update(done: int, total: int, phase: str) -> None:
        nonlocal bar, current
        if phase == "done":
            return
        if bar is None or phase != current or total != bar.total:
            if bar is not None:
                bar.close()
            bar, current = tqdm(total=total, desc=f"{description}: {phase}", leave=False), phase
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close


@contextmanager
def showing_progress(description: str, shown: bool = True) -> Iterator[Callable[[int, int, str], None] | None]:
    """The `with` block's progress callback for a bar named `description` (None when not shown); the bar closes on
    the way out, whatever happens inside."""
    update, close = progress_bar(description) if shown else (None, lambda: None)
    try:
        yield update
    finally:
        close()


@contextmanager
def bad_input_exits(*errors: type[Exception]) -> Iterator[None]:
    """Any error of the `with` block that is the input's fault exits 2 with its message: an unknown or unreadable
    checkpoint, a dataset or data source that does not load, a bad value, or one of the command's own `errors`."""
    from app.core.data.readers import DatasetError
    from app.core.data.sources import DataSourceError
    from app.core.model.checkpoint import CheckpointError
    from app.core.model.registry import UnknownModelError

    caught: tuple[type[Exception], ...] = (
        UnknownModelError,
        CheckpointError,
        DatasetError,
        DataSourceError,
        ValueError,
        *errors,
    )
    try:
        yield
    except caught as exc:
        fail(str(exc))


def use_threads(threads: int | None) -> None:
    """--threads: the CPU threads torch may use (unset: torch's default)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def threads_option(help_text: str = "CPU threads for torch (1 is fastest on a busy machine)"):
    return typer.Option(None, "--threads", help=help_text)


def progress_option():
    return typer.Option(True, "--progress/--no-progress", help="show a progress bar")


def ray_option(what: str):
    return typer.Option(
        None,
        "--ray",
        metavar="ADDRESS",
        help=f"shard {what} over Ray workers (one per GPU, else per CPU slot): 'local' starts Ray "
        "here, 'auto' joins this machine's cluster, or ray://HEAD:10001 (needs pip install "
        "'headscope[ray]')",
    )


def ray_workers_option():
    return typer.Option(
        None, "--ray-workers", min=1, help="with --ray: shards to cut (default: the cluster's GPUs, else CPUs)"
    )


def ray_shards(address: str | None, workers: int | None):
    """The Ray shard runner for --ray (None without it); exits with the message when Ray is not installed."""
    if address is None:
        return None
    from app.core.passes.ray_shards import RayShards, require_ray

    try:
        require_ray()
    except RuntimeError as exc:
        fail(str(exc))
    settings = get_settings()
    return RayShards(address, settings.device, settings.cuda_half, workers)


def processes_option(what: str):
    return typer.Option(
        None,
        "--processes",
        min=2,
        help=f"shard {what} over this many worker processes here (several can share one GPU, "
        "whose pass is bound by the host side)",
    )


@contextmanager
def shard_runner(ray: str | None, ray_workers: int | None, processes: int | None) -> Iterator[Any]:
    """The shard runner the options ask for: Ray workers (--ray), worker processes here (--processes), or None."""
    if ray is not None and processes is not None:
        fail("--ray and --processes both say where the shards run: give one")
    if processes is None:
        yield ray_shards(ray, ray_workers)
        return
    from app.core.passes.sharding import ProcessShards

    settings = get_settings()
    with ProcessShards(processes, settings.device, settings.cuda_half) as shards:
        yield shards

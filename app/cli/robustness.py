"""`headscope robustness`: where a checkpoint breaks, and which heads moved when it did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from app.cli.common import (
    bad_input_exits,
    console,
    fail,
    open_registry,
    processes_option,
    progress_option,
    ray_option,
    ray_workers_option,
    settings_option,
    shard_runner,
    showing_progress,
    threads_option,
    use_threads,
    write_and_show,
)
from app.cli.render import render_robustness
from app.cli.robustness_groups import render_robustness_group
from app.cli.seed_groups import resolve, run_seed_group
from app.config import get_settings
from app.core.model.seed_groups import is_group
from app.core.robustness.seed_moved import group_moved_result
from app.core.robustness.settings import RobustnessSettings

cli = typer.Typer()


def setting(name: str, *flags: str) -> Any:  # Any, as typer.Option declares it: a parameter's default
    return settings_option(RobustnessSettings, name, *flags)


@cli.command("robustness")
def robustness(
    model: str = typer.Option(
        ...,
        "--model",
        help="checkpoint id (folder name under the models folder), or a seed group NAME@13,14,15: the suite on each "
        "seed's checkpoint in turn, then which moved heads recur across seeds",
    ),
    data: str = typer.Option(
        ..., "--data", help="labelled test data: a file, a path under HEADSCOPE_SHARED_DATA, or demo-absa / demo-re"
    ),
    train: str | None = typer.Option(
        None, "--train", help="training data (selection-bias rules, AddDiff phrases; default: the demo data is its own)"
    ),
    out: Path | None = typer.Option(None, "--out", help="write the result JSON here"),
    export: Path | None = typer.Option(None, "--export-suite", help="also write the generated variants as JSONL"),
    contrast: Path | None = typer.Option(None, "--suite", help="your own contrast set (suite JSONL over --data)"),
    baseline: str | None = typer.Option(
        None,
        "--baseline-model",
        help="a second checkpoint scored on the same variants (before/after, e.g. without --augment)",
    ),
    list_tests: bool = typer.Option(False, "--list-tests", help="name the tests for the model's task and exit"),
    progress: bool = progress_option(),
    threads: int | None = threads_option(),
    ray: str | None = ray_option("the model tests and the scoring pass"),
    ray_workers: int | None = ray_workers_option(),
    processes: int | None = processes_option("the model tests and the scoring pass"),
    tests: str = typer.Option("", "--tests", help="comma-separated test names (default: every test the data supports)"),
    max_examples: int | None = setting("max_examples", "--limit"),
    batch_size: int | None = setting("batch_size", "--batch-size"),
    bootstrap: int = setting("bootstrap", "--bootstrap"),
    seed: int = setting("seed", "--seed"),
    inside_entities: bool = setting("inside_entities", "--inside-entities/--outside-entities"),
    budget: int = setting("budget", "--budget"),
    top_heads: int = setting("top_heads", "--top-heads"),
    ablate_moved: bool = setting("ablate_moved", "--ablate-moved/--no-ablate-moved"),
    patch: bool = setting("patch", "--patch/--no-patch"),
    patch_limit: int = setting("patch_limit", "--patch-limit"),
    examples_kept: int = setting("examples_kept", "--examples-kept"),
) -> None:
    """Run robustness tests (DiagnoseRE's Q1-Q5 for RE, ARTS for ABSA) and report the heads that moved
    (with --patch, also the heads that carry each test's flips)."""
    choices = {k: v for k, v in locals().items() if k in RobustnessSettings.model_fields}
    choices["tests"] = tuple(t.strip() for t in tests.split(",") if t.strip())
    try:
        settings = RobustnessSettings(**choices)
    except ValueError as exc:
        fail(str(exc))
    use_threads(threads)
    if is_group(model):
        with shard_runner(ray, ray_workers, processes) as shards:
            options = (export, contrast, baseline, list_tests)
            return robustness_seed_group(model, data, train, settings, progress, options, out, shards)
    if list_tests:
        return print_tests(model)
    with shard_runner(ray, ray_workers, processes) as shards:
        result = run(model, data, train, settings, progress, export, contrast, baseline, shards)
    write_and_show(out, result.to_json(), lambda: render_robustness(console, result))


def robustness_seed_group(
    text: str,
    data: str,
    train: str | None,
    settings: RobustnessSettings,
    progress: bool,
    options: tuple[Path | None, Path | None, str | None, bool],
    out: Path | None,
    shards=None,
) -> None:
    """`--model NAME@SEEDS`: the same suite on each seed's checkpoint, then the moved heads across seeds.
    options: (--export-suite, --suite, --baseline-model, --list-tests)."""
    export, contrast, baseline, list_tests = options
    for given, flag in ((export, "--export-suite"), (baseline, "--baseline-model")):
        if given:
            fail(f"{flag} runs on one checkpoint: give a seed's checkpoint instead of the group {text!r}")
    group = resolve(text)
    if list_tests:
        return print_tests(group.checkpoint_ids[0])
    run_seed_group(
        group,
        lambda model_id: run(model_id, data, train, settings, progress, None, contrast, None, shards),
        group_moved_result,
        render_robustness_group,
        out,
    )


def print_tests(model: str) -> None:
    from app.core.robustness.run import available_tests

    for test in available_tests(open_registry().info(model).task):
        needs = f" (needs {', '.join(test['needs'])})" if test["needs"] else ""
        console.print(f"[bold]{test['name']}[/bold]  {test['family']}: {test['description']}{needs}", soft_wrap=True)


def run(
    model: str,
    data: str,
    train: str | None,
    settings: RobustnessSettings,
    progress: bool,
    export: Path | None,
    contrast: Path | None,
    baseline: str | None,
    shards=None,
):
    """Load, generate, score; any bad input exits with its message."""
    from app.core.data import sources
    from app.core.robustness.context import RobustnessInputError
    from app.core.robustness.run import run_robustness

    shared = get_settings().shared_data
    with showing_progress(f"robustness {model}", progress) as update, bad_input_exits(RobustnessInputError):
        registry = open_registry()
        loaded = registry.get(model)
        before = registry.get(baseline) if baseline else None
        dataset = sources.load_data_source(data, shared_data=shared, allow_paths=True)
        training = (
            sources.load_data_source(train, shared_data=shared, allow_paths=True)
            if train
            else sources.default_training(data)
        )
        lexicon = sources.load_lexicon(sources.default_lexicon_path(shared, data))
        return run_robustness(
            loaded,
            dataset,
            settings,
            name=data,
            training=training,
            lexicon=lexicon,
            progress=update,
            export=export,
            contrast=contrast,
            baseline=before,
            shards=shards,
        )

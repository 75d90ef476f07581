"""`headscope report`: checkpoints side by side across robustness perspectives; options read ReportSettings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from app.cli.common import (
    bad_input_exits,
    console,
    fail,
    open_registry,
    progress_option,
    settings_option,
    showing_progress,
    threads_option,
    use_threads,
    write_and_show,
)
from app.cli.seed_groups import spread_text
from app.config import get_settings
from app.core.report.settings import ATTACKS, ReportSettings

cli = typer.Typer()


def setting(name: str, *flags: str) -> Any:  # Any, as typer.Option declares it: a parameter's default
    return settings_option(ReportSettings, name, *flags)


@cli.command("report")
def report(
    models: list[str] = typer.Option(
        ...,
        "--model",
        help="checkpoint id, or a seed group NAME@13,14,15 (the checkpoints NAME-seed13, ...: each seed's figures, "
        "their mean and spread, and two groups compared seed by seed); repeat --model to compare several",
    ),
    out: Path | None = typer.Option(None, "--out", help="write the whole report as JSON here"),
    threads: int | None = threads_option("CPU threads for torch"),
    progress: bool = progress_option(),
    max_examples: int | None = setting("max_examples", "--limit"),
    batch_size: int | None = setting("batch_size", "--batch-size"),
    bins: int = setting("bins", "--bins"),
    attacks: str = typer.Option(
        ",".join(ATTACKS), "--attacks", help=f"comma-separated attacks ({', '.join(ATTACKS)}); '' for none"
    ),
    attack_examples: int = setting("attack_examples", "--attack-examples"),
    budget: int = setting("budget", "--budget"),
    interpretability: bool = setting("interpretability", "--interpretability/--no-interpretability"),
    pretrained_baseline: bool = setting("pretrained_baseline", "--pretrained-baseline/--no-pretrained-baseline"),
    shift: list[str] = setting("shift", "--shift"),
    ood: list[str] = setting("ood", "--ood"),
    roc_points: int = setting("roc_points", "--roc-points"),
    seed: int = setting("seed", "--seed"),
) -> None:
    """In distribution, distribution shift, adversarial, calibration, anomaly detection, interpretability."""
    choices = {k: v for k, v in locals().items() if k in ReportSettings.model_fields}
    choices["attacks"] = tuple(a.strip() for a in attacks.split(",") if a.strip())
    try:
        settings = ReportSettings(**choices)
    except ValueError as exc:
        fail(str(exc))
    from app.core.report.seed_summary import grouped, seed_summary

    entries, checkpoints = resolve(models)
    use_threads(threads)
    result = run(checkpoints, settings, progress)
    if grouped(entries):
        result["seed_groups"] = seed_summary(result, entries)
    write_and_show(out, result, lambda: render(result))


def resolve(models: list[str]) -> tuple[list[Any], list[str]]:
    """The entries (seed groups and checkpoint ids) and every checkpoint they run; exits 2 on a bad group or a
    checkpoint named twice."""
    from app.core.model.checkpoint import CheckpointError
    from app.core.model.seed_groups import is_group
    from app.core.report.seed_summary import checkpoint_ids, resolve_entries

    try:
        entries = resolve_entries(models, open_registry().infos) if any(map(is_group, models)) else list(models)
    except CheckpointError as exc:
        fail(str(exc))
    checkpoints = checkpoint_ids(entries)
    if len(set(checkpoints)) != len(checkpoints):
        fail(f"--model names a checkpoint twice: {', '.join(checkpoints)}")
    return entries, checkpoints


def run(models: list[str], settings: ReportSettings, progress: bool) -> dict[str, Any]:
    """Plan every checkpoint's data (refusing what does not fit before any model work), then run."""
    from app.core.data import sources
    from app.core.model.pretrained import load_pretrained_baseline
    from app.core.report.plan import ReportInputError
    from app.core.report.run import plan_all, run_report

    shared = get_settings().shared_data
    with showing_progress("report", progress) as update, bad_input_exits(ReportInputError):
        registry = open_registry()
        infos = [registry.info(m) for m in models]
        plans = plan_all(
            infos, settings, shared, lambda name: sources.load_data_source(name, shared_data=shared, allow_paths=True)
        )
        return run_report(
            [registry.get(m) for m in models], plans, settings, pretrained_for=load_pretrained_baseline, progress=update
        )


def _f(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def render(result: dict[str, Any], out: Console = console) -> None:
    """One table across the perspectives, then one per perspective that has several figures (on `out`)."""
    table = Table(
        "model",
        "method",
        "in distribution",
        "shift",
        "adversarial",
        "ECE → scaled",
        "OOD AUROC",
        "interpretability",
        title="Model report",
    )
    for row in result["summary"]["rows"]:
        table.add_row(
            row["model"],
            row["method"] or "vanilla",
            f"{_f(row['in_distribution'])} / {_f(row['in_distribution_f1'])}",
            f"{_f(row['shift'])} / {_f(row['shift_f1'])}",
            _f(row["adversarial"]),
            f"{_f(row['ece'])} → {_f(row['ece_scaled'])}",
            _f(row["auroc"]),
            f"{_f(row['interpretability'])} (random {_f(row['interpretability_random'])}, "
            f"pretrained {_f(row['interpretability_pretrained'])})",
        )
    out.print(table)
    out.print(
        "in distribution / shift: headline accuracy / F1 (ABSA categories: 3-way accuracy / aspect-detection "
        "F1); adversarial: mean accuracy under the attacks; OOD: mean AUROC of the max softmax probability",
        style="dim",
        soft_wrap=True,
    )
    for model in result["models"]:
        _details(model, out)
    if result.get("seed_groups"):
        render_groups(result["seed_groups"], out)


def _details(model: dict[str, Any], out: Console) -> None:
    out.print(
        f"\n[bold]{model['id']}[/bold] ({model['task']}, {model['format']}) on {model['in_distribution']['name']}",
        soft_wrap=True,
    )
    for s in model["shift"]["sets"]:
        out.print(
            f"  shift {s['name']}: {_f(s['headline']['accuracy'])} / {_f(s['headline']['f1'])} "
            f"(change {_f(s['change']['accuracy'])} / {_f(s['change']['f1'])}) {s['note']}",
            soft_wrap=True,
        )
    for key, why in model["shift"]["not_available"].items():
        out.print(f"  {key}: {why}", style="dim", soft_wrap=True)
    for name, a in model["adversarial"]["attacks"].items():
        out.print(
            f"  {name}: accuracy {_f(a['accuracy'])} (clean {_f(a['clean_accuracy'])}, success rate "
            f"{_f(a['success_rate'])}, n={a['n']})",
            soft_wrap=True,
        )
    for name, why in model["adversarial"]["not_run"].items():
        out.print(f"  {name} not run: {why}", style="dim", soft_wrap=True)
    c = model["calibration"]
    out.print(
        f"  calibration: temperature {_f(c['temperature'])} fitted on {c['dev']}"
        + (f" ({c['temperature_note']})" if c["temperature_note"] else ""),
        soft_wrap=True,
    )
    for s in model["anomaly"]["sets"]:
        out.print(
            f"  OOD {s['name']}: AUROC {_f(s['auroc'])}, AUPR {_f(s['aupr'])}, FPR@95 "
            f"{_f(s['fpr_at_95_tpr'])} ({s['n_in']} in, {s['n_out']} out)",
            soft_wrap=True,
        )


GROUP_FIGURES = {  # summary figure: its column, as the table above names it
    "in_distribution": "in distribution (acc.)",
    "in_distribution_f1": "in distribution (F1)",
    "shift": "shift (acc.)",
    "shift_f1": "shift (F1)",
    "adversarial": "adversarial",
    "ece": "ECE",
    "ece_scaled": "ECE scaled",
    "auroc": "OOD AUROC",
    "interpretability": "interpretability",
}


def render_groups(groups: dict[str, Any], out: Console = console) -> None:
    """Per entry each figure's mean ± SD [min–max], the per-seed values, then two groups compared seed by seed."""
    table = Table("entry", "seeds", *GROUP_FIGURES.values(), title="Seed groups: mean ± SD [min–max] over seeds")
    per_seed = Table("entry", "seed", "checkpoint", *GROUP_FIGURES.values(), title="Per seed")
    for entry in groups["entries"]:
        figures = entry["figures"]
        seeds = ",".join(str(m["seed"]) for m in entry["members"]) if entry["group"] else "–"
        table.add_row(entry["label"], seeds, *(spread_text(figures[key]) for key in GROUP_FIGURES))
        for k, member in enumerate(entry["members"]):
            values = [_f(figures[key]["values"][k]["value"]) for key in GROUP_FIGURES]
            per_seed.add_row(entry["label"], _f(member["seed"]), member["model"], *values)
    out.print(table)
    out.print(per_seed)
    for pair in groups["paired"]:
        paired = Table(
            "figure",
            "n",
            "per seed (seed: difference)",
            "mean difference",
            f"{groups['level']:.0%} t-interval",
            "excludes 0",
            title=f"Paired: {pair['b']} minus {pair['a']}, seed by seed",
        )
        for key, name in GROUP_FIGURES.items():
            d = pair["figures"][key]
            differences = ", ".join(f"{p['seed']}: {p['difference']:+.3f}" for p in d["per_seed"]) or "–"
            interval = "–" if d["low"] is None else f"[{d['low']:+.3f}, {d['high']:+.3f}]"
            excludes = "–" if d["excludes_zero"] is None else "yes" if d["excludes_zero"] else "no"
            mean = "–" if d["mean"] is None else f"{d['mean']:+.3f}"
            paired.add_row(name, str(d["n"]), differences, mean, interval, excludes)
        out.print(paired)
    out.print(groups["interval"] + "; n is the number of seeds (fewer than two: no interval).", style="dim")

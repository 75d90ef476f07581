"""`headscope analyze`: label every head of a checkpoint on labelled data; options read the one settings model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from app.cli.analysis_groups import render_group
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
from app.cli.faithfulness import option as faithfulness_option
from app.cli.faithfulness import render_faithfulness, run_faithfulness
from app.cli.render import render_analysis
from app.cli.seed_groups import resolve, run_seed_group
from app.config import get_settings
from app.core.faithfulness import FaithfulnessSettings
from app.core.heads.seed_stability import group_result
from app.core.heads.settings import AnalysisSettings
from app.core.model.seed_groups import is_group

cli = typer.Typer()


def setting(name: str, *flags: str) -> Any:  # Any, as typer.Option declares it: a parameter's default
    return settings_option(AnalysisSettings, name, *flags)


@cli.command("analyze")
def analyze_heads(
    model: str = typer.Option(
        ...,
        "--model",
        help="checkpoint id (folder name under the models folder), or a seed group NAME@13,14,15: each seed's "
        "analysis, then which heads keep their label across seeds",
    ),
    data: str = typer.Option(
        ...,
        "--data",
        help="labelled data file (SemEval-2014/MAMS XML, ASTE, SemEval-2010, JSONL), "
        "a path under HEADSCOPE_SHARED_DATA, or demo-absa / demo-re",
    ),
    out: Path | None = typer.Option(None, "--out", help="write the result JSON here (default: print no JSON)"),
    data_format: str | None = typer.Option(None, "--data-format", help="loader name when the file name does not tell"),
    lexicon_folder: Path | None = typer.Option(
        None, "--lexicon", help="opinion-lexicon folder (default: the shared data's)"
    ),
    threads: int | None = threads_option(),
    progress: bool = progress_option(),
    ray: str | None = ray_option("the statistics pass"),
    ray_workers: int | None = ray_workers_option(),
    processes: int | None = processes_option("the statistics pass"),
    max_examples: int | None = setting("max_examples", "--limit"),
    batch_size: int | None = setting("batch_size", "--batch-size"),
    pretrained: bool = setting("pretrained", "--pretrained/--no-pretrained"),
    bootstrap: int = setting("bootstrap", "--bootstrap"),
    seed: int = setting("seed", "--seed"),
    js_sample: int = setting("js_sample", "--js-sample"),
    pairs: str = setting("pairs", "--pairs"),
    importance: bool = setting("importance", "--importance/--no-importance"),
    importance_limit: int | None = setting("importance_limit", "--importance-limit"),
    ablation_draws: int = setting("ablation_draws", "--ablation-draws"),
    ablate_labels: list[str] = setting("ablate_labels", "--ablate"),
    typical_k: int = setting("typical_k", "--typical-k"),
    use_lexicon: bool = setting("lexicon", "--lexicon-words/--no-lexicon-words"),
    agreement: bool = setting("agreement", "--agreement/--no-agreement"),
    ig: bool = setting("ig", "--ig/--no-ig"),
    ig_steps: int = setting("ig_steps", "--ig-steps"),
    ig_limit: int | None = setting("ig_limit", "--ig-limit"),
    attention: str = setting("attention", "--attention"),
    sep_heads: str = setting("sep_heads", "--sep-heads"),
    faithfulness_limit: int = faithfulness_option("limit", "--faithfulness-limit"),
    faithfulness_erasure: str = faithfulness_option("erasure", "--faithfulness-erasure"),
    faithfulness_flow_limit: int = faithfulness_option("flow_limit", "--faithfulness-flow-limit"),
    faithfulness_methods: list[str] = faithfulness_option("methods", "--faithfulness-method"),
) -> None:
    """Label every attention head on a labelled dataset (aspect, aspect-sentiment, no-op, entity...) with CIs and
    baselines."""
    choices = {k: v for k, v in locals().items() if k in AnalysisSettings.model_fields}
    choices["lexicon"] = use_lexicon  # --lexicon names the folder; the setting says whether to use one
    try:
        settings = AnalysisSettings(**choices)
    except ValueError as exc:
        fail(str(exc))
    use_threads(threads)
    if is_group(model):
        with shard_runner(ray, ray_workers, processes) as shards:
            analyze_seed_group(
                model, data, data_format, lexicon_folder, settings, progress, shards, out, faithfulness_limit
            )
        return
    with shard_runner(ray, ray_workers, processes) as shards:
        result = run_analysis(model, data, data_format, lexicon_folder, settings, progress, shards)
    try:
        faithful = FaithfulnessSettings(
            limit=faithfulness_limit,
            erasure=faithfulness_erasure,
            flow_limit=faithfulness_flow_limit,
            methods=tuple(faithfulness_methods),
        )
    except ValueError as exc:
        fail(str(exc))
    found = (
        run_faithfulness(
            model,
            data,
            data_format,
            settings.pairs,
            faithful,
            bootstrap,
            seed,
            lexicon_folder,
            settings.lexicon,
            batch_size=settings.batch_size,
        )
        if faithful.limit
        else None
    )
    written = {**result.to_json(), **({"faithfulness": found.to_json()} if found is not None else {})}

    def show() -> None:
        render_analysis(console, result)
        if found is not None:
            render_faithfulness(console, found)

    write_and_show(out, written, show)


def analyze_seed_group(
    text: str,
    data: str,
    data_format: str | None,
    lexicon: Path | None,
    settings: AnalysisSettings,
    progress: bool,
    shards,
    out: Path | None,
    faithfulness_limit: int,
) -> None:
    """`--model NAME@SEEDS`: the same analysis on each seed's checkpoint, then the comparison across seeds."""
    if faithfulness_limit:
        fail("--faithfulness-limit runs on one checkpoint: analyse a seed's checkpoint on its own for faithfulness")
    run_seed_group(
        resolve(text),
        lambda model_id: run_analysis(model_id, data, data_format, lexicon, settings, progress, shards),
        group_result,
        render_group,
        out,
    )


def run_analysis(
    model: str,
    data: str,
    data_format: str | None,
    lexicon: Path | None,
    settings: AnalysisSettings,
    progress: bool,
    shards=None,
):
    """Load the checkpoint, the data and the baselines, then analyse; any bad input exits with its message."""
    from app.core.data import sources
    from app.core.heads.analysis import analyze
    from app.core.inputs.units import AnalysisError
    from app.core.model.pretrained import load_pretrained_baseline

    shared = get_settings().shared_data
    with showing_progress(f"analyze {model}", progress) as update, bad_input_exits(AnalysisError):
        loaded = open_registry().get(model)
        dataset = sources.load_data_source(data, shared_data=shared, data_format=data_format, allow_paths=True)
        words = sources.load_lexicon(lexicon or sources.default_lexicon_path(shared)) if settings.lexicon else None
        reference = load_pretrained_baseline(loaded) if settings.pretrained else None
        return analyze(loaded, dataset, settings, pretrained=reference, lexicon=words, progress=update, shards=shards)

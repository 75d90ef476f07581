"""A robustness run end to end: sources from the data, variants from every chosen test, one scoring pass, the report.

Tests come in two kinds: the offline generators (catalog.py: random perturbations, selection and
semantic bias probes, ARTS' aspect tests), which need only the data, and the model tests, which
need the checkpoint to build their variants: the adversarial attacks (attacks.py, "q2-pwws",
"q2-hotflip") and the counterfactual removal of the top integrated-gradients words
(counterfactual.py, "q3-k1", "q3-k2"; relation extraction only, whose no-relation label is the
counterfactual's answer). Every variant then goes through the same scoring pass and report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.data.readers import Dataset, OpinionLexicon
from app.core.inputs.batching import training_max_length
from app.core.inputs.units import AnalysisError, UnitSpec, unit_specs
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
from app.core.passes.attention_pass import Progress, Runner, run_here
from app.core.passes.batch_size import given_batch
from app.core.passes.sharding import ShardRunner
from app.core.robustness import sharded
from app.core.robustness.context import GenerationContext, RobustnessInputError, SuiteError
from app.core.robustness.generators import catalog
from app.core.robustness.model_tests import MODEL_TESTS, attack_figures, model_variants
from app.core.robustness.outcomes import SuiteTest
from app.core.robustness.result import RobustnessResult
from app.core.robustness.settings import CPU_BATCH_SIZE, RobustnessSettings
from app.core.robustness.suite import evaluate_variants
from app.core.robustness.suite_io import read_suite, write_suite
from app.core.robustness.variants import Variant
from app.core.robustness.wordnet import WordNetUnavailableError, load_wordnet


def available_tests(task: str) -> list[dict[str, Any]]:
    """Every test of a task: name, family, description, what it needs."""
    offline = [
        {"name": t.name, "family": t.family, "description": t.description, "needs": list(t.needs)}
        for t in catalog.task_tests(task)
    ]
    model = [
        {"name": t.name, "family": t.family, "description": t.description, "needs": ["model"]}
        for t in MODEL_TESTS.values()
        if task in t.tasks
    ]
    return offline + model


def choose_tests(names: Sequence[str], task: str) -> tuple[list[str], list[str]]:
    """(offline test names, model test names); every test of the task when none are named."""
    accepted = [t["name"] for t in available_tests(task)]
    unknown = [n for n in names if n not in accepted]
    if unknown:
        raise RobustnessInputError(
            f"unknown robustness test(s) {', '.join(map(repr, unknown))} for {task}; accepted: {', '.join(accepted)}",
            accepted,
        )
    chosen = list(dict.fromkeys(names)) or accepted
    return [n for n in chosen if n not in MODEL_TESTS], [n for n in chosen if n in MODEL_TESTS]


def robustness_sources(
    info: CheckpointInfo | LoadedCheckpoint, dataset: Dataset, settings: RobustnessSettings, name: str
) -> list[UnitSpec]:
    """The pairs to test: relation examples, or ABSA pairs whose aspect the review names (no "none" pairs)."""
    try:
        specs, _ = unit_specs(info, list(dataset.examples), name)
    except AnalysisError as exc:
        raise RobustnessInputError(str(exc)) from exc
    specs = [s for s in specs if s.present is not False]
    if not specs:
        raise RobustnessInputError(f"{name}: no pair to test (ABSA pairs need their aspect named in the review)")
    return specs[: settings.max_examples]


def generation_context(
    settings: RobustnessSettings, training: Dataset | None, lexicon: OpinionLexicon | None, mask_token: str = "[MASK]"
) -> GenerationContext:
    return GenerationContext(
        seed=settings.seed,
        lexicon=lexicon,
        inside_entities=settings.inside_entities,
        training=list(training.examples) if training is not None else None,
        mask_token=mask_token,
    )


def check_tests(
    task: str,
    sources: Sequence[UnitSpec],
    settings: RobustnessSettings,
    training: Dataset | None,
    lexicon: OpinionLexicon | None,
) -> None:
    """Before anything runs: RobustnessInputError when a named test cannot run on this data (its `accepted`
    lists the tests the data does support). With no test named, every supported test runs and the result's
    not_run says why the others did not."""
    if not settings.tests:
        return
    offline, model_tests = choose_tests(settings.tests, task)
    context = generation_context(settings, training, lexicon)
    try:
        tests = catalog.resolve(offline, task)
    except SuiteError as exc:
        raise RobustnessInputError(str(exc), exc.accepted) from exc
    refused = {t.name: why for t in tests if (why := _missing(t, sources, context)) is not None}
    if "q2-pwws" in model_tests:
        try:
            load_wordnet()
        except WordNetUnavailableError as exc:
            refused["q2-pwws"] = f"it needs WordNet for synonyms: {exc}"
    if refused:
        supported = [t.name for t in catalog.task_tests(task) if _missing(t, sources, context) is None]
        supported += [t for t in MODEL_TESTS if task in MODEL_TESTS[t].tasks and t not in refused]
        test, why = next(iter(refused.items()))
        raise RobustnessInputError(
            f"{test} cannot run: {why}; the tests this data supports: {', '.join(supported) or 'none'}", supported
        )


def test_capabilities(
    task: str,
    sources: Sequence[UnitSpec],
    settings: RobustnessSettings,
    training: Dataset | None,
    lexicon: OpinionLexicon | None,
) -> list[dict[str, Any]]:
    """Every test of the task with whether it can run on these sources, training data and lexicon, and if
    not, why (the same checks as `check_tests`, so a form that offers only the runnable ones is never refused)."""
    context = generation_context(settings, training, lexicon)
    pwws_missing = None
    try:
        load_wordnet()
    except WordNetUnavailableError as exc:
        pwws_missing = f"it needs WordNet for synonyms: {exc}"
    answers = []
    for test in available_tests(task):
        offline = catalog.TESTS.get(test["name"])
        if offline is not None:
            reason = _missing(offline, sources, context)
        else:
            reason = pwws_missing if test["name"] == "q2-pwws" else None
        answers.append({**test, "runnable": reason is None, "reason": reason})
    return answers


def _missing(test: catalog.RobustnessTest, sources: Sequence[UnitSpec], context: GenerationContext) -> str | None:
    try:
        return catalog.missing(test, sources, context)
    except SuiteError as exc:
        return str(exc)


def run_robustness(
    checkpoint: LoadedCheckpoint,
    dataset: Dataset,
    settings: RobustnessSettings,
    *,
    name: str,
    training: Dataset | None = None,
    lexicon: OpinionLexicon | None = None,
    contrast: Path | Sequence[str] | None = None,
    export: Path | None = None,
    baseline: LoadedCheckpoint | None = None,
    runner: Runner = run_here,
    progress: Progress | None = None,
    shards: ShardRunner | None = None,
) -> RobustnessResult:
    """Generate every chosen test's variants, score them with their sources, report per test.

    contrast: the user's own contrast set (suite JSONL, app/core/data/readers/README.md) over the same
    data: its variants are reported under their own test names, instead of generated tests unless
    settings.tests names some. export: write every variant scored as suite JSONL. baseline: a second
    checkpoint of the same task (e.g. the one trained without --augment) scored on the very same
    variants: the before/after comparison, under result.baseline. shards: a shard runner
    (app.core.passes.sharding.LocalShards, app.core.passes.ray_shards.RayShards) that makes the model tests'
    variants and scores on shards of the sources (app.core.robustness.sharded); the result is the
    one process's.
    """
    report = progress or (lambda done, total, phase: None)
    max_length = training_max_length(checkpoint)
    sources = robustness_sources(checkpoint, dataset, settings, name)
    given, model_tests, infos, extra, not_run = _given_variants(
        checkpoint, settings, sources, training, lexicon, contrast, report
    )
    if shards is None:
        made, outcomes = model_variants(checkpoint, sources, model_tests, settings, runner, report)
        variants, scores, predict = given + made, None, None
    else:
        variants, scores, outcomes = sharded.sharded_suite(
            checkpoint.info, sources, given, model_tests, settings, max_length, shards, report
        )
        predict = sharded.sharded_predictions(
            checkpoint.info, shards, max_length, given_batch(settings, CPU_BATCH_SIZE)
        )
    extra.update({test: attack_figures(found, settings) for test, found in outcomes.items()})
    if export is not None:
        write_suite(export, variants, sources)
    data = {
        "name": name,
        "format": dataset.format,
        "examples": len(dataset.examples),
        "training": training.format if training is not None else None,
    }
    result = evaluate_variants(
        checkpoint,
        sources,
        variants,
        infos,
        settings,
        data=data,
        not_run=not_run,
        runner=runner,
        progress=report,
        scores=scores,
        predict=predict,
    )
    for test_report in result.tests:
        test_report.details.update(extra.get(test_report.test, {}))
    if baseline is not None:
        result.baseline = _baseline(
            baseline, checkpoint, sources, variants, infos, settings, data, runner, report, shards, max_length
        )
    return result


def _given_variants(checkpoint, settings, sources, training, lexicon, contrast, report):
    """What needs no model: the offline tests' variants and the contrast set's (given variants), the model
    tests still to run, each test's description, its extra report facts, and why tests did not run."""
    if contrast is not None and not settings.tests:
        found, infos = _contrast(contrast, sources)
        return found, [], infos, {}, {}
    offline, model_tests = choose_tests(settings.tests, checkpoint.info.task)
    context = generation_context(settings, training, lexicon, checkpoint.tokenizer.mask_token or "[MASK]")
    report(0, len(sources), "generating")
    try:
        suite = catalog.build_suite(offline, sources, context, checkpoint.info.task) if offline else None
    except SuiteError as exc:
        raise RobustnessInputError(str(exc), exc.accepted) from exc
    given = list(suite.variants) if suite else []
    infos = {t.name: SuiteTest(t.name, t.family, t.description, t.debiasing) for t in (suite.tests if suite else [])}
    extra = {t.name: catalog.report_facts(t, suite.context) for t in (suite.tests if suite else [])}
    infos.update({t: SuiteTest(t, MODEL_TESTS[t].family, MODEL_TESTS[t].description) for t in model_tests})
    if contrast is not None:
        found, tests = _contrast(contrast, sources)
        given += found
        infos.update(tests)
    return given, model_tests, infos, extra, suite.not_run if suite else {}


def _contrast(
    contrast: Path | Sequence[str], sources: Sequence[UnitSpec]
) -> tuple[list[Variant], dict[str, SuiteTest]]:
    try:
        variants = read_suite(contrast, sources, "contrast set")
    except SuiteError as exc:
        raise RobustnessInputError(str(exc), exc.accepted) from exc
    names = dict.fromkeys(v.test for v in variants)
    return variants, {n: SuiteTest(n, "contrast-set", "the user's own contrast set") for n in names}


def _baseline(
    baseline, checkpoint, sources, variants, infos, settings, data, runner, report, shards, max_length
) -> dict[str, Any]:
    """The baseline checkpoint scored on the very same variants (no ablation): the before side."""
    if baseline.info.task != checkpoint.info.task or tuple(baseline.info.labels) != tuple(checkpoint.info.labels):
        raise RobustnessInputError(
            f"baseline {baseline.info.id} must be a {checkpoint.info.task} model with the "
            f"labels of {checkpoint.info.id}"
        )
    scores = None
    if shards is not None:
        _, scores, _ = sharded.sharded_suite(baseline.info, sources, variants, [], settings, max_length, shards, report)
    before = evaluate_variants(
        baseline,
        sources,
        variants,
        infos,
        settings.model_copy(update={"ablate_moved": False}),
        data=data,
        runner=runner,
        progress=report,
        scores=scores,
    )
    return baseline_summary(before)


def baseline_summary(result: RobustnessResult) -> dict[str, Any]:
    """The before side of a before/after comparison: per test, the headline figures only."""
    keys = (
        "source_accuracy",
        "variant_accuracy",
        "flip_rate",
        "aspect_robustness",
        "debiased_accuracy",
        "kept_source_label",
    )
    return {
        "model": result.model.id,
        "overall": result.overall,
        "tests": [{"test": t.test, **{k: getattr(t, k) for k in keys}} for t in result.tests],
        "note": "scored on the same variants as the main model (attack variants were found against the main "
        "model, so for q2 tests this is their transfer to the baseline)",
    }

"""A model report end to end: for each checkpoint, its data plan (plan.py), one evaluation pass (passes.py),
the adversarial attacks on the same test pairs, the pretrained interpretability baseline, then every
perspective from the same logits: in distribution, distribution shift, adversarial, calibration, anomaly
detection and interpretability; and a summary row per model for the charts that compare them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from app.core.heads import interpretability_section
from app.core.inputs.batching import training_max_length
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
from app.core.passes.attention_pass import Progress, Runner, Stopwatch, run_here
from app.core.passes.batch_size import given_batch, pass_batch_size
from app.core.report.calibration import Calibration, calibration, fit_temperature
from app.core.report.metrics import category_subset, gold_indices, set_metrics
from app.core.report.ood import anomaly_scores
from app.core.report.passes import Evaluated, adversarial, evaluate_plan, pretrained_interpretability
from app.core.report.plan import Loader, ReportPlan, plan_report
from app.core.report.settings import CPU_BATCH_SIZE, ReportSettings
from app.core.stats.rounding import to_json

REPORT_VERSION = 1
PERSPECTIVES = ("in_distribution", "shift", "adversarial", "calibration", "anomaly", "interpretability")


def plan_all(
    infos: Sequence[CheckpointInfo], settings: ReportSettings, shared: Path | None, load: Loader
) -> list[ReportPlan]:
    return [plan_report(info, settings, shared, load) for info in infos]


def attack_sources(plan: ReportPlan, settings: ReportSettings) -> list:
    """The first attack_examples test pairs whose aspect the review names (every pair for RE)."""
    return [s for s in plan.of("test")[0].specs if s.present is not False][: settings.attack_examples]


def work_total(plans: Sequence[ReportPlan], settings: ReportSettings) -> int:
    per = [
        sum(len(s.specs) for s in p.sets)
        + len(settings.attacks) * len(attack_sources(p, settings))
        + (len(p.of("test")[0].specs) if settings.interpretability and settings.pretrained_baseline else 0)
        for p in plans
    ]
    return sum(per)


def run_report(
    checkpoints: Sequence[LoadedCheckpoint],
    plans: Sequence[ReportPlan],
    settings: ReportSettings,
    *,
    pretrained_for: Callable[[LoadedCheckpoint], LoadedCheckpoint] | None = None,
    runner: Runner = run_here,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every perspective for every checkpoint (plans from plan_all, in the same order); the JSON result."""
    started = time.perf_counter()
    report = progress or (lambda done, total, phase: None)
    total, done = work_total(plans, settings), 0
    models = []
    for checkpoint, plan in zip(checkpoints, plans):

        def step(n: int, phase: str, base: int = done) -> None:
            report(min(base + n, total), total, phase)

        section = model_report(checkpoint, plan, settings, pretrained_for, runner, step)
        done += section.pop("_work")
        models.append(section)
    report(total, total, "done")
    result = {
        "version": REPORT_VERSION,
        "models": models,
        "summary": summary(models),
        "settings": settings.model_dump(mode="json"),
        "perspectives": list(PERSPECTIVES),
        "same_adversarial_examples": same_examples(models),
        "definitions": DEFINITIONS,
        "computed_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "run_id": uuid.uuid4().hex,
        "timings_s": {"total": time.perf_counter() - started},
    }
    return to_json(result)


def model_report(
    checkpoint: LoadedCheckpoint,
    plan: ReportPlan,
    settings: ReportSettings,
    pretrained_for: Callable[[LoadedCheckpoint], LoadedCheckpoint] | None,
    runner: Runner,
    step: Callable[..., None],
) -> dict[str, Any]:
    info, stopwatch = checkpoint.info, Stopwatch()
    batch_size = pass_batch_size(settings.batch_size, checkpoint, training_max_length(checkpoint), CPU_BATCH_SIZE)
    evaluated = evaluate_plan(
        checkpoint,
        plan,
        batch_size=batch_size,
        interpretability=settings.interpretability,
        runner=runner,
        stopwatch=stopwatch,
        progress=lambda d, t, p: step(d, f"evaluating {info.id}"),
    )
    work = evaluated.inputs
    sources = attack_sources(plan, settings)
    tick = time.perf_counter()
    attacked, not_attacked = adversarial(
        checkpoint,
        sources,
        settings.attacks,
        budget=settings.budget,
        batch_size=given_batch(settings, CPU_BATCH_SIZE),
        runner=runner,
        progress=lambda n, phase: step(work + n, f"{info.id}: {phase}"),
    )
    attack_seconds = time.perf_counter() - tick
    work += len(settings.attacks) * len(sources)
    reference = None
    if settings.interpretability and settings.pretrained_baseline and pretrained_for is not None:
        pretrained = pretrained_for(checkpoint)  # loaded first: its batch fits the memory left beside it
        length = training_max_length(checkpoint)
        reference = pretrained_interpretability(
            pretrained,
            evaluated.test_units,
            info.task,
            batch_size=pass_batch_size(settings.batch_size, pretrained, length, CPU_BATCH_SIZE),
            runner=runner,
            progress=lambda d, t, p: step(work + d, f"{info.id}: {p}"),
        )
        work += len(evaluated.test_units)
    section = perspectives(info, plan, evaluated, settings)
    section["adversarial"] = {
        "examples": len(sources),
        "attacks": attacked,
        "not_run": not_attacked,
        "source_ids": sorted({s.sentence_id for s in sources}),
        "budget": settings.budget,
    }
    section["interpretability"] = (
        to_json(interpretability_section(info.task, evaluated.interpretability, reference))
        if evaluated.interpretability is not None
        else None
    )
    pass_seconds = stopwatch.seconds.get("pass_wall", 0.0)
    section["timings_s"] = {"evaluation": evaluated.seconds, "attacks": attack_seconds, **stopwatch.seconds}
    section["inputs_per_s"] = evaluated.inputs / pass_seconds if pass_seconds > 0 else None
    section["batch_size"] = batch_size  # the evaluation pass's (the settings' may be left open: the device's)
    section["_work"] = work
    return section


def perspectives(
    info: CheckpointInfo, plan: ReportPlan, evaluated: Evaluated, settings: ReportSettings
) -> dict[str, Any]:
    """In distribution, shift, calibration and anomaly detection from the one pass's logits."""
    by_role = {role: [k for k, s in enumerate(plan.sets) if s.role == role] for role in ("test", "dev", "shift", "ood")}
    test, dev = by_role["test"][0], by_role["dev"][0]

    def scored(k: int) -> tuple[list, torch.Tensor, torch.Tensor]:
        specs = evaluated.specs[k]
        return specs, evaluated.logits[k], torch.as_tensor(gold_indices(info, specs))

    test_specs, test_logits, test_gold = scored(test)
    dev_specs, dev_logits, dev_gold = scored(dev)
    temperature = fit_temperature(dev_logits, dev_gold)
    probabilities = test_logits.double().softmax(-1).numpy()
    shift, shift_calibration = [], []
    for k in by_role["shift"]:
        specs, logits, gold = scored(k)
        shift.append(shift_section(info, plan.sets[k], specs, logits, test_specs, probabilities))
        shift_calibration.append(
            {"name": plan.sets[k].name, **calibration(logits, gold, temperature, settings.bins).to_json()}
        )
    test_msp = probabilities.max(-1)
    anomaly = []
    for k in by_role["ood"]:
        outside = evaluated.logits[k].double().softmax(-1).numpy().max(-1)
        anomaly.append(
            {
                "name": plan.sets[k].name,
                "data": plan.sets[k].data,
                **anomaly_scores(test_msp, outside, settings.roc_points),
            }
        )
    test_calibration = calibration(test_logits, test_gold, temperature, settings.bins)
    return {
        "id": info.id,
        "task": info.task,
        "format": info.format,
        "labels": list(info.labels),
        "base_model": info.base_model,
        "method": (info.metadata.get("training") or {}).get("method") or {"name": "vanilla"},
        # why its figures mean little (a random classifier, no recorded training run); None for a trained one
        "untrained": info.untrained,
        "data": {
            **plan.describe(),
            "not_encoded": {plan.sets[k].name: n for k, n in enumerate(evaluated.skipped) if n},
        },
        "in_distribution": {
            "name": plan.sets[test].name,
            "data": plan.sets[test].data,
            **set_metrics(info, test_specs, probabilities),
        },
        "shift": {"sets": shift, "not_available": {k: v for k, v in plan.missing.items() if k.startswith("shift")}},
        "calibration": {
            "bins": settings.bins,
            "temperature": temperature,
            "dev": plan.sets[dev].name,
            "dev_inputs": len(dev_specs),
            "temperature_note": temperature_note(temperature, test_calibration, plan.sets[dev].name, len(dev_specs)),
            "in_distribution": {"name": plan.sets[test].name, **test_calibration.to_json()},
            "shift": shift_calibration,
        },
        "anomaly": {
            "score": "maximum softmax probability",
            "positive": "in-distribution test inputs",
            "in_distribution": plan.sets[test].name,
            "sets": anomaly,
            "not_available": None if anomaly else "no out-of-domain inputs for this model",
        },
    }


def shift_section(
    info: CheckpointInfo, eval_set, specs: list, logits: torch.Tensor, test_specs: list, test_probabilities: np.ndarray
) -> dict[str, Any]:
    """A shifted set's metrics, and the test's on the same categories (categories models) for the drop."""
    metrics = set_metrics(info, specs, logits.double().softmax(-1).numpy())
    if eval_set.categories:
        rows = category_subset(test_specs, eval_set.categories)
        reference = set_metrics(info, [test_specs[i] for i in rows], test_probabilities[rows])["headline"]
    else:
        reference = set_metrics(info, test_specs, test_probabilities)["headline"]
    change = {
        key: (
            metrics["headline"][key] - reference[key]
            if metrics["headline"][key] is not None and reference[key] is not None
            else None
        )
        for key in ("accuracy", "f1")
    }
    return {
        "name": eval_set.name,
        "data": eval_set.data,
        "note": eval_set.note,
        "categories": eval_set.categories,
        **metrics,
        "in_distribution_same_labels": reference,
        "change": change,
    }


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def summary(models: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per model for the comparison chart and the scatter, and the rank correlation of performance with
    interpretability across the models (three or more)."""
    rows = []
    for m in models:
        head = m["in_distribution"]["headline"]
        calib = m["calibration"]["in_distribution"]
        rate = (m.get("interpretability") or {}).get("rate")
        rows.append(
            {
                "model": m["id"],
                "task": m["task"],
                "method": m["method"].get("name"),
                "in_distribution": head["accuracy"],
                "in_distribution_f1": head["f1"],
                "accuracy_name": head["accuracy_name"],
                "f1_name": head["f1_name"],
                "shift": _mean([s["headline"]["accuracy"] for s in m["shift"]["sets"]]),
                "shift_f1": _mean([s["headline"]["f1"] for s in m["shift"]["sets"]]),
                "adversarial": _mean([a["accuracy"] for a in m["adversarial"]["attacks"].values()]),
                "ece": calib["ece"],
                "ece_scaled": calib["ece_scaled"],
                "auroc": _mean([s["auroc"] for s in m["anomaly"]["sets"]]),
                "interpretability": rate,
                "interpretability_random": (m.get("interpretability") or {}).get("random"),
                "interpretability_pretrained": (m.get("interpretability") or {}).get("pretrained"),
            }
        )
    return {"rows": rows, "correlation": correlation(rows)}


def correlation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    pairs = [
        (r["interpretability"], r["in_distribution"])
        for r in rows
        if r["interpretability"] is not None and r["in_distribution"] is not None
    ]
    if len(pairs) < 3:
        return {
            "spearman": None,
            "p_value": None,
            "models": len(pairs),
            "note": "a rank correlation needs three or more checkpoints with both figures",
        }
    rho, p = spearmanr([a for a, _ in pairs], [b for _, b in pairs])
    return {
        "spearman": float(rho),
        "p_value": float(p),
        "models": len(pairs),
        "note": "Spearman's rho of the interpretability rate with in-distribution accuracy across checkpoints",
    }


def same_examples(models: list[dict[str, Any]]) -> dict[str, bool]:
    """Per task: whether every model of it was attacked on the same test pairs."""
    seen: dict[str, set] = {}
    for m in models:
        seen.setdefault(m["task"], set()).add(tuple(m["adversarial"]["source_ids"]))
    return {task: len(ids) == 1 for task, ids in seen.items()}


DEFINITIONS = {
    "in_distribution": "the task's test data (benchmark metrics; headline accuracy and F1 per kind of checkpoint)",
    "shift": "the same metrics on another domain's test data with the same labels; change = shift - test on the "
    "same categories",
    "adversarial": "accuracy under each attack on the first test pairs: right and not turned within the budget",
    "calibration": "ECE of top-1 confidence in equal-width bins (torchmetrics), before and after one temperature "
    "fitted on the dev split by NLL",
    "anomaly": "maximum softmax probability, in-distribution test (positive) vs out-of-domain inputs: AUROC, "
    "AUPR-In, FPR at 95% TPR (scikit-learn)",
    "interpretability": "Stevens & Su's rate (top-3 [CLS] attention words of the last layer hold the gold span) "
    "with its random and pretrained-model baselines",
}


def temperature_note(temperature: float | None, test: Calibration, dev: str, dev_inputs: int) -> str | None:
    """Why the temperature's figures need a second look: none fitted, or one that made the test set's calibration
    worse (fitted on a dev split the test set does not resemble, or on too few inputs)."""
    if not temperature:
        return f"not fitted: fewer than 10 dev inputs with a label the model has ({dev_inputs} dev inputs)"
    if test.ece is not None and test.ece_scaled is not None and test.ece_scaled > test.ece:
        return (
            f"temperature scaling made the test set's calibration worse (ECE {test.ece:.3f} → {test.ece_scaled:.3f}): "
            f"the temperature {temperature:.2f} fitted on {dev} ({dev_inputs} inputs) does not carry over to the test "
            "set; read the unscaled ECE"
        )
    return None

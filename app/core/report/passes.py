"""The report's model work: one evaluation pass per checkpoint over every set, the pretrained baseline's
interpretability pass, and the adversarial attacks.

Evaluation: every input of every set (test, dev, shift, out of domain) is encoded once, ordered by length
(less padding) and streamed through the checkpoint in one attention pass (app.core.passes.attention_pass): one
forward per input gives the logits that accuracy, calibration and anomaly detection all read, and, on
the test inputs, the attention Stevens & Su's interpretability rate reads (the analysis' own probe).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.heads import InterpretabilityProbe
from app.core.inputs.batching import training_max_length
from app.core.inputs.units import Unit, UnitSpec, encode_unit
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import PassBatch, Progress, Runner, Stopwatch, attention_pass
from app.core.report.plan import ReportPlan
from app.core.robustness import AttackOutcome, attack


class LogitsProbe:
    """Keeps every input's logits (float32, CPU) by its position in the pass."""

    timing = "logits"

    def __init__(self, items: int, classes: int) -> None:
        self.logits = torch.full((items, classes), float("nan"))

    def observe(self, batch: PassBatch) -> None:
        self.logits[batch.indices] = batch.logits.detach().float().cpu()


class SubsetProbe:
    """Lets a probe observe only some items' rows of each batch (e.g. the test inputs of a pass over all sets)."""

    def __init__(self, probe: Any, wanted: set[int]) -> None:
        self.probe, self.wanted, self.timing = probe, wanted, probe.timing
        self.runs_model = getattr(probe, "runs_model", False)  # where it observes follows the wrapped probe

    def observe(self, batch: PassBatch) -> None:
        rows = [r for r, i in enumerate(batch.indices) if i in self.wanted]
        if len(rows) == len(batch.indices):
            self.probe.observe(batch)
        elif rows:
            index = torch.tensor(rows, device=batch.device)
            self.probe.observe(
                PassBatch(
                    [batch.indices[r] for r in rows],
                    [batch.units[r] for r in rows],
                    {k: v[index] for k, v in batch.inputs.items()},
                    batch.logits[index],
                    batch.attention[index],
                    None if batch.reference_attention is None else batch.reference_attention[index],
                    batch.valid[index],
                )
            )


@dataclass
class Evaluated:
    """Per set (in plan order): the specs that could be encoded and their logits [n, C]; the interpretability
    probe (test inputs); encoding failures per set; pass timings."""

    specs: list[list[UnitSpec]]
    logits: list[torch.Tensor]
    skipped: list[int]
    interpretability: InterpretabilityProbe | None
    test_units: list[Unit] = field(default_factory=list)
    seconds: float = 0.0
    inputs: int = 0


def encode_plan(checkpoint: LoadedCheckpoint, plan: ReportPlan) -> tuple[list[tuple[int, int, Unit]], list[int]]:
    """(set index, position in the set, unit) for every input that could be encoded, shortest first; and the
    failures per set."""
    max_length = training_max_length(checkpoint)
    units, skipped = [], [0] * len(plan.sets)
    for k, eval_set in enumerate(plan.sets):
        for position, spec in enumerate(eval_set.specs):
            unit = encode_unit(checkpoint, spec, None, max_length)
            if unit is None:
                skipped[k] += 1
            else:
                units.append((k, position, unit))
    units.sort(key=lambda item: len(item[2].encoded.input_ids))
    return units, skipped


def evaluate_plan(
    checkpoint: LoadedCheckpoint,
    plan: ReportPlan,
    *,
    batch_size: int,
    interpretability: bool,
    runner: Runner,
    progress: Progress | None = None,
    phase: str = "evaluating",
    stopwatch: Stopwatch | None = None,
) -> Evaluated:
    """The one evaluation pass over every set of the plan."""
    started = time.perf_counter()
    units, skipped = encode_plan(checkpoint, plan)
    probe = LogitsProbe(len(units), len(checkpoint.info.labels))
    test = plan.sets.index(plan.of("test")[0])
    on_test = {i for i, (k, _, _) in enumerate(units) if k == test}
    rate = InterpretabilityProbe(checkpoint.info.task) if interpretability else None
    probes = [probe] + ([SubsetProbe(rate, on_test)] if rate is not None else [])
    pass_started = time.perf_counter()
    attention_pass(
        checkpoint,
        [u for _, _, u in units],
        lambda unit: unit,
        probes,
        batch_size=batch_size,
        runner=runner,
        progress=progress,
        phase=phase,
        stopwatch=stopwatch,
    )
    if stopwatch is not None:  # the pass's wall clock: its parts overlap where probes observe on a helper thread
        stopwatch.add("pass_wall", pass_started)
    rows: list[list[int]] = [[] for _ in plan.sets]
    for i in sorted(range(len(units)), key=lambda i: units[i][:2]):  # back to each set's own order
        rows[units[i][0]].append(i)
    specs = [[units[i][2].spec for i in r] for r in rows]
    return Evaluated(
        specs,
        [probe.logits[r] for r in rows],
        skipped,
        rate,
        [units[i][2] for i in rows[test]],
        time.perf_counter() - started,
        len(units),
    )


def pretrained_interpretability(
    pretrained: LoadedCheckpoint,
    units: Sequence[Unit],
    task: str,
    *,
    batch_size: int,
    runner: Runner,
    progress: Progress | None = None,
) -> InterpretabilityProbe:
    """The pretrained base model's interpretability rate on the same test inputs (its own attention)."""
    probe = InterpretabilityProbe(task)
    attention_pass(
        pretrained,
        list(units),
        lambda unit: unit,
        [probe],
        batch_size=batch_size,
        runner=runner,
        progress=progress,
        phase="pretrained baseline",
    )
    return probe


def adversarial(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    methods: Sequence[str],
    *,
    budget: int,
    batch_size: int,
    runner: Runner,
    progress: Callable[[int, str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Accuracy under each attack on the same sources: a source counts as right when the model predicts it
    right and the attack does not turn it within the budget. ({attack: figures}, {attack: why not run})."""
    figures, not_run = {}, {}
    for method in methods:
        try:
            outcomes = []
            for outcome in attack(
                checkpoint, sources, method, budget=budget, batch_size=max(batch_size, 32), runner=runner
            ):
                outcomes.append(outcome)
                if progress is not None:
                    progress(len(outcomes), f"attacking ({method})")
        except ValueError as exc:  # e.g. WordNet missing for PWWS
            not_run[method] = str(exc)
            continue
        figures[method] = attack_accuracy(outcomes)
    return figures, not_run


def attack_accuracy(outcomes: Sequence[AttackOutcome]) -> dict[str, Any]:
    """Sources the model gets wrong count as wrong; those that cannot be encoded or have a label the model
    lacks are not scored."""
    scored = [o for o in outcomes if o.status != "skipped" or o.reason.startswith("the model predicts")]
    attacked = [o for o in scored if o.status != "skipped"]
    held = sum(o.status == "failed" for o in attacked)
    won = [o for o in attacked if o.success]
    return {
        "n": len(scored),
        "clean_accuracy": len(attacked) / len(scored) if scored else None,
        "accuracy": held / len(scored) if scored else None,
        "success_rate": len(won) / len(attacked) if attacked else None,
        "mean_queries": sum(o.queries for o in attacked) / len(attacked) if attacked else None,
        # o.change_rate of a success: it replaced at least one of its content words, so o.words > 0
        "mean_words_changed": sum(o.words_changed / o.words for o in won) / len(won) if won else None,
        "not_scored": len(outcomes) - len(scored),
    }

"""The model tests of a robustness run: tests that need the checkpoint to make their variants (the
adversarial attacks, DiagnoseRE's Q2, and the counterfactuals, Q3), unlike the offline generators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.inputs.units import UnitSpec
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import Progress, Runner
from app.core.passes.batch_size import given_batch
from app.core.robustness import attacks, counterfactual
from app.core.robustness.context import RobustnessInputError
from app.core.robustness.metrics import rate
from app.core.robustness.settings import CPU_BATCH_SIZE, RobustnessSettings
from app.core.robustness.variants import Variant


@dataclass(frozen=True)
class ModelTest:
    name: str
    tasks: tuple[str, ...]
    family: str
    description: str


MODEL_TESTS = {
    t.name: t
    for t in (
        ModelTest(
            "q2-pwws",
            ("re", "absa"),
            "adversarial",
            "WordNet synonym swaps in word-saliency order (PWWS) on correct predictions, within the query budget",
        ),
        ModelTest(
            "q2-hotflip",
            ("re", "absa"),
            "adversarial",
            "gradient-guided word-piece flips (HotFlip) within a cosine constraint, on correct predictions",
        ),
        ModelTest(
            "q3-k1",
            ("re",),
            "counterfactual",
            "the word with the highest integrated-gradients attribution removed; the answer becomes no relation",
        ),
        ModelTest(
            "q3-k2",
            ("re",),
            "counterfactual",
            "the two words with the highest integrated-gradients attribution removed; the answer becomes no relation",
        ),
    )
}


def model_variants(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    model_tests: Sequence[str],
    settings: RobustnessSettings,
    runner: Runner,
    report: Progress,
) -> tuple[list[Variant], dict[str, list[attacks.AttackOutcome]]]:
    """The model tests' variants — the counterfactuals (source by source, in the order of k), then each
    attack's successes — and each attack's outcomes."""
    variants: list[Variant] = []
    counterfactuals = [int(t.removeprefix("q3-k")) for t in model_tests if t.startswith("q3-")]
    if counterfactuals:  # one attribution per source serves every k
        variants += counterfactual.counterfactual(
            checkpoint, sources, counterfactuals, batch_size=given_batch(settings, CPU_BATCH_SIZE), runner=runner
        )
    outcomes = {}
    for test in model_tests:
        if test.startswith("q2-"):
            outcomes[test] = attack_outcomes(checkpoint, sources, test, settings, runner, report)
            variants += [o.variant for o in outcomes[test] if o.variant is not None]
    return variants, outcomes


def attack_outcomes(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    test: str,
    settings: RobustnessSettings,
    runner: Runner,
    report: Progress,
) -> list[attacks.AttackOutcome]:
    """Every source's attack outcome (successes carry their variant)."""
    method = test.removeprefix("q2-")
    outcomes = []
    try:
        for outcome in attacks.attack(
            checkpoint,
            sources,
            method,
            budget=settings.budget,
            batch_size=max(given_batch(settings, CPU_BATCH_SIZE), 32),
            runner=runner,
        ):
            outcomes.append(outcome)
            report(len(outcomes), len(sources), f"attacking ({method})")
    except ValueError as exc:  # e.g. WordNet missing for PWWS
        raise RobustnessInputError(f"{test} cannot run: {exc}") from exc
    return outcomes


def attack_figures(outcomes: Sequence[attacks.AttackOutcome], settings: RobustnessSettings) -> dict[str, Any]:
    """Success rate (95% CI) over the attacked sources, queries spent, share of words changed."""
    attacked = [o for o in outcomes if o.status != "skipped"]
    won = [o for o in attacked if o.success]
    return {
        "attacked": len(attacked),
        "skipped": len(outcomes) - len(attacked),
        "success_rate": rate([o.success for o in attacked], settings.bootstrap, settings.seed),
        "mean_queries": sum(o.queries for o in attacked) / len(attacked) if attacked else None,
        # o.change_rate of a success: it replaced at least one of its content words, so o.words > 0
        "mean_words_changed": sum(o.words_changed / o.words for o in won) / len(won) if won else None,
        "budget": settings.budget,
    }

"""The offline robustness tests by name: what each is for, what it needs, and the suite they generate.

`build_suite(names, sources, context, task)` is the way in: it checks the names against the task,
loads WordNet when a chosen test needs it, checks that the data can support each test, and generates
the variants. Named tests that cannot run raise SuiteError (a ValueError: the web's 422) saying what
is missing; with no names, every test of the task runs that can, and the others are listed in
`not_run` with the reason.

Needs: "wordnet" (antonyms: Debian's wordnet-base); "opinions" (the aspect's opinion words: gold
ASTE opinions in the data, or the opinion lexicon); "training" (the training file, same task);
"aspects" (sentences with two or more aspects); "terms" (aspect terms written in the review).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.core.inputs.units import UnitSpec
from app.core.robustness.context import GenerationContext, SuiteError, task_of
from app.core.robustness.generators import absa_bias, arts, perturb, re_bias
from app.core.robustness.generators.phrases import training_pairs
from app.core.robustness.variants import Variant
from app.core.robustness.wordnet import WordNetUnavailableError, load_wordnet

TASKS = {"re": "relation extraction", "absa": "ABSA"}
Generator = Callable[[Sequence[UnitSpec], GenerationContext], Iterator[Variant]]


@dataclass(frozen=True)
class RobustnessTest:
    name: str
    tasks: tuple[str, ...]
    family: str  # random, selection-bias, semantic-bias, aspect
    needs: tuple[str, ...]
    description: str
    generate: Generator
    changes_label: bool = False
    debiasing: bool = False  # a shortcut probe: the report gives the accuracy on sources its variant gets wrong


BOTH = ("re", "absa")
TESTS: dict[str, RobustnessTest] = {
    t.name: t
    for t in (
        RobustnessTest("q1-typo", BOTH, "random", (), "two adjacent letters of a word swapped", perturb.typo),
        RobustnessTest(
            "q1-punctuation", BOTH, "random", (), "the end mark stripped, or a full stop added", perturb.punctuation
        ),
        RobustnessTest(
            "q1-contraction", BOTH, "random", (), "contractions expanded, or phrases contracted", perturb.contraction
        ),
        RobustnessTest("q1-number", BOTH, "random", (), "a number changed by up to 20%", perturb.number),
        RobustnessTest("q1-person", BOTH, "random", (), "person names replaced by others", perturb.person),
        RobustnessTest(
            "q1-location", BOTH, "random", (), "city and country names replaced by others", perturb.location
        ),
        RobustnessTest(
            "q4-rule-mask",
            ("re",),
            "selection-bias",
            ("training",),
            "the words that give the gold relation away (TF-IDF over the training file) removed",
            re_bias.rule_mask,
        ),
        RobustnessTest(
            "q5-entity-only",
            ("re",),
            "semantic-bias",
            (),
            "the two entities alone, no context",
            re_bias.entity_only,
            debiasing=True,
        ),
        RobustnessTest(
            "q5-entity-mask",
            ("re",),
            "semantic-bias",
            (),
            "the entities' words masked, markers kept",
            re_bias.entity_mask,
        ),
        RobustnessTest(
            "revtgt",
            ("absa",),
            "aspect",
            ("terms", "wordnet", "opinions"),
            "the target aspect's opinion reversed (antonym or negation); the gold polarity flips",
            arts.revtgt,
            changes_label=True,
        ),
        RobustnessTest(
            "revnon",
            ("absa",),
            "aspect",
            ("terms", "aspects", "wordnet", "opinions"),
            "the other aspects' opinions reversed or intensified; gold unchanged",
            arts.revnon,
        ),
        RobustnessTest(
            "adddiff",
            ("absa",),
            "aspect",
            ("training",),
            "1-3 aspect-opinion phrases of the other polarity appended; gold unchanged",
            arts.adddiff,
        ),
        RobustnessTest(
            "aspect-only",
            ("absa",),
            "semantic-bias",
            ("terms",),
            "the review reduced to the aspect term",
            absa_bias.aspect_only,
            debiasing=True,
        ),
        RobustnessTest(
            "aspect-mask",
            ("absa",),
            "semantic-bias",
            ("terms",),
            "the aspect term masked in the review",
            absa_bias.aspect_mask,
        ),
    )
}


@dataclass
class Suite:
    tests: list[RobustnessTest]
    variants: list[Variant]
    not_run: dict[str, str]  # test name -> why it did not run (only when no names were given)
    context: GenerationContext  # as used (with WordNet loaded where a test needed it)


def task_tests(task: str) -> list[RobustnessTest]:
    return [t for t in TESTS.values() if task in t.tasks]


def resolve(names: Sequence[str], task: str) -> list[RobustnessTest]:
    """The tests named, in order; SuiteError naming the accepted names for an unknown one or one of another task."""
    accepted = [t.name for t in task_tests(task)]
    chosen = []
    for name in dict.fromkeys(names):
        test = TESTS.get(name)
        if test is None:
            raise SuiteError(
                f"unknown robustness test {name!r}; accepted for {TASKS[task]}: {', '.join(accepted)}", accepted
            )
        if task not in test.tasks:
            raise SuiteError(
                f"{name} is a {' / '.join(TASKS[t] for t in test.tasks)} test and the data is "
                f"{TASKS[task]}; accepted: {', '.join(accepted)}",
                accepted,
            )
        chosen.append(test)
    return chosen


def build_suite(
    names: Sequence[str], sources: Sequence[UnitSpec], context: GenerationContext, task: str | None = None
) -> Suite:
    """Check and generate (module docstring); `task`: the checkpoint's task, which the data must fit."""
    if not sources:
        raise SuiteError("no examples to build a suite from")
    data_task = task_of(sources)
    if task is not None and task != data_task:
        raise SuiteError(
            f"the checkpoint is a {TASKS[task]} model but the data holds {TASKS[data_task]} examples; "
            f"give {TASKS[task]} data",
            [TASKS[task]],
        )
    tests = resolve(names, data_task) if names else task_tests(data_task)
    context = _with_wordnet(tests, context)
    kept, not_run = [], {}
    for test in tests:
        reason = missing(test, sources, context)
        if reason is not None and names:
            raise SuiteError(f"{test.name} cannot run: {reason}")
        if reason is not None:
            not_run[test.name] = reason
        else:
            kept.append(test)
    variants = [v for test in kept for v in test.generate(sources, context)]
    return Suite(kept, variants, not_run, context)


def _with_wordnet(tests: Sequence[RobustnessTest], context: GenerationContext) -> GenerationContext:
    if context.wordnet is not None or not any("wordnet" in t.needs for t in tests):
        return context
    try:
        return replace(context, wordnet=load_wordnet())
    except WordNetUnavailableError:
        return context  # `missing` says why, with the package to install


def missing(test: RobustnessTest, sources: Sequence[UnitSpec], context: GenerationContext) -> str | None:
    """Why the data and context cannot support `test`, or None."""
    for need in test.needs:
        reason = _CHECKS[need](test, sources, context)
        if reason is not None:
            return reason
    return None


def _wordnet(test, sources, context) -> str | None:
    if context.wordnet is not None:
        return None
    try:
        load_wordnet()  # installed: generation loads it (build_suite), so nothing is missing
    except WordNetUnavailableError as exc:
        return f"it needs WordNet for antonyms: {exc}"
    return None


def _opinions(test, sources, context) -> str | None:
    if context.lexicon is not None or any(s.opinion_spans for s in sources):
        return None
    return (
        "it needs the aspects' opinion words: the data has no gold opinions (opinion spans, as ASTE triplets have) and "
        "no opinion lexicon was found (the Hu & Liu lexicon in HEADSCOPE_SHARED_DATA/opinion_lexicon; the demo "
        "data brings its own opinion words)"
    )


def _training(test, sources, context) -> str | None:
    try:
        if test.name == "q4-rule-mask":
            re_bias.relation_training(context.training)
            return None
        pairs = training_pairs(context.training)
    except SuiteError as exc:
        return str(exc).removeprefix(f"{test.name}: ")
    if context.lexicon is None and not any(p.opinion_spans for p in pairs):
        return (
            "the training data has no gold opinions to build aspect-opinion phrases from (ASTE triplets have "
            "them) and no opinion lexicon was given"
        )
    return None


def _aspects(test, sources, context) -> str | None:
    if any(s.other_spans for s in sources):
        return None
    return "it needs sentences with two or more aspects (every MAMS sentence has them); this data has none"


def _terms(test, sources, context) -> str | None:
    if any(s.term_spans for s in sources):
        return None
    return (
        "it needs aspect terms written in the review; these pairs have none (aspect categories the review "
        "does not name, e.g. MAMS-ACSA)"
    )


_CHECKS: dict[str, Callable[[RobustnessTest, Sequence[UnitSpec], GenerationContext], str | None]] = {
    "wordnet": _wordnet,
    "opinions": _opinions,
    "training": _training,
    "aspects": _aspects,
    "terms": _terms,
}


def report_facts(test: RobustnessTest, context: GenerationContext) -> dict[str, Any]:
    """What a report lists about a test beyond its variants: for q4-rule-mask, each relation's rule words."""
    if test.name == "q4-rule-mask":
        rules = re_bias.selection_rules(re_bias.relation_training(context.training), context.rules_per_relation)
        return {"rules": rules}
    return {}

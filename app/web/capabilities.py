"""What a checkpoint and data can do, asked before a form is submitted, so the form offers only what can run.

GET /api/robustness/capabilities?model=ID&data=NAME[&train=NAME]  every test of the model's task:
    {name, family, description, needs, runnable, reason}; `reason` is the true reason a test cannot run
    (the same check the run makes, so a form that ticks only runnable tests is never refused).

GET /api/analyses/capabilities?model=ID&data=NAME  the analysis form's options (opinion words, pretrained
    baseline, importance): {name, runnable, reason}, by the data's own pairs as the run builds them.

GET /api/reports/capabilities[?models=A,B]  the report form's attacks: {attacks: [{name, runnable, reason}]},
    and per checkpoint asked about its perspectives with or without their data (shift, anomaly detection).

Data and training names are those the job forms accept (app/web/job_data.py); a name that cannot be
read, or data of the other task, is a 422 saying what is accepted, as for the run itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.data.sources import LEXICON_FOLDER, default_lexicon_path, default_training, load_lexicon
from app.core.heads.settings import AnalysisSettings
from app.core.inputs.units import AnalysisError, UnitSpec, unit_specs
from app.core.model.checkpoint import CheckpointInfo
from app.core.report.plan import ReportInputError, plan_report
from app.core.report.settings import ReportSettings
from app.core.robustness.run import test_capabilities
from app.core.robustness.settings import RobustnessSettings
from app.core.robustness.wordnet import WordNetUnavailableError, load_wordnet
from app.store.models import User
from app.web.job_context import JobContext, JobInputError
from app.web.job_data import load_named
from app.web.responses import Answer
from app.web.robustness_jobs import fitting_sources


class TestCapability(Answer):
    name: str
    family: str
    description: str
    needs: list[str]
    runnable: bool
    reason: str | None  # why it cannot run on this checkpoint and data; None when it can


class RobustnessCapabilities(Answer):
    model: str
    task: str
    data: str
    train: str | None  # the training data the tests that mine one would use (the demo data is its own)
    opinion_words: str | None  # "hu-liu" (the shared lexicon), "demo" (shipped with the demo data) or None
    sources: int  # the pairs a run would test
    tests: list[TestCapability]


def robustness_capabilities(
    model: str, data: str, train: str | None, user: User, context: JobContext
) -> dict[str, Any]:
    """Each test of the model's task on `data` (and `train`): runnable, or the reason it is not."""
    info = context.registry.info(model)  # 404 listing the known ids
    dataset = load_named(data, user, context)
    training = load_named(train, user, context, "train") if train else default_training(data)
    settings = RobustnessSettings()
    sources = fitting_sources(info, dataset, settings, data)
    lexicon_path = default_lexicon_path(context.settings.shared_data, data)
    shared = default_lexicon_path(context.settings.shared_data)
    words = None if lexicon_path is None else "hu-liu" if lexicon_path == shared else "demo"
    tests = test_capabilities(info.task, sources, settings, training, load_lexicon(lexicon_path))
    return {
        "model": info.id,
        "task": info.task,
        "data": data,
        "train": train or (data if training is not None else None),
        "opinion_words": words,
        "sources": len(sources),
        "tests": tests,
    }


class OptionCapability(Answer):
    name: str
    runnable: bool
    reason: str | None


# --- GET /api/analyses/capabilities: the analysis form's options ---------------------------------


class AnalysisCapabilities(Answer):
    model: str
    task: str
    data: str
    pairs: int  # the pairs the data gives this checkpoint (before max_examples)
    opinion_words: str | None  # "gold" (the data's own), "hu-liu" (the shared lexicon) or None
    options: list[OptionCapability]


def analysis_capabilities(model: str, data: str, user: User, context: JobContext) -> dict[str, Any]:
    """Each option of the analysis form on this checkpoint and data: runnable, or the true reason it is not."""
    info = context.registry.info(model)  # 404 listing the known ids
    dataset = load_named(data, user, context)
    try:
        specs, _ = unit_specs(info, list(dataset.examples), data, AnalysisSettings().pairs)
    except AnalysisError as exc:  # the run's own check, as a 422 naming the data
        raise JobInputError(f"{data} does not fit {info.id} ({info.task}, {info.format}): {exc}", "data") from exc
    words = _opinion_words(info.task, specs, context.settings.shared_data)
    return {
        "model": info.id,
        "task": info.task,
        "data": data,
        "pairs": len(specs),
        "opinion_words": words,
        "options": [
            _option("lexicon", _opinion_reason(info.task, words)),
            _option("pretrained", _pretrained_reason(info)),
            _option("importance", _importance_reason(specs)),
        ],
    }


def _option(name: str, reason: str | None) -> dict[str, Any]:
    return {"name": name, "runnable": reason is None, "reason": reason}


def _opinion_words(task: str, specs: list[UnitSpec], shared_data: Path | None) -> str | None:
    """Where the aspect-sentiment statistic's opinion words would come from (as the analysis picks them)."""
    if task != "absa":
        return None
    if any(spec.opinion_spans for spec in specs):
        return "gold"
    return "hu-liu" if default_lexicon_path(shared_data) is not None else None


def _opinion_reason(task: str, words: str | None) -> str | None:
    if task != "absa":
        return "opinion words are an aspect-sentiment (ABSA) statistic; a relation checkpoint has none"
    if words is None:
        return (
            "the data has no gold opinion words and HEADSCOPE_SHARED_DATA has no Hu & Liu lexicon "
            f"({LEXICON_FOLDER}/): the aspect-sentiment statistic would have nothing to attend to"
        )
    return None


def _pretrained_reason(info: CheckpointInfo) -> str | None:
    if info.metadata.get("baseline"):
        return "this checkpoint is itself the pretrained model: a pretrained baseline would compare it with itself"
    return None


def _importance_reason(specs: list[UnitSpec]) -> str | None:
    """Importance and ablation read the loss and the accuracy: they need pairs with a gold label."""
    if any(spec.polarity is not None for spec in specs):
        return None
    return f"none of the {len(specs)} pairs has a gold label: importance and ablation need the loss and the accuracy"


# --- GET /api/reports/capabilities: the report form's attacks -------------------------------------


class CheckpointPerspectives(Answer):
    model: str
    perspectives: list[OptionCapability]  # in distribution, shift, anomaly detection: whether each has its data


class ReportCapabilities(Answer):
    attacks: list[OptionCapability]
    checkpoints: list[CheckpointPerspectives] = []


def report_capabilities(models: list[str], user: User, context: JobContext) -> dict[str, Any]:
    """The report's adversarial attacks (PWWS needs WordNet's synonyms, HotFlip only the model) and, per
    checkpoint asked about, the perspectives that have their data here (the report's own plan)."""
    try:
        load_wordnet()
        pwws = None
    except WordNetUnavailableError as exc:
        pwws = f"PWWS needs WordNet for synonyms: {exc}"
    return {
        "attacks": [
            {"name": "pwws", "runnable": pwws is None, "reason": pwws},
            {"name": "hotflip", "runnable": True, "reason": None},
        ],
        "checkpoints": [_perspectives(model, user, context) for model in models],
    }


def _perspectives(model: str, user: User, context: JobContext) -> dict[str, Any]:
    info = context.registry.info(model)  # 404 listing the known ids
    try:
        plan = plan_report(info, ReportSettings(), context.settings.shared_data, lambda n: load_named(n, user, context))
    except ReportInputError as exc:  # no test data: the checkpoint cannot be reported at all
        reason = context.public.text(str(exc))
        return {"model": info.id, "perspectives": [_option(p, reason) for p in ("in_distribution", "shift", "anomaly")]}
    shift = None if plan.of("shift") else plan.missing.get("shift") or "no shifted test set with its labels here"
    anomaly = None if plan.of("ood") else "no out-of-domain text for its inputs here"
    return {
        "model": info.id,
        "perspectives": [_option("in_distribution", None), _option("shift", shift), _option("anomaly", anomaly)],
    }

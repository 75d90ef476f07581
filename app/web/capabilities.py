"""What a checkpoint and data can do, asked before a form is submitted, so the form offers only what can run.

GET /api/robustness/capabilities?model=ID&data=NAME[&train=NAME]  every test of the model's task:
    {name, family, description, needs, runnable, reason}; `reason` is the true reason a test cannot run
    (the same check the run makes, so a form that ticks only runnable tests is never refused).

GET /api/reports/capabilities  the report form's attacks: {attacks: [{name, runnable, reason}]}.

Data and training names are those the job forms accept (app/web/job_data.py); a name that cannot be
read, or data of the other task, is a 422 saying what is accepted, as for the run itself.
"""

from __future__ import annotations

from typing import Any

from app.core.data.sources import default_lexicon_path, default_training, load_lexicon
from app.core.robustness.run import test_capabilities
from app.core.robustness.settings import RobustnessSettings
from app.core.robustness.wordnet import WordNetUnavailableError, load_wordnet
from app.store.models import User
from app.web.job_context import JobContext
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


# --- GET /api/reports/capabilities: the report form's attacks -------------------------------------


class OptionCapability(Answer):
    name: str
    runnable: bool
    reason: str | None


class ReportCapabilities(Answer):
    attacks: list[OptionCapability]


def report_capabilities() -> dict[str, Any]:
    """The report's adversarial attacks: PWWS needs WordNet (its synonyms); HotFlip needs only the model."""
    try:
        load_wordnet()
        pwws = None
    except WordNetUnavailableError as exc:
        pwws = f"PWWS needs WordNet for synonyms: {exc}"
    return {
        "attacks": [
            {"name": "pwws", "runnable": pwws is None, "reason": pwws},
            {"name": "hotflip", "runnable": True, "reason": None},
        ]
    }

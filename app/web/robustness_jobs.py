"""Robustness runs as a kind of background job (app/web/jobs.py): the robustness suite from the web.

Key parts: the result version, the checkpoint's fingerprint, the data file's sha256 and format, the
training file's (tests that need one), the opinion lexicon, and every `RobustnessSettings` field, so
asking again for the same run returns the stored result.

Data (`data`, `train`): what analyses accept (app/web/analysis_jobs.py): the bundled demo data, a
file under HEADSCOPE_SHARED_DATA by its relative path, or "upload:<sha256>" of the user's own JSONL
(or `upload` with the JSONL itself). Everything that can be refused is refused before the job is
queued, as a 422 naming what is accepted: an unknown test, a test of the other task, data of the
other task, a test the data cannot support (e.g. no training file); nothing is stored then.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.data.readers import Dataset
from app.core.data.sources import (
    checkpoint_fingerprint,
    data_fingerprint,
    default_lexicon_path,
    default_training,
    load_lexicon,
    source_kind,
)
from app.core.model.registry import ModelRegistry
from app.core.robustness.context import RobustnessInputError
from app.core.robustness.generators.catalog import TASKS
from app.core.robustness.result import ROBUSTNESS_VERSION
from app.core.robustness.run import available_tests, check_tests, choose_tests, robustness_sources, run_robustness
from app.core.robustness.settings import RobustnessSettings
from app.store.models import User
from app.web.job_context import JobContext, JobInputError, Prepared
from app.web.job_data import data_name, load_named, public_result
from app.web.jobs import Job, JobKind


class RobustnessInputs(BaseModel):
    """What a robustness run takes besides the checkpoint: the data, training data and settings (a run of one
    checkpoint and a run over a seed group alike)."""

    model_config = ConfigDict(extra="forbid")

    data: str | None = Field(
        default=None,
        max_length=1000,
        description="demo-absa, demo-re, a path relative to HEADSCOPE_SHARED_DATA, or upload:<sha256>",
    )
    upload: str | None = Field(default=None, description="JSONL text (headscope's own format) to use instead of `data`")
    train: str | None = Field(
        default=None, max_length=1000, description="training data for the tests that need it (same names as `data`)"
    )
    settings: RobustnessSettings = Field(default_factory=RobustnessSettings)


class RobustnessRequest(RobustnessInputs):
    model: str = Field(description="checkpoint id (GET /api/models)")


class RobustnessJobs(JobKind):
    name = "robustness"
    noun = "robustness run"
    request = RobustnessRequest
    takes_uploads = True

    def tests(self, registry: ModelRegistry, model: str) -> dict[str, Any]:
        info = registry.info(model)  # 404 listing the known ids
        return {"model": info.id, "task": info.task, "tests": available_tests(info.task)}

    # --- prepare: everything is checked before the job is queued ---------------------------------

    def prepare(self, body: RobustnessRequest, user: User, context: JobContext) -> Prepared:
        info = context.registry.info(body.model)  # UnknownModelError -> 404 listing the known ones
        name = data_name(body.data, body.upload, user, context)
        dataset = load_named(name, user, context)
        train = load_named(body.train, user, context, "train") if body.train else default_training(name)
        settings = body.settings
        sources = self._check(info, name, dataset, train, settings, context)
        lexicon = default_lexicon_path(context.settings.shared_data, name)
        sha = data_fingerprint(dataset)
        key_parts = {
            "version": ROBUSTNESS_VERSION,
            "checkpoint": checkpoint_fingerprint(info),
            "data": sha,
            "data_format": dataset.format,
            "train": data_fingerprint(train) if train else None,
            "lexicon": str(lexicon) if lexicon else None,
            "settings": settings.model_dump(mode="json"),
        }
        data = {
            "name": name,
            "kind": source_kind(name),
            "sha256": sha,
            "format": dataset.format,
            "examples": len(dataset.examples),
            "sources": sources,
        }
        description = {
            "model": info.id,
            "data": data,
            "train": body.train or (name if train is not None else None),
            "settings": settings.model_dump(mode="json"),
        }
        return Prepared(key_parts, description, sources, inputs=(dataset, train))

    @staticmethod
    def _check(
        info, name: str, dataset: Dataset, train: Dataset | None, settings: RobustnessSettings, context: JobContext
    ) -> int:
        """The sources the run will use (a count); 422 for a test, data or training file that cannot run."""
        try:
            choose_tests(settings.tests, info.task)  # unknown names, the other task's
        except RobustnessInputError as exc:
            raise JobInputError(str(exc), "settings.tests", exc.accepted) from exc
        sources = fitting_sources(info, dataset, settings, name)
        try:
            check_tests(
                info.task,
                sources,
                settings,
                train,
                load_lexicon(default_lexicon_path(context.settings.shared_data, name)),
            )
        except RobustnessInputError as exc:
            raise JobInputError(
                str(exc).replace(" cannot run:", f" cannot run on {name}:", 1), "settings.tests", exc.accepted
            ) from exc
        return len(sources)

    # --- run: on the job thread, model work batch by batch on the model thread -------------------

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        settings = RobustnessSettings(**job.description["settings"])
        run = context.run_on_model_thread
        loaded = run(lambda: context.registry.get(job.description["model"]))
        dataset, train = job.inputs
        lexicon = load_lexicon(default_lexicon_path(context.settings.shared_data, job.description["data"]["name"]))
        result = run_robustness(
            loaded,
            dataset,
            settings,
            name=job.description["data"]["name"],
            training=train,
            lexicon=lexicon,
            runner=run,
            progress=job.report,
        ).to_json()
        result["robustness_id"] = job.id
        result["job"] = {
            "data": job.description["data"],
            "train": job.description["train"],
            "settings": job.description["settings"],
        }
        return self.upgrade(result, context)

    # --- stored results --------------------------------------------------------------------------

    def upgrade(self, result: dict[str, Any], context: JobContext) -> dict[str, Any]:
        return public_result(result, context, name_data=True)

    def stored_description(self, result: dict[str, Any]) -> tuple[dict[str, Any], int]:
        job = result.get("job") or {}
        data = job.get("data") or {}
        return (
            {
                "model": result["model"]["id"],
                "data": data,
                "train": job.get("train"),
                "settings": job.get("settings") or {},
            },
            int(data.get("sources") or 0),
        )


def fitting_sources(info, dataset: Dataset, settings: RobustnessSettings, name: str):
    """The run's sources from `dataset`; 422 naming the data the checkpoint's task takes when it does not fit."""
    try:
        return robustness_sources(info, dataset, settings, name)
    except RobustnessInputError as exc:
        raise JobInputError(
            f"{name} does not fit {info.id} ({TASKS[info.task]}, {info.format}): {exc}",
            "data",
            exc.accepted or [f"{TASKS[info.task]} data"],
        ) from exc

"""Model reports as a kind of background job (app/web/jobs.py): `headscope report` from the web.

Key parts: the result version, per checkpoint its fingerprint, pretrained base and data plan (every set's
data name, sha256 and size: app/core/report/plan.py), whether WordNet is there for PWWS, and every
`ReportSettings` field, so asking again for the same report returns the stored result.

Everything that can be refused is refused before the job is queued (422 naming what is accepted): an
unknown setting, a checkpoint named twice, a shifted set whose labels are not the model's, an empty
out-of-domain set, data nobody can read; an unknown checkpoint is a 404 listing the known ones.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.data.readers import Dataset
from app.core.data.sources import checkpoint_fingerprint, load_data_source
from app.core.model.checkpoint import CheckpointError
from app.core.model.pretrained import KeptBaseline, pretrained_location
from app.core.report.plan import ReportInputError, ReportPlan
from app.core.report.run import REPORT_VERSION, plan_all, run_report, work_total
from app.core.report.seed_summary import Entry, checkpoint_ids, grouped, resolve_entries, seed_summary
from app.core.report.settings import ReportSettings
from app.store.models import User
from app.web.job_context import JobContext, JobInputError, Prepared
from app.web.jobs import Job, JobKind
from app.web.uploads import PREFIX as UPLOAD_PREFIX

MAX_MODELS = 8
MAX_CHECKPOINTS = 16  # the checkpoints the entries run, seed groups' members counted one by one


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(
        min_length=1,
        max_length=MAX_MODELS,
        description="checkpoint ids (GET /api/models) or seed groups NAME@13,14,15 (GET /api/reports/groups)",
    )
    settings: ReportSettings = Field(default_factory=ReportSettings)


def wordnet_available() -> bool:
    from app.core.robustness.wordnet import WordNetUnavailableError, load_wordnet

    try:
        load_wordnet()
    except WordNetUnavailableError:
        return False
    return True


class ReportJobs(JobKind):
    name = "reports"
    noun = "report"
    request = ReportRequest

    def __init__(self) -> None:
        self._pretrained = KeptBaseline()

    # --- prepare: everything is checked before the job is queued ---------------------------------

    def prepare(self, body: ReportRequest, user: User, context: JobContext) -> Prepared:
        entries, checkpoints = self._entries(body.models, context)
        infos = [context.registry.info(m) for m in checkpoints]  # UnknownModelError -> 404 listing the known ones
        settings = body.settings
        try:
            plans = plan_all(
                infos, settings, context.settings.shared_data, lambda name: self._load(name, user, context)
            )
        except ReportInputError as exc:
            raise JobInputError(context.public.text(str(exc)), exc.field, exc.accepted or None) from exc
        wordnet = "pwws" in settings.attacks and wordnet_available()
        key_parts = {
            "version": REPORT_VERSION,
            "settings": settings.model_dump(mode="json"),
            "wordnet": wordnet,
            "models": [
                {
                    "checkpoint": checkpoint_fingerprint(info),
                    "pretrained": pretrained_location(info),
                    "plan": plan.key(),
                }
                for info, plan in zip(infos, plans)
            ],
        }
        description = {
            "model": "+".join(body.models),
            "models": body.models,
            "settings": settings.model_dump(mode="json"),
            "data": {plan.model: plan.describe() for plan in plans},
        }
        if grouped(entries):  # the seed-group summary is part of the result (a report of single checkpoints: as before)
            key_parts["entries"] = body.models
            description["checkpoints"] = checkpoints
        return Prepared(key_parts, description, work_total(plans, settings), inputs=(plans, entries))

    @staticmethod
    def _entries(models: list[str], context: JobContext) -> tuple[list[Entry], list[str]]:
        """The seed groups and checkpoints asked for, and every checkpoint they run (422 on a bad group, a
        checkpoint named twice, too many checkpoints)."""
        try:
            entries = resolve_entries(models, context.registry.infos)
        except CheckpointError as exc:
            raise JobInputError(str(exc), "models") from exc
        checkpoints = checkpoint_ids(entries)
        if len(set(checkpoints)) != len(checkpoints):
            raise JobInputError(f"models names a checkpoint twice: {', '.join(checkpoints)}", "models")
        if len(checkpoints) > MAX_CHECKPOINTS:
            raise JobInputError(
                f"models run {len(checkpoints)} checkpoints (seed groups count each seed); at most {MAX_CHECKPOINTS}",
                "models",
            )
        return entries, checkpoints

    @staticmethod
    def _load(name: str, user: User, context: JobContext) -> Dataset:
        """A user's shift / OOD data by the web's rules (demo data, shared files, their own uploads)."""
        mine = not name.startswith(UPLOAD_PREFIX) or context.uploads.may_use(name, user)
        return load_data_source(
            name, shared_data=context.settings.shared_data, uploads=context.uploads.folder if mine else None
        )

    # --- run: on the job thread, model work batch by batch on the model thread -------------------

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        settings = ReportSettings(**job.description["settings"])
        run = context.run_on_model_thread
        plans: list[ReportPlan]
        plans, entries = job.inputs
        checkpoints = [run(partial(context.registry.get, m)) for m in checkpoint_ids(entries)]
        result = run_report(
            checkpoints,
            plans,
            settings,
            pretrained_for=lambda c: self._pretrained.of(c, runner=run),
            runner=run,
            progress=job.report,
        )
        if grouped(entries):
            result["seed_groups"] = seed_summary(result, entries)
        result["report_id"] = job.id
        result["job"] = {
            **{
                key: job.description[key]
                for key in ("model", "models", "checkpoints", "settings", "data")
                if key in job.description
            },
            "total": job.total,
        }
        return self.upgrade(result, context)

    # --- stored results --------------------------------------------------------------------------

    def upgrade(self, result: dict[str, Any], context: JobContext) -> dict[str, Any]:
        """The result as users see it: no server folder in any model's base model, and the smallest n the page
        compares a figure on (HEADSCOPE_MIN_N, docs/concepts.md#minimum-n)."""
        result["min_n"] = context.settings.min_n
        for model in result.get("models") or []:
            if isinstance(model.get("base_model"), str):
                model["base_model"] = context.public.text(model["base_model"])
        return result

    def stored_description(self, result: dict[str, Any]) -> tuple[dict[str, Any], int]:
        job = dict(result.get("job") or {})
        return job, int(job.pop("total", 0) or 0)

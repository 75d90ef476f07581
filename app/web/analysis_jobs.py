"""Head analyses as a kind of background job (app/web/jobs.py): `headscope analyze` from the web.

Key parts: the result version, the checkpoint's fingerprint (weights, config, tokenizer,
headscope.json), the data file's sha256 and format, the lexicon, the pretrained base and every
`AnalysisSettings` field, so asking again for the same analysis returns the stored result.

Data (`data`): the bundled demo data ("demo-absa", "demo-re"), a file under HEADSCOPE_SHARED_DATA
by its relative path, or "upload:<sha256>" for JSONL the same user posted earlier (or posts now as
`upload`; app/web/uploads.py). Errors name the data as the user gave it; results served name it so
too, and no server folder (app/web/paths.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.data.demo import DEMO_DATASETS
from app.core.data.readers import OpinionLexicon
from app.core.data.sources import (
    checkpoint_fingerprint,
    data_fingerprint,
    default_lexicon_path,
    load_lexicon,
    shared_datasets,
    source_kind,
)
from app.core.faithfulness import FaithfulnessSettings, faithfulness_of_data
from app.core.heads.analysis import analyze
from app.core.heads.result import RESULT_VERSION, upgrade_result
from app.core.heads.settings import AnalysisSettings
from app.core.inputs.units import AnalysisError, unit_specs
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.pretrained import KeptBaseline, pretrained_location
from app.store.models import User
from app.web.job_context import JobContext, JobInputError, Prepared
from app.web.job_data import data_name, load_named, public_result
from app.web.jobs import Job, JobKind

ANALYSIS_PATHS = ("pretrained", "lexicon")  # the settings that may name a server folder
UPLOAD_HELP = 'POST /api/analyses with "upload": JSONL text (docs: app/core/data/readers/user_jsonl.py)'


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="checkpoint id (GET /api/models)")
    data: str | None = Field(
        default=None,
        max_length=1000,
        description="demo-absa, demo-re, a path relative to HEADSCOPE_SHARED_DATA, or upload:<sha256>",
    )
    upload: str | None = Field(
        default=None, description="JSONL text (headscope's own format) to analyse instead of `data`"
    )
    settings: AnalysisSettings = Field(default_factory=AnalysisSettings)
    faithfulness: FaithfulnessSettings = Field(
        default_factory=FaithfulnessSettings,
        description="faithfulness by erasure on the first `limit` pairs (limit 0: off), beside the analysis",
    )


class AnalysisJobs(JobKind):
    name = "analyses"
    noun = "analysis"
    request = AnalysisRequest
    takes_uploads = True

    def __init__(self) -> None:
        self._pretrained = KeptBaseline()

    def datasets(self, user: User, context: JobContext) -> dict[str, Any]:
        """What `data` accepts: the demo datasets, the shared data files, the user's own uploads."""
        shared = context.settings.shared_data
        demo = [
            {"name": d.name, "task": d.task, "description": d.description, "kind": "demo"}
            for d in DEMO_DATASETS.values()
        ]
        return {
            "demo": demo,
            "shared": shared_datasets(shared),
            "uploads": context.uploads.of(user),
            "shared_data": shared is not None,
            "upload": UPLOAD_HELP,
        }

    # --- prepare: everything is checked before the job is queued ---------------------------------

    def prepare(self, body: AnalysisRequest, user: User, context: JobContext) -> Prepared:
        info = context.registry.info(body.model)  # UnknownModelError -> 404 listing the known ones
        name = data_name(body.data, body.upload, user, context)
        dataset = load_named(name, user, context)
        settings = body.settings
        try:
            specs, pairing = unit_specs(info, list(dataset.examples), name, settings.pairs)
        except AnalysisError as exc:
            raise JobInputError(f"{name} does not fit {info.id} ({info.task}, {info.format}): {exc}", "data") from exc
        total = len(specs) if settings.max_examples is None else min(settings.max_examples, len(specs))
        if total == 0:
            raise JobInputError(f"{name} gives {info.id} no pairs to analyse", "data")
        lexicon = default_lexicon_path(context.settings.shared_data) if settings.lexicon else None
        sha = data_fingerprint(dataset)
        key_parts = {
            "version": RESULT_VERSION,
            "checkpoint": checkpoint_fingerprint(info),
            "data": sha,
            "data_format": dataset.format,
            "lexicon": str(lexicon) if lexicon else None,
            "pretrained": pretrained_location(info) if settings.pretrained else None,
            "settings": settings.model_dump(mode="json"),
        }
        if body.faithfulness.limit:  # absent when off: the cache keys of analyses without it stay as they were
            key_parts["faithfulness"] = body.faithfulness.model_dump(mode="json")
        data = {
            "name": name,
            "kind": source_kind(name),
            "sha256": sha,
            "format": dataset.format,
            "examples": len(dataset.examples),
            "pairing": pairing,
            "pairs": total,
        }
        description = {"model": info.id, "data": data, "settings": settings.model_dump(mode="json")}
        if body.faithfulness.limit:
            description["faithfulness"] = body.faithfulness.model_dump(mode="json")
        return Prepared(key_parts, description, total, inputs=dataset)

    def rerun_request(self, body: BaseModel, prepared: Prepared) -> dict[str, Any]:
        """As every kind's, without the faithfulness settings when it was off (as its cache key leaves them out)."""
        request = super().rerun_request(body, prepared)
        if "faithfulness" not in prepared.description:
            request.pop("faithfulness", None)
        return request

    # --- run: on the job thread, model work batch by batch on the model thread -------------------

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        settings = AnalysisSettings(**job.description["settings"])
        run = context.run_on_model_thread
        loaded = run(lambda: context.registry.get(job.description["model"]))
        pretrained = self._pretrained.of(loaded, runner=run) if settings.pretrained else None
        lexicon = load_lexicon(default_lexicon_path(context.settings.shared_data) if settings.lexicon else None)
        dataset, name = job.inputs, job.description["data"]["name"]
        job.report(0, job.total, "statistics")
        try:
            result = analyze(
                loaded, dataset, settings, pretrained=pretrained, lexicon=lexicon, progress=job.report, runner=run
            ).to_json()
        except AnalysisError as exc:
            raise AnalysisError(str(exc).replace(str(dataset.path), name)) from None
        if "faithfulness" in job.description:
            result["faithfulness"] = self._faithfulness(job, loaded, settings, run, lexicon)
        result["analysis_id"] = job.id
        result["job"] = {"data": job.description["data"], "settings": job.description["settings"]}
        return public_result(result, context, settings_keys=ANALYSIS_PATHS)

    def _faithfulness(
        self, job: Job, loaded: LoadedCheckpoint, settings: AnalysisSettings, run, lexicon: OpinionLexicon | None
    ) -> dict[str, Any]:
        """Faithfulness by erasure on the first pairs of the same data (app.core.faithfulness), on the model thread;
        plausibility reads the analysis's opinion words (gold spans, else the lexicon's)."""
        chosen = FaithfulnessSettings(**job.description["faithfulness"])
        section = faithfulness_of_data(
            loaded,
            job.inputs.examples,
            job.description["data"]["name"],
            settings.pairs,
            chosen,
            lexicon=lexicon,
            batch_size=settings.batch_size,
            bootstrap=settings.bootstrap,
            seed=settings.seed,
            runner=run,
            progress=job.report,
        )
        return section.to_json()

    # --- stored results --------------------------------------------------------------------------

    def upgrade(self, result: dict[str, Any], context: JobContext) -> dict[str, Any]:
        return public_result(upgrade_result(result), context, settings_keys=ANALYSIS_PATHS)

    def stored_description(self, result: dict[str, Any]) -> tuple[dict[str, Any], int]:
        job = result.get("job") or {}
        data = job.get("data") or {}
        return {"model": result["model"]["id"], "data": data, "settings": job.get("settings") or {}}, int(
            data.get("pairs") or 0
        )

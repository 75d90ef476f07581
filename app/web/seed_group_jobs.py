"""Head roles across seeds as a kind of background job (app/web/jobs.py): `headscope analyze --model NAME@SEEDS`
from the web.

A request names a seed group (app.core.model.seed_groups) and the data and settings of an analysis. Its
`prepare` asks the queue for each seed's own head analysis (an ordinary analysis job, or its stored result: the
same cache key as when one analyses that checkpoint alone) before the group job itself, so that the one job
thread has finished them when the group job runs; the group job then compares their labelled heads
(app.core.heads.seed_stability). Each member's analysis stays one click away (/analysis?id=...).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.heads.seed_stability import group_result
from app.core.heads.settings import AnalysisSettings
from app.core.model.errors import CheckpointError
from app.core.model.seed_groups import SeedGroup, list_groups, resolve_group
from app.store.models import User
from app.web.analysis_jobs import AnalysisJobs, AnalysisRequest
from app.web.job_context import JobContext, JobInputError, Prepared
from app.web.jobs import Job, JobKind
from app.web.seed_group_schema import SeedGroupResult


class SeedGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(max_length=300, description="NAME@13,14,15 (GET /api/analysis-groups/groups)")
    data: str = Field(
        max_length=1000,
        description="as for POST /api/analyses: demo-absa, demo-re, a path relative to HEADSCOPE_SHARED_DATA, "
        "or upload:<sha256>",
    )
    settings: AnalysisSettings = Field(default_factory=AnalysisSettings)


class SeedGroupJobs(JobKind):
    name = "analysis-groups"
    noun = "seed-group analysis"
    request = SeedGroupRequest

    def groups(self, context: JobContext) -> dict[str, Any]:
        """The seed groups of the models folder (two or more seeds each)."""
        tasks = {info.id: info.task for info in context.registry.infos}
        return {"groups": [describe_group(g, tasks[g.checkpoint_ids[0]]) for g in list_groups(context.registry.infos)]}

    def prepare(self, body: SeedGroupRequest, user: User, context: JobContext) -> Prepared:
        try:
            group = resolve_group(body.group, context.registry.infos)
        except CheckpointError as exc:
            accepted = [g.label for g in list_groups(context.registry.infos)]
            raise JobInputError(str(exc), "group", accepted=accepted) from None
        assert context.jobs is not None  # the queue sets itself
        analyses = [
            context.jobs.submit_dependency(
                AnalysisJobs.name, AnalysisRequest(model=model_id, data=body.data, settings=body.settings), user
            )
            for model_id in group.checkpoint_ids
        ]
        members = [
            {"seed": seed, "model": model_id, "analysis_id": analysis_id}
            for (seed, model_id), analysis_id in zip(group.members, analyses, strict=True)
        ]
        description = {
            "model": group.label,  # what the download's file name and the history show
            "group": group.label,
            "members": members,
            "data": {"name": body.data},
            "settings": body.settings.model_dump(mode="json"),
        }
        return Prepared({"group": group.label, "analyses": analyses}, description, total=len(members))

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        assert context.jobs is not None
        members = job.description["members"]
        analyses = []
        for done, member in enumerate(members):
            try:
                analyses.append(context.jobs.finished_result(AnalysisJobs.name, member["analysis_id"]))
            except RuntimeError as exc:
                raise RuntimeError(f"seed {member['seed']} ({member['model']}): {exc}") from None
            job.report(done + 1, len(members), "comparing")
        group = SeedGroup(job.description["group"].partition("@")[0], tuple((m["seed"], m["model"]) for m in members))
        found = group_result(group.label, group.name, group.seeds, analyses)
        return SeedGroupResult.model_validate(found).model_dump(mode="json")


def describe_group(group: SeedGroup, task: str) -> dict[str, Any]:
    return {
        "label": group.label,
        "task": task,
        "name": group.name,
        "seeds": list(group.seeds),
        "models": list(group.checkpoint_ids),
    }

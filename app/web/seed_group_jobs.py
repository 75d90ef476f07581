"""Jobs over a seed group (app/web/jobs.py): `headscope analyze|robustness --model NAME@SEEDS` from the web.

A request names a seed group (app.core.model.seed_groups) and what each member runs. `GroupJobs` is what every
such kind shares: the groups of the models folder, a bad group refused as a 422 naming the groups there, each
seed's own job asked for as a dependency (an ordinary job of the member kind, or its stored result: the same cache
key as when one runs that checkpoint alone) before the group job itself, so that the one job thread has finished
them when the group job runs, and their results collected for the comparison. Each member's own job stays one
click away (its id in the result).

`SeedGroupJobs` is head roles across seeds: each seed's head analysis, then the comparison of their labelled heads
(app.core.heads.seed_stability). The robustness suite over a group is app/web/robustness_group_jobs.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.core.heads.seed_stability import GROUP_RESULT_VERSION, group_result
from app.core.heads.settings import AnalysisSettings
from app.core.model.errors import CheckpointError
from app.core.model.seed_groups import SeedGroup, list_groups, resolve_group
from app.store.models import User
from app.store.store_errors import StoreError
from app.web.analysis_jobs import AnalysisJobs, AnalysisRequest
from app.web.job_context import JobContext, JobInputError, Prepared
from app.web.jobs import Job, JobKind
from app.web.seed_group_schema import SeedGroupResult

GROUP_FIELD = Field(max_length=300, description="NAME@13,14,15 (GET /api/analysis-groups/groups)")


class GroupJobs(JobKind):
    """A kind whose job compares the jobs of `member_kind` run on each seed of a group (module docstring)."""

    member_kind: ClassVar[str]  # the kind each seed's own job is (e.g. "analyses")
    member_id: ClassVar[str]  # the result field naming that job (e.g. "analysis_id")
    member_key: ClassVar[str]  # the cache key's entry listing the members' jobs (e.g. "analyses")
    result_version: ClassVar[int]  # the format of the comparison's result, in the cache key

    def groups(self, context: JobContext) -> dict[str, Any]:
        """The seed groups of the models folder (two or more seeds each)."""
        tasks = {info.id: info.task for info in context.registry.infos}
        return {"groups": [describe_group(g, tasks[g.checkpoint_ids[0]]) for g in list_groups(context.registry.infos)]}

    def resolve(self, text: str, context: JobContext) -> SeedGroup:
        """The group's checkpoints; 422 on `group` with seed_groups' message (a missing seed, checkpoints that differ
        in task or shape) and the groups there, before any seed's job is queued."""
        try:
            return resolve_group(text, context.registry.infos)
        except CheckpointError as exc:
            accepted = [g.label for g in list_groups(context.registry.infos)]
            raise JobInputError(str(exc), "group", accepted=accepted) from None

    def submit_members(
        self, group: SeedGroup, member_request: Callable[[str], BaseModel], user: User, context: JobContext
    ) -> list[dict[str, Any]]:
        """Each seed's own job (`member_request(checkpoint id)`), queued ahead of the group job: [{seed, model, id}].
        A new member is refused (429) when the user has no room left, as the group would be."""
        assert context.jobs is not None  # the queue sets itself
        return [
            {
                "seed": seed,
                "model": model_id,
                self.member_id: context.jobs.submit_dependency(self.member_kind, member_request(model_id), user),
            }
            for seed, model_id in group.members
        ]

    def prepared(
        self, group: SeedGroup, members: list[dict[str, Any]], data: str, settings: BaseModel, **more: Any
    ) -> Prepared:
        """The group job: its description (the group, also as the `model` the download's file name and the history
        show, its members, data, `more` and settings) and its cache key: the result's format version, the group and its
        members' jobs."""
        description = {
            "model": group.label,
            "group": group.label,
            "members": members,
            "data": {"name": data},
            **more,
            "settings": settings.model_dump(mode="json"),
        }
        key_parts: dict[str, Any] = {"group": group.label, self.member_key: [m[self.member_id] for m in members]}
        if self.result_version > 1:  # absent for the first format: the groups stored before it keep their ids
            key_parts["version"] = self.result_version
        return Prepared(key_parts, description, total=len(members))

    def compared(
        self, job: Job, context: JobContext, compare: Callable[[str, str, Sequence[int], Sequence[Mapping]], dict]
    ) -> dict[str, Any]:
        """`compare(label, name, seeds, results)` over the finished results of the group's members."""
        results = self.member_results(job, context)
        group = self.job_group(job)
        return compare(group.label, group.name, group.seeds, results)

    def visibility_set(self, job: Job, user: User, visibility: str, context: JobContext) -> None:
        """Sharing a group shares each seed's own job it links to, where the user may (private leaves them be)."""
        assert context.jobs is not None
        if visibility != "shared":
            return
        for member in job.description["members"]:
            try:
                context.jobs.set_visibility(
                    context.jobs.kind(self.member_kind), member[self.member_id], user, visibility
                )
            except (JobInputError, StoreError):  # a seed's job gone, or another's to share
                continue

    def member_results(self, job: Job, context: JobContext) -> list[dict[str, Any]]:
        """The finished result of each seed's own job, in the group's order (a RuntimeError names the seed)."""
        assert context.jobs is not None
        members = job.description["members"]
        results = []
        for done, member in enumerate(members):
            try:
                results.append(context.jobs.finished_result(self.member_kind, member[self.member_id]))
            except RuntimeError as exc:
                raise RuntimeError(f"seed {member['seed']} ({member['model']}): {exc}") from None
            job.report(done + 1, len(members), "comparing")
        return results

    @staticmethod
    def job_group(job: Job) -> SeedGroup:
        members = job.description["members"]
        return SeedGroup(job.description["group"].partition("@")[0], tuple((m["seed"], m["model"]) for m in members))


class SeedGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = GROUP_FIELD
    data: str = Field(
        max_length=1000,
        description="as for POST /api/analyses: demo-absa, demo-re, a path relative to HEADSCOPE_SHARED_DATA, "
        "or upload:<sha256>",
    )
    settings: AnalysisSettings = Field(default_factory=AnalysisSettings)


class SeedGroupJobs(GroupJobs):
    name = "analysis-groups"
    noun = "seed-group analysis"
    request = SeedGroupRequest
    member_kind = AnalysisJobs.name
    member_id = "analysis_id"
    member_key = "analyses"
    result_version = GROUP_RESULT_VERSION

    def prepare(self, body: SeedGroupRequest, user: User, context: JobContext) -> Prepared:
        group = self.resolve(body.group, context)
        members = self.submit_members(
            group,
            lambda model_id: AnalysisRequest(model=model_id, data=body.data, settings=body.settings),
            user,
            context,
        )
        return self.prepared(group, members, body.data, body.settings)

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        found = self.compared(job, context, group_result)
        return SeedGroupResult.model_validate(found).model_dump(mode="json")


def describe_group(group: SeedGroup, task: str) -> dict[str, Any]:
    return {
        "label": group.label,
        "task": task,
        "name": group.name,
        "seeds": list(group.seeds),
        "models": list(group.checkpoint_ids),
    }

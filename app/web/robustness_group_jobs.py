"""The robustness suite over a seed group as a kind of background job (app/web/jobs.py): `headscope robustness
--model NAME@SEEDS` from the web.

A request names a seed group and what a robustness run takes (data or an inline upload, training data,
settings). Each seed's own robustness run is asked for first (an ordinary run of /api/robustness, or its stored
result), then the group job combines them (app.core.robustness.seed_moved): each test's accuracies and flip rate
per seed with their mean, SD and min–max, and which heads moved in each seed, their overlap against chance and k
of n per head. Whatever a member's run would refuse (an unknown test, data of the other task, no training file)
is refused here, as that run's 422, before anything is queued.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.config import Settings
from app.core.robustness.seed_moved import group_moved_result
from app.core.robustness.settings import RobustnessSettings
from app.store.models import User
from app.web.job_context import JobContext, Prepared
from app.web.job_data import data_name
from app.web.jobs import Job
from app.web.robustness_jobs import RobustnessJobs, RobustnessRequest
from app.web.seed_group_jobs import GroupJobs
from app.web.seed_group_schema import RobustnessGroupResult


class RobustnessGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(max_length=300, description="NAME@13,14,15 (GET /api/robustness-groups/groups)")
    data: str | None = Field(
        default=None,
        max_length=1000,
        description="as for POST /api/robustness: demo-absa, demo-re, a path relative to HEADSCOPE_SHARED_DATA, "
        "or upload:<sha256>",
    )
    upload: str | None = Field(default=None, description="JSONL text (headscope's own format) to use instead of `data`")
    train: str | None = Field(
        default=None, max_length=1000, description="training data for the tests that need it (same names as `data`)"
    )
    settings: RobustnessSettings = Field(default_factory=RobustnessSettings)


class RobustnessGroupJobs(GroupJobs):
    name = "robustness-groups"
    noun = "seed-group robustness run"
    request = RobustnessGroupRequest
    member_kind = RobustnessJobs.name
    member_id = "robustness_id"

    def body_limit(self, settings: Settings) -> tuple[int, str]:
        return RobustnessJobs().body_limit(settings)  # the same inline upload

    def prepare(self, body: RobustnessGroupRequest, user: User, context: JobContext) -> Prepared:
        group = self.resolve(body.group, context)
        name = data_name(body.data, body.upload, user, context)  # an upload is stored once, for every seed

        def member(model_id: str) -> RobustnessRequest:
            return RobustnessRequest(model=model_id, data=name, train=body.train, settings=body.settings)

        members = self.submit_members(group, member, user, context)
        description = {
            "model": group.label,  # what the form, the download's file name and the history show
            "group": group.label,
            "members": members,
            "data": {"name": name},
            "train": body.train,
            "settings": body.settings.model_dump(mode="json"),
        }
        key_parts = {"group": group.label, "robustness": [m[self.member_id] for m in members]}
        return Prepared(key_parts, description, total=len(members))

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        results = self.member_results(job, context)
        group = self.job_group(job)
        found = group_moved_result(group.label, group.name, group.seeds, results)
        found["job"] = {key: job.description[key] for key in ("group", "members", "data", "train", "settings")}
        return RobustnessGroupResult.model_validate(found).model_dump(mode="json")

    def stored_description(self, result: dict[str, Any]) -> tuple[dict[str, Any], int]:
        job = dict(result.get("job") or {})
        return {"model": result["group"], **job}, len(job.get("members") or ())

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

from pydantic import Field

from app.core.robustness.seed_moved import GROUP_MOVED_VERSION, group_moved_result
from app.store.models import User
from app.web.job_context import JobContext, Prepared
from app.web.job_data import data_name
from app.web.jobs import Job
from app.web.robustness_jobs import RobustnessInputs, RobustnessJobs, RobustnessRequest
from app.web.seed_group_jobs import GroupJobs
from app.web.seed_group_schema import RobustnessGroupResult


class RobustnessGroupRequest(RobustnessInputs):
    group: str = Field(max_length=300, description="NAME@13,14,15 (GET /api/robustness-groups/groups)")


class RobustnessGroupJobs(GroupJobs):
    name = "robustness-groups"
    noun = "seed-group robustness run"
    request = RobustnessGroupRequest
    member_kind = RobustnessJobs.name
    member_id = "robustness_id"
    member_key = "robustness"
    result_version = GROUP_MOVED_VERSION
    takes_uploads = True  # the data of every seed's run, once

    def prepare(self, body: RobustnessGroupRequest, user: User, context: JobContext) -> Prepared:
        group = self.resolve(body.group, context)
        name = data_name(body.data, body.upload, user, context)  # an upload is stored once, for every seed

        def member(model_id: str) -> RobustnessRequest:
            return RobustnessRequest(model=model_id, data=name, train=body.train, settings=body.settings)

        members = self.submit_members(group, member, user, context)
        return self.prepared(group, members, name, body.settings, train=body.train)

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        found = self.compared(job, context, group_moved_result)
        found["job"] = {key: job.description[key] for key in ("group", "members", "data", "train", "settings")}
        return RobustnessGroupResult.model_validate(found).model_dump(mode="json")

    def stored_description(self, result: dict[str, Any]) -> tuple[dict[str, Any], int]:
        job = dict(result.get("job") or {})
        return {"model": result["group"], **job}, len(job.get("members") or ())

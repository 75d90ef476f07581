"""A seed group whose checkpoints differ in task (a relation checkpoint named as the aspect model's seed 14) is
refused as a 422 on `group` before any seed's own job is queued, for both kinds of group job; the seeds' jobs
would otherwise run (the first queued, the next refused, or all run and the comparison refuse their shapes).

Real app (TestClient over create_app), real tiny checkpoints written to a models folder, real job queue."""

import pytest
from seed_group_support import seed_group_client, write_tiny_seed_group
from tiny_model import write_tiny_checkpoint

from app.core.model.seed_groups import seed_checkpoint_name

GROUP = "tiny-mixed"


def write_mixed_group(folder):
    write_tiny_seed_group(folder, (13,), name=GROUP)
    write_tiny_checkpoint(folder, "re", model_id=seed_checkpoint_name(GROUP, 14), seed=14)


@pytest.fixture(scope="module")
def mixed_client(tmp_path_factory):
    with seed_group_client(tmp_path_factory, write_mixed_group) as client:
        yield client


@pytest.mark.parametrize("kind", ["analysis-groups", "robustness-groups"])
def test_a_group_of_mixed_tasks_is_a_422_and_queues_nothing(mixed_client, kind):
    jobs = mixed_client.app.state.jobs
    before = (jobs.runs, set(jobs.jobs))
    answer = mixed_client.post(f"/api/{kind}", json={"group": f"{GROUP}@13,14", "data": "demo-absa"})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["loc"][:2] == ["body", "group"]
    assert "differ in task or shape" in detail["msg"] and f"{seed_checkpoint_name(GROUP, 14)}: re" in detail["msg"]
    assert (jobs.runs, set(jobs.jobs)) == before

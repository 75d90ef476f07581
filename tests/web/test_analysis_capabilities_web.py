"""What the analysis form can run on a checkpoint and data (GET /api/analyses/capabilities): the opinion
statistics need opinion words (ABSA data's gold ones or the shared Hu & Liu lexicon), the pretrained
baseline a fine-tuned checkpoint, importance labelled pairs; each refusal says why, and the reason is
true (an analysis run anyway has no opinion statistic to show).

Real app over the tiny checkpoints, without shared data (no lexicon), as a fresh install runs.
"""

import pytest
from job_support import wait_job
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

from app.config import Settings


@pytest.fixture(scope="module")
def bare_client(tiny_models_dir, tmp_path_factory):
    from fastapi.testclient import TestClient

    from app.web.main import create_app

    settings = Settings(
        models_dir=tiny_models_dir,
        data_dir=tmp_path_factory.mktemp("bare-analysis-data"),
        device="cpu",
        prepare_on_start=False,
        shared_data=None,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def options(client, model, data):
    answer = client.get("/api/analyses/capabilities", params={"model": model, "data": data})
    assert answer.status_code == 200, answer.text
    return answer.json(), {o["name"]: o for o in answer.json()["options"]}


def test_a_relation_checkpoint_has_no_opinion_statistics_and_says_why(bare_client):
    body, by_name = options(bare_client, TINY_RE_ID, "demo-re")
    assert body["task"] == "re" and body["pairs"] > 0 and body["opinion_words"] is None
    assert not by_name["lexicon"]["runnable"] and "relation" in by_name["lexicon"]["reason"]
    assert by_name["pretrained"]["runnable"] and by_name["importance"]["runnable"]


def test_absa_data_without_opinion_words_cannot_score_opinions_and_a_run_confirms_it(bare_client):
    body, by_name = options(bare_client, TINY_ABSA_ID, "demo-absa")
    assert body["opinion_words"] is None
    reason = by_name["lexicon"]["reason"]
    assert not by_name["lexicon"]["runnable"] and "no gold opinion words" in reason and "opinion_lexicon" in reason

    settings = {"max_examples": 8, "bootstrap": 20, "pretrained": False, "agreement": False, "js_sample": 0}
    started = bare_client.post("/api/analyses", json={"model": TINY_ABSA_ID, "data": "demo-absa", "settings": settings})
    assert started.status_code in (200, 202), started.text
    status, _ = wait_job(bare_client, "analyses", started.json()["id"])
    assert status["status"] == "done", status.get("error")
    result = bare_client.get(f"/api/analyses/{started.json()['id']}").json()["result"]
    assert result["min_n"] == 10  # the server's minimum n travels with the result (the page greys below it)
    assert all(row["statistics"]["aspect_mass"]["n"] >= 1 for row in result["heads"])  # what a scored one shows
    opinion = [row["statistics"].get("opinion_mass") for row in result["heads"]]
    assert all(stat is None or not stat.get("n") for stat in opinion)  # nothing to attend to, as the reason said


@pytest.mark.parametrize(
    ("params", "status"),
    [({"model": TINY_ABSA_ID, "data": "demo-re"}, 422), ({"model": "nope", "data": "demo-absa"}, 404)],
)
def test_data_of_the_other_task_or_an_unknown_model_is_refused(bare_client, params, status):
    answer = bare_client.get("/api/analyses/capabilities", params=params)
    assert answer.status_code == status, answer.text


def test_the_report_says_which_perspectives_lack_their_data(bare_client):
    answer = bare_client.get("/api/reports/capabilities", params={"models": f"{TINY_ABSA_ID},{TINY_RE_ID}"})
    assert answer.status_code == 200, answer.text
    checkpoints = {c["model"]: {p["name"]: p for p in c["perspectives"]} for c in answer.json()["checkpoints"]}
    absa, relation = checkpoints[TINY_ABSA_ID], checkpoints[TINY_RE_ID]
    assert absa["in_distribution"]["runnable"] and relation["in_distribution"]["runnable"]  # the demo data's split
    assert not absa["shift"]["runnable"] and "HEADSCOPE_SHARED_DATA" in absa["shift"]["reason"]
    assert not relation["shift"]["runnable"] and "settings.shift" in relation["shift"]["reason"]
    assert absa["anomaly"]["runnable"] and relation["anomaly"]["runnable"]  # the other task's demo text
    assert bare_client.get("/api/reports/capabilities").json()["checkpoints"] == []
    assert bare_client.get("/api/reports/capabilities", params={"models": "nope"}).status_code == 404


def test_the_models_list_says_how_long_an_input_flow_takes(bare_client):
    from app.core.attribution import FLOW_MAX_TOKENS

    assert bare_client.get("/api/models").json()["limits"] == {"flow_max_tokens": FLOW_MAX_TOKENS}

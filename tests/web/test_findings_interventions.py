"""Findings that keep an intervention (input.intervention): stored and returned, refused when malformed
with nothing stored, kept by export/import, shown as before → after, reopened by the permalink."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

ABSA = "demo-absa-qa-m"  # 6 layers x 12 heads
TEXT = "The pasta was great but the waiter was rude."
ZEROED = {"heads": [[5, 3], [4, 7]], "mode": "zero"}


def new_finding(**overrides) -> dict:
    return {
        "title": "Heads switched off",
        "model": ABSA,
        "input": {"text": TEXT, "aspect": "food"},
        "view": {"kind": "head", "layer": 5, "heads": [3]},
        "tags": ["intervention-test"],
        **overrides,
    }


def errors(response) -> list[tuple[tuple, str]]:
    return [(tuple(e["loc"]), e["msg"]) for e in response.json()["detail"]]


def with_intervention(intervention: dict, **overrides) -> dict:
    return new_finding(input={"text": TEXT, "aspect": "food", "intervention": intervention}, **overrides)


def stored(client) -> list[dict]:
    return client.get("/api/findings/export").json()["findings"]


def test_intervention_round_trips_with_the_intervened_snapshot(client):
    response = client.post("/api/findings", json=with_intervention(ZEROED, title="zeroed heads"))
    assert response.status_code == 201, response.text
    finding = response.json()
    kept = finding["input"]["intervention"]
    assert kept["heads"] == [[4, 7], [5, 3]] and kept["mode"] == "zero" and kept["factor"] is None
    # the server computed the intervened inspection: its before/after are stored with the heads
    assert kept["before"]["label"] and kept["after"]["label"] == finding["snapshot"]["prediction"]["label"]
    assert finding["snapshot"]["intervention"]["heads"] == [[4, 7], [5, 3]]
    label = kept["before"]["label"]
    delta = kept["after"]["probabilities"][label] - kept["before"]["probabilities"][label]
    assert abs(kept["delta"][label] - delta) < 1e-9
    assert client.get(f"/api/findings/{finding['id']}").json() == finding


def test_intervention_sent_with_its_snapshot_is_kept_as_given(client):
    before = {"label": "positive", "probabilities": {"positive": 0.91, "negative": 0.09}, "logit": 2.3}
    after = {"label": "negative", "probabilities": {"positive": 0.42, "negative": 0.58}, "logit": -0.3}
    plain = client.post("/api/findings", json=new_finding()).json()["snapshot"]
    body = with_intervention(
        {"heads": [[2, 1]], "mode": "scale", "factor": 0.25, "before": before, "after": after}, snapshot=plain
    )
    finding = client.post("/api/findings", json=body).json()
    kept = finding["input"]["intervention"]
    assert kept["before"] == before and kept["after"] == after and kept["factor"] == 0.25
    assert abs(kept["delta"]["positive"] + 0.49) < 1e-9
    page = client.get(f"/findings/{finding['id']}").text
    assert "Head 2.1 scaled by 0.25: positive 0.91 → 0.42 (now negative)" in page


def test_bad_interventions_are_422_naming_what_is_accepted_and_store_nothing(client):
    before = stored(client)
    cases = {
        "mode": ({"heads": [[1, 1]], "mode": "off"}, "'zero', 'mean' or 'scale'"),
        "factor": ({"heads": [[1, 1]], "mode": "scale", "factor": "inf"}, "finite number"),
        "heads": ({"heads": [[1, -1]]}, "[layer, head] pairs"),
        "pair": ({"heads": [[1, 2, 3]]}, "at most 2 items"),
        "twice": ({"heads": [[1, 1], [1, 1]]}, "name each head once"),
        "zero factor": ({"heads": [[1, 1]], "mode": "zero", "factor": 2}, "mode scale only"),
    }
    for name, (intervention, accepted) in cases.items():
        response = client.post("/api/findings", json=with_intervention(intervention))
        assert response.status_code == 422, name
        found = errors(response)
        assert any(loc[:3] == ("body", "input", "intervention") for loc, _ in found), (name, found)
        assert any(accepted in msg for _, msg in found), (name, found)
    response = client.post("/api/findings", json=with_intervention({"heads": [[1, 1], [6, 0]]}))
    assert response.status_code == 422
    assert errors(response) == [
        (("body", "input", "intervention", "heads", 1), "head [6, 0] does not exist: the model has 6 layers × 12 heads")
    ]
    assert stored(client) == before


def test_export_import_keeps_the_intervention(client):
    made = client.post("/api/findings", json=with_intervention(ZEROED, title="to export")).json()
    document = client.get("/api/findings/export", params={"ids": made["id"]}).json()
    copy = {**document["findings"][0], "id": made["id"][:20] + "copy", "public_token": None}
    response = client.post("/api/findings/import", json={**document, "findings": [copy]})
    assert response.status_code == 201, response.text
    again = client.get(f"/api/findings/{copy['id']}").json()
    assert again["input"] == made["input"] and again["snapshot"] == made["snapshot"]
    bad = {
        **copy,
        "id": made["id"][:20] + "bad",
        "input": {**copy["input"], "intervention": {"heads": [[0, 0]], "mode": "x"}},
    }
    before = stored(client)
    assert client.post("/api/findings/import", json={**document, "findings": [bad]}).status_code == 422
    assert stored(client) == before


def test_permalink_and_export_carry_the_intervention(client):
    scaled = {"heads": [[1, 2], [3, 0]], "mode": "scale", "factor": 0.5}
    made = client.post("/api/findings", json=with_intervention(scaled, model=ABSA)).json()
    target = client.get(f"/f/{made['id']}", follow_redirects=False).headers["location"]
    query = parse_qs(urlsplit(target).query)
    assert query["iv"] == ["1.2,3.0"] and query["iv_mode"] == ["scale"] and query["iv_factor"] == ["0.5"]
    html = client.get(f"/findings/{made['id']}/export.html").text
    line = re.search(r'class="finding-intervention">([^<]*)<', html).group(1)
    label = made["input"]["intervention"]["before"]["label"]
    assert line.startswith(f"Heads 1.2, 3.0 scaled by 0.5: {label} ") and " → " in line
    assert not re.search(r"<script[^>]*\bsrc=", html), "the export stays one offline file"
    plain = client.post("/api/findings", json=new_finding()).json()
    assert "iv=" not in client.get(f"/f/{plain['id']}", follow_redirects=False).headers["location"]
    assert "finding-intervention" not in client.get(f"/findings/{plain['id']}").text


def test_older_and_odd_stored_interventions_read_safely():
    from app.web.export import build_export_html
    from app.web.finding_interventions import intervention_query, intervention_text

    older = {"input": {"text": TEXT}}
    assert intervention_text(older) is None and intervention_query(older) == {}
    odd = {"input": {"text": TEXT, "intervention": {"heads": [["4", 7], [-1, 2]], "mode": "zero"}}}
    assert intervention_text(odd) is None and intervention_query(odd) == {}
    no_outcome = {"input": {"text": TEXT, "intervention": {"heads": [[4, 7]], "mode": "mean"}}}
    assert intervention_text(no_outcome) == "Head 4.7 mean-ablated"
    assert intervention_query(no_outcome) == {"iv": "4.7", "iv_mode": "mean"}
    hostile = "<img src=x onerror=alert(1)>"
    outcome = {"label": hostile, "probabilities": {hostile: 0.5}}
    finding = {
        "title": "t",
        "input": {"text": TEXT, "intervention": {"heads": [[1, 1]], "before": outcome, "after": outcome}},
    }
    html = build_export_html([finding])
    assert "Head 1.1 zeroed: &lt;img src=x onerror=alert(1)&gt; 0.50 → 0.50" in html


def test_a_mean_over_a_chosen_reference_keeps_it_and_reopens_with_it(client):
    mean = {"heads": [[2, 5]], "mode": "mean", "reference": "demo-absa"}
    made = client.post("/api/findings", json=with_intervention(mean))
    assert made.status_code == 201, made.text
    finding = made.json()
    assert finding["input"]["intervention"]["reference"] == "demo-absa"
    assert finding["snapshot"]["intervention"]["reference"] == "demo-absa"  # computed over it
    target = client.get(f"/f/{finding['id']}", follow_redirects=False).headers["location"]
    query = parse_qs(urlsplit(target).query)
    assert query["iv_mode"] == ["mean"] and query["iv_ref"] == ["demo-absa"]
    assert "Head 2.5 mean-ablated over demo-absa: " in client.get(f"/findings/{finding['id']}").text
    unknown = client.post("/api/findings", json=with_intervention({**mean, "reference": "nowhere.xml"}))
    assert unknown.status_code == 422 and "demo-absa" in unknown.text

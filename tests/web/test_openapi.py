"""/openapi.json describes the whole JSON API: a request schema for every body, a response schema for
every JSON answer; and the typed bodies keep the settings' limits and the 415 for non-JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.web.main import create_app

WRITES = {"post", "patch", "put"}
# Routes that take no body: they act on the path alone.
BODILESS = {("post", "/api/findings/{finding_id}/public-link"), ("post", "/api/auth/logout")}
# A job's whole result, whose shape is its kind's: any JSON object. Everything else names its fields.
FREE_FORM = "/result.json"


@pytest.fixture(scope="module")
def spec() -> dict:
    return create_app(Settings()).openapi()  # the schema needs no started app, no model


def json_schema(answer: dict) -> dict | None:
    return answer.get("content", {}).get("application/json", {}).get("schema")


def described(schema: dict | None, path: str) -> bool:
    """A model's schema ($ref, or its properties), not a bare `dict` that FastAPI infers from `-> dict`."""
    return bool(schema) and ("$ref" in schema or "properties" in schema or path.endswith(FREE_FORM))


def schema_gaps(spec: dict) -> list[str]:
    gaps = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in WRITES and (method, path) not in BODILESS:
                if not described(json_schema(operation.get("requestBody", {})), ""):
                    gaps.append(f"{method.upper()} {path}: no request schema")
            for status, answer in operation["responses"].items():
                if status.startswith("2") and status != "204" and not described(json_schema(answer), path):
                    gaps.append(f"{method.upper()} {path}: no schema for {status}")
    return gaps


def test_every_body_and_every_json_answer_has_a_schema(spec):
    assert len(spec["paths"]) > 20
    assert schema_gaps(spec) == []


def test_a_route_without_a_response_model_is_caught(spec):
    broken = {**spec, "paths": {**spec["paths"]}}
    models = dict(broken["paths"]["/api/models"])
    models["get"] = {**models["get"], "responses": {"200": {"description": "ok", "content": {}}}}
    broken["paths"]["/api/models"] = models
    assert schema_gaps(broken) == ["GET /api/models: no schema for 200"]


def test_the_live_inspection_documents_its_body_and_its_answer(spec):
    inspect = spec["paths"]["/api/inspect"]["post"]
    body = json_schema(inspect["requestBody"])
    answer = json_schema(inspect["responses"]["200"])
    assert body["$ref"].endswith("/InspectRequest") and answer["$ref"].endswith("/InspectResponse")
    assert "attention" in spec["components"]["schemas"]["InspectResponse"]["properties"]


def test_no_html_page_is_in_the_schema(spec):
    assert all(path.startswith("/api/") for path in spec["paths"])


@pytest.fixture(scope="module")
def short_notes(tiny_models_dir, tmp_path_factory):
    settings = Settings(
        models_dir=tiny_models_dir,
        data_dir=tmp_path_factory.mktemp("openapi-data"),
        device="cpu",
        max_note_chars=30,
        max_title_chars=300,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def finding(**fields) -> dict:
    return {
        "title": "a head",
        "model": "tiny-absa-qa-m",
        "input": {"text": "The soup was fine.", "aspect": "food"},
        "view": {"kind": "model"},
        **fields,
    }


def test_finding_bodies_are_checked_against_the_settings_limits(short_notes):
    refused = short_notes.post("/api/findings", json=finding(note="x" * 31))
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "note"] and "at most 30 are accepted" in error["msg"]
    long_title = short_notes.post("/api/findings", json=finding(title="t" * 250))
    assert long_title.status_code == 201, long_title.text  # over the default 200, within the setting's 300


def test_bodies_keep_their_415_and_422_wording(short_notes):
    form = short_notes.post("/api/findings", content=b"{}", headers={"content-type": "text/plain"})
    assert form.status_code == 415 and "Content-Type: application/json" in form.json()["detail"]
    broken = short_notes.post("/api/inspect", content=b'{"text": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["detail"] == [
        {"loc": ["body"], "msg": "Invalid JSON: EOF while parsing a value at line 1 column 9", "type": "json_invalid"}
    ]
    extra = short_notes.patch("/api/analyses/" + "f" * 32, json={"visibility": "shared", "colour": 1})
    assert extra.status_code == 422
    assert extra.json()["detail"][0]["msg"] == "unknown field 'colour'; accepted: visibility"

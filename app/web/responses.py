"""What the JSON routes answer, as pydantic models: /openapi.json and /docs show them (docs/reference/api.md,
docs/reference/findings-api.md say what the fields mean).

Routes that return a dict are validated against these (a field of the wrong type is a 500, not a
silent change of the API). Routes that write their own bytes (orjson: the inspection's quantised
attention, findings, jobs) declare the model for the schema only and are not validated on the way
out. Every model keeps fields it does not name (`extra="allow"`): a service may add a field without
the boundary dropping it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- /api/health, /api/models, /api/inspect, /api/compare --------------------------------------


class Health(Answer):
    status: str = Field(description='"ready", or "starting" (with 503) until the server can serve')
    models: int | None = None
    device: str | None = None
    model_thread: dict[str, Any] | None = Field(default=None, description="what the one model thread has run")
    fast_path: dict[str, str] | None = Field(default=None, description='per checkpoint: "onnx", "building", ...')


class ModelInfo(Answer):
    id: str
    task: str = Field(description="absa or re")
    format: str
    labels: list[str]
    path: str | None = None
    source: str | None = None
    num_layers: int
    num_heads: int
    max_length: int | None = None
    base_model: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    untrained: str | None = Field(
        default=None,
        description="why its predictions mean little (not fine-tuned, no training recorded); null: trained",
    )
    loaded: bool = False


class ModelList(Answer):
    models: list[ModelInfo]
    defaults: dict[str, str | None] = Field(description="the default checkpoint id per task (absa, re)")
    limits: dict[str, int] = Field(
        default_factory=dict, description="flow_max_tokens: the longest input (word pieces) attention flow takes"
    )


class Prediction(Answer):
    label: str
    probabilities: dict[str, float]


class Outcome(Prediction):
    logit: float = Field(description="the logit behind label (QA-B / NLI-B: that polarity's yes logit)")


class Intervention(Answer):
    heads: list[list[int]]
    mode: str = Field(description="zero, mean or scale")
    factor: float | None = None
    before: Outcome = Field(description="the plain PyTorch forward")
    after: Outcome = Field(description="the intervened forward (its attention is the answer's attention)")
    delta: dict[str, float] = Field(description="per label: after - before probability")


class CompactAttention(Answer):
    """`"attention": "compact"`: each layer sent as base64 of H*T*T bytes, [head][query][key], value/255."""

    encoding: str = Field(description='"uint8-base64"')
    scale: int = Field(description="255: divide each byte by it")
    shape: list[int] = Field(description="[layers, heads, T, T] of the whole attention (not only the layers sent)")
    layers: dict[str, str] = Field(description="layer number -> base64")
    omitted_layers: list[int] | None = Field(
        default=None,
        description="only when the request named no layers and every layer would not fit in 8 MB: the layers left "
        'out (ask with "layers": [...] or "all", or "attention": "npz"); absent when every layer is sent',
    )
    note: str | None = Field(default=None, description="with omitted_layers: what was left out and how to get it")


class FloatAttention(Answer):
    """`"attention": "full"`: the probabilities as floats."""

    encoding: str = Field(description='"float"')
    values: list[list[list[list[float]]]] = Field(description="[layer][head][query][key]")


class InspectResponse(Answer):
    """The live inspection (written as orjson bytes; this is its schema)."""

    model: str
    task: str
    format: str
    prediction: Prediction
    segments: dict[str, str]
    tokens: list[dict[str, Any]] = Field(description="text, start, end, segment, special, word (, marker)")
    spans: dict[str, list[int]]
    input_ids: list[int]
    token_type_ids: list[int]
    truncated: dict[str, Any] | None = None
    num_layers: int
    num_heads: int
    level: str = Field(description='"piece", or "word" with word_level')
    attention_kind: str = Field(
        default="weights", description="weights, or norm: norm-based attention normalised per row (attention_kind)"
    )
    attention: CompactAttention | FloatAttention | None = Field(
        description="compact (the default) or full, as asked; null with attention=none (npz: an archive, not JSON)"
    )
    attribution: dict[str, Any] | None = None
    thumbnails: dict[str, Any] | None = Field(
        default=None,
        description="with thumbnails=S: {encoding, scale, shape [L, H, s, s], layers: {l: base64}}, each head "
        "max-pooled to s = min(T, S) cells a side (token i in cell i * s // T)",
    )
    intervention: Intervention | None = Field(default=None, description="with intervene: before, after and delta")


class Removal(Answer):
    probability: float | None = None
    logit: float | None = None


class RemovalColumns(Answer):
    probability: list[Any] = Field(description="the predicted label's probability after the removal")
    logit: list[Any]
    effect: list[Any] = Field(description="plain probability - probability after the removal")


class RankedHead(Answer):
    layer: int
    head: int
    effect: float | None


class KnockoutResponse(Answer):
    """POST /api/inspect/knockout: the predicted label with each head, and each layer, removed."""

    model: str
    task: str
    format: str
    num_layers: int
    num_heads: int
    label: str = Field(description="the plain prediction's label; every figure is about it")
    mode: str = Field(description="zero or mean")
    plain: Removal = Field(description="its probability and logit with no head removed")
    prediction: Outcome
    heads: RemovalColumns = Field(description="[layer][head] matrices: that head removed alone")
    layers: RemovalColumns = Field(description="[layer]: every head of that layer removed")
    ranking: list[RankedHead] = Field(description="every head, the largest effect first")


class CompareResponse(Answer):
    left: dict[str, Any] = Field(description="the /api/inspect compact answer, plus pretrained and input")
    right: dict[str, Any]
    alignment: dict[str, Any] = Field(description="per token its partner on the other side (-1: none), shared, edited")
    change: dict[str, Any] | None = Field(description="per query set, [layer][head] Jensen-Shannon change")
    top: dict[str, Any]
    change_note: str | None = None
    query_sets: list[str]


# --- findings ------------------------------------------------------------------------------------


class FindingModel(Answer):
    id: str
    sha256: str | None = None
    task: str | None = None
    format: str | None = None


class Finding(Answer):
    id: str
    title: str
    note: str
    note_html: str | None = None
    author: str
    visibility: str
    public_token: str | None = None
    model: FindingModel
    checkpoint_status: str | None = None
    input: dict[str, Any]
    view: dict[str, Any]
    labels: list[str]
    tags: list[str]
    created_at: str
    updated_at: str
    snapshot: dict[str, Any] | None = Field(default=None, description="the compact inspection; not in lists")


class FindingList(Answer):
    findings: list[Finding]
    total: int
    limit: int
    offset: int


class Imported(Answer):
    imported: int
    ids: list[str]


class PublicLink(Answer):
    public_token: str
    url: str
    api_url: str


# --- accounts --------------------------------------------------------------------------------------


class UserInfo(Answer):
    name: str
    is_admin: bool


class Me(UserInfo):
    auth_enabled: bool


class LoggedIn(Answer):
    user: UserInfo
    csrf_token: str = Field(description="send it as X-CSRF-Token on writes")


class ApiToken(Answer):
    id: int
    name: str
    created_at: str


class NewApiToken(ApiToken):
    token: str = Field(description="shown once: send it as Authorization: Bearer <token>")


class ApiTokenList(Answer):
    tokens: list[ApiToken]


# --- background jobs -------------------------------------------------------------------------------


class JobProgress(Answer):
    done: int
    total: int
    phase: str
    eta_s: float | None = None
    elapsed_s: float
    fraction: float
    created: float
    started: float | None = None
    finished: float | None = None


class Job(Answer):
    """A job as POST, GET and PATCH answer it; the kind adds what it ran on (model, data, settings)."""

    id: str
    status: str = Field(description="queued, running, done, failed, or interrupted (the server stopped first)")
    progress: JobProgress
    cached: bool
    error: str | None = None
    rerun: dict[str, Any] | None = Field(default=None, description="the POST body that asks for this job again")
    owner: str | None = None
    visibility: str
    can_edit: bool
    result_url: str
    result: dict[str, Any] | None = Field(default=None, description="when done (GET without ?result=false)")


class JobHistoryEntry(Answer):
    """A job as the history lists it; the kind's fields (model, data, settings) come with it."""

    id: str
    status: str = Field(description="queued, running, done, failed, or interrupted (the server stopped first)")
    error: str | None = None
    rerun: dict[str, Any] = Field(description="the POST body that asks for this job again")
    created: float = Field(description="when it was first asked for (or last rerun), Unix seconds")
    updated: float = Field(description="when it was last asked for or changed: the list's order")
    started: float | None = None
    finished: float | None = None
    owners: list[str] = Field(description="the users who hold it")
    visibility: str
    mine: bool = Field(description="whether you hold it (else it is someone's shared job)")


class JobHistory(Answer):
    jobs: list[JobHistoryEntry]


class Datasets(Answer):
    demo: list[dict[str, Any]]
    shared: list[dict[str, Any]] = Field(description="files under HEADSCOPE_SHARED_DATA: name, format")
    uploads: list[dict[str, Any]] = Field(description="your own uploads: name (upload:<sha256>), bytes, uploaded_at")
    shared_data: bool
    upload: str


class RobustnessTest(Answer):
    name: str
    family: str
    description: str
    needs: list[str]


class RobustnessTests(Answer):
    model: str
    task: str
    tests: list[RobustnessTest]


JOB_RESULT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the whole result (a download)",
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}

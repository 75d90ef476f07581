"""What a finding may hold: pydantic models for create, update and import bodies.

Length limits come from Settings through the validation context (`{"limits": Limits(...)}`), so a
too-long note is a 422 naming `note` and saying the limit. The shape is documented in
docs/reference/findings-api.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

LABELS = ("aspect", "aspect-sentiment", "opposite-aspect", "noop", "phrase", "entity", "other")
Label = Literal["aspect", "aspect-sentiment", "opposite-aspect", "noop", "phrase", "entity", "other"]
Visibility = Literal["private", "shared"]
MAX_TEXT_CHARS = 20_000  # same as app/web/request_bodies.py's InspectRequest
MAX_TAGS, MAX_TAG_CHARS = 20, 50
ID_PATTERN = r"^[A-Za-z0-9_-]{4,32}$"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
USER_PATTERN = r"^[A-Za-z0-9_.@-]{1,64}$"
MAX_INTERVENED_HEADS = 1024  # same as app/web/request_bodies.py's Intervene
MAX_OUTCOME_LABELS = 100


@dataclass(frozen=True)
class Limits:
    title_chars: int = 200
    note_chars: int = 20_000


def _limits(info: ValidationInfo) -> Limits:
    return (info.context or {}).get("limits") or Limits()


def _check_title(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    limit = _limits(info).title_chars
    if not value:
        raise ValueError("title is empty: give a short title for the finding")
    if len(value) > limit:
        raise ValueError(f"title has {len(value)} characters; at most {limit} are accepted")
    return value


def _check_note(value: str, info: ValidationInfo) -> str:
    limit = _limits(info).note_chars
    if len(value) > limit:
        raise ValueError(f"note has {len(value)} characters; at most {limit} are accepted (HEADSCOPE_MAX_NOTE_CHARS)")
    return value


def _check_tags(value: list[str]) -> list[str]:
    tags: list[str] = []
    for tag in value:
        tag = tag.strip()
        if not 1 <= len(tag) <= MAX_TAG_CHARS:
            raise ValueError(f"tag {tag[:60]!r}: tags have 1 to {MAX_TAG_CHARS} characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{len(tags)} tags; at most {MAX_TAGS} are accepted")
    return tags


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class ExampleRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(min_length=1, max_length=500)
    index: int = Field(ge=0)


Span = tuple[int, int]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class InterventionOutcome(BaseModel):
    """A prediction before or after an intervention: POST /api/inspect's intervention.before / after."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=200)
    probabilities: dict[str, FiniteFloat] = Field(max_length=MAX_OUTCOME_LABELS)
    logit: FiniteFloat | None = None


class FindingIntervention(BaseModel):
    """Heads whose outputs were changed when the finding was saved (POST /api/inspect's `intervene`), with the
    prediction before and after. Accepted as the API's `intervention` answer is written; delta is recomputed."""

    model_config = ConfigDict(extra="forbid")
    heads: list[tuple[int, int]] = Field(min_length=1, max_length=MAX_INTERVENED_HEADS)
    mode: Literal["zero", "mean", "scale"] = "zero"
    factor: FiniteFloat | None = None
    reference: str | None = Field(default=None, min_length=1, max_length=1000)  # mean's reference set, by name
    before: InterventionOutcome | None = None
    after: InterventionOutcome | None = None
    delta: dict[str, FiniteFloat] | None = Field(default=None, max_length=MAX_OUTCOME_LABELS)

    @field_validator("heads")
    @classmethod
    def heads_valid(cls, value: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if any(n < 0 for pair in value for n in pair):
            raise ValueError("heads are [layer, head] pairs (0-based); negative numbers are not")
        twice = sorted({h for h in value if value.count(h) > 1})
        if twice:
            raise ValueError(f"heads {[list(h) for h in twice]} are given more than once: name each head once")
        return sorted(value)

    @model_validator(mode="after")
    def options_fit_the_mode(self) -> FindingIntervention:
        if self.mode == "scale":
            self.factor = 0.5 if self.factor is None else self.factor
        elif self.factor is not None:
            raise ValueError(f"factor is for mode scale only; drop it or use mode scale (mode is {self.mode})")
        if self.reference is not None and self.mode != "mean":
            raise ValueError(f"reference is for mode mean only; drop it or use mode mean (mode is {self.mode})")
        self.delta = self.recomputed_delta()
        return self

    def recomputed_delta(self) -> dict[str, float] | None:
        if self.before is None or self.after is None:
            return None
        before = self.before.probabilities
        return {label: p - before[label] for label, p in self.after.probabilities.items() if label in before}


class FindingInput(BaseModel):
    """The inspected input: the fields of POST /api/inspect, plus an optional dataset example reference."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_TEXT_CHARS)
    aspect: str | None = Field(default=None, max_length=200)
    aspect_span: Span | None = None
    e1_span: Span | None = None
    e2_span: Span | None = None
    example: ExampleRef | None = None
    intervention: FindingIntervention | None = None

    @field_validator("text")
    @classmethod
    def text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty: give the review (ABSA) or sentence (RE) the finding is about")
        return value


class FindingView(BaseModel):
    """The page state that reopens the view; keys beyond these are kept as given."""

    model_config = ConfigDict(extra="allow")
    kind: Literal["head", "model", "summary", "compare"]
    layer: int | None = Field(default=None, ge=0)
    # Head indices in `layer`, or [layer, head] pairs (model/summary views).
    heads: list[int | tuple[int, int]] = Field(default_factory=list, max_length=10_000)
    filters: dict[str, Any] = Field(default_factory=dict)
    threshold: float | None = None
    word_mode: bool = False
    token: int | None = Field(default=None, ge=0)

    @field_validator("heads")
    @classmethod
    def heads_valid(cls, value: list) -> list:
        for item in value:
            numbers = item if isinstance(item, tuple) else (item,)
            if any(n < 0 for n in numbers):
                raise ValueError("heads are head indices (0-based) or [layer, head] pairs; negative numbers are not")
        return value

    def head_pairs(self) -> set[tuple[int, int]]:
        """(layer, head) pairs; bare head indices need `layer`."""
        pairs = set()
        for item in self.heads:
            if isinstance(item, tuple):
                pairs.add(item)
            elif self.layer is not None:
                pairs.add((self.layer, item))
        return pairs


class ModelRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    task: str | None = Field(default=None, max_length=16)
    format: str | None = Field(default=None, max_length=32)


class FindingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    note: str = ""
    visibility: Visibility = "private"
    model: str | ModelRef
    input: FindingInput
    view: FindingView
    labels: list[Label] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    snapshot: dict[str, Any] | None = None

    _title = field_validator("title")(_check_title)
    _note = field_validator("note")(_check_note)
    _tags = field_validator("tags")(_check_tags)
    _labels = field_validator("labels")(_dedupe)

    def model_ref(self) -> ModelRef:
        return self.model if isinstance(self.model, ModelRef) else ModelRef(id=self.model)


class FindingPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = None
    note: str | None = None
    visibility: Visibility | None = None
    view: FindingView | None = None
    labels: list[Label] | None = None
    tags: list[str] | None = None

    @field_validator("title")
    @classmethod
    def title_ok(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_title(value, info)

    @field_validator("note")
    @classmethod
    def note_ok(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_note(value, info)

    @field_validator("tags")
    @classmethod
    def tags_ok(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_tags(value)

    @field_validator("labels")
    @classmethod
    def labels_ok(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _dedupe(value)


class FindingRecord(FindingCreate):
    """One finding of an export file: every stored field, so an import recreates it exactly.
    Computed fields (note_html, checkpoint_status) may be present and are ignored."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=ID_PATTERN)
    author: str = Field(pattern=USER_PATTERN)
    model: ModelRef
    public_token: str | None = Field(default=None, pattern=TOKEN_PATTERN)
    created_at: datetime
    updated_at: datetime
    note_html: str | None = None
    checkpoint_status: str | None = None

    @field_validator("created_at", "updated_at")
    @classmethod
    def aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("times need a time zone (ISO 8601 with +00:00 or Z), as exports write them")
        return value


class ExportFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["headscope-findings"]
    version: Literal[1]
    exported_at: datetime | None = None
    findings: list[FindingRecord]

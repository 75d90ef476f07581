"""POST /api/inspect/faithfulness: the request body and the answer, validated with messages naming what is accepted."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from app.core.attribution.gradients import IG_DEFAULT_STEPS, IG_MAX_STEPS
from app.core.attribution.tokens import QUERIES
from app.core.faithfulness import DEFAULT_ERASURE, ERASURE_MODES, K_PERCENTS, METHODS
from app.web.request_bodies import InspectionFields
from app.web.responses import Answer


class FaithfulnessBody(InspectionFields):
    methods: list[str] = Field(
        default=list(METHODS),
        min_length=1,
        max_length=len(METHODS),
        description="explanation sources to score: any of " + ", ".join(METHODS) + " (attention: every head)",
    )
    k: list[float] = Field(
        default=list(K_PERCENTS),
        min_length=1,
        max_length=20,
        description="percentages of the erasable tokens erased or kept, each in (0, 100]",
    )
    erasure: str = Field(
        default=DEFAULT_ERASURE,
        description="how a token is erased: " + ", ".join(ERASURE_MODES) + f" (default {DEFAULT_ERASURE})",
    )
    erase_targets: bool = Field(
        default=False, description="whether the aspect term (ABSA) or the entities (RE) may be erased"
    )
    query: str = Field(
        default="readout",
        description="token whose attention, rollout and flow are read: " + ", ".join(QUERIES) + " (default readout)",
    )
    ig_steps: int = Field(default=IG_DEFAULT_STEPS, ge=1, le=IG_MAX_STEPS, description="integrated-gradients steps")
    random_draws: int = Field(default=4, ge=1, le=64, description="random rankings averaged as the chance level")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="seed of the random rankings")

    @field_validator("methods")
    @classmethod
    def known_methods(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown faithfulness method(s) {unknown}; accepted: {', '.join(METHODS)}")
        return list(dict.fromkeys(value))

    @field_validator("k")
    @classmethod
    def k_in_range(cls, value: list[float]) -> list[float]:
        bad = [k for k in value if not 0 < k <= 100]
        if bad:
            raise ValueError(
                f"k {bad} outside (0, 100]: give percentages of the erasable tokens, e.g. 1, 5, 10, 20, 50"
            )
        return value

    @field_validator("erasure")
    @classmethod
    def known_erasure(cls, value: str) -> str:
        if value not in ERASURE_MODES:
            raise ValueError(f"erasure {value!r} is not known; accepted: {', '.join(ERASURE_MODES)}")
        return value

    @field_validator("query")
    @classmethod
    def known_query(cls, value: str) -> str:
        if value not in QUERIES:
            raise ValueError(f"query {value!r} is not known; accepted: {', '.join(QUERIES)}")
        return value


class SourceFigures(Answer):
    comprehensiveness: list[float | None] = Field(description="per k: p(label | x) - p(label | x without the top k%)")
    sufficiency: list[float | None] = Field(
        description="per k: p(label | x) - p(label | only the top k% of the erasable)"
    )
    aopc: dict[str, float | None] = Field(description="comprehensiveness and sufficiency averaged over k")
    normalised: dict[str, float | None] = Field(description="AOPC scaled between this input's bounds, 1 most faithful")


class FaithfulnessResponse(Answer):
    """Comprehensiveness and sufficiency of every explanation source for one input (docs/concepts.md)."""

    model: str
    task: str
    format: str
    num_layers: int
    num_heads: int
    label: str = Field(description="the explained label (QA-B / NLI-B: yes of the shown polarity)")
    probability: float = Field(description="its probability on the whole input")
    erasure: str
    erase_targets: bool
    query: str
    query_tokens: list[int]
    erasable: list[int] = Field(description="token indices a ranking may erase")
    tokens: list[str]
    k_percents: list[float]
    k_tokens: list[int] = Field(description="tokens erased or kept per k")
    sources: dict[str, SourceFigures] = Field(
        description="head_mean, norm_head_mean, rollout, flow, ig, grad_x_input, random (mean of its draws), occlusion"
    )
    heads: dict[str, dict[str, list[list[float | None]]]] = Field(
        description="per head source (attention, norm_attention): [layer][head] maps of aopc_comprehensiveness, "
        "aopc_sufficiency, normalised_comprehensiveness, normalised_sufficiency"
    )
    bounds: dict[str, list[float | None]] = Field(description="the normalisation's lowest and highest AOPC")
    rows: dict[str, int] = Field(description="erased inputs asked for and distinct ones run")
    timings_ms: dict[str, float]
    extra: dict[str, Any] | None = None

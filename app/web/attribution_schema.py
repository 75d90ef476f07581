"""The attribution fields of POST /api/inspect (InspectRequest inherits them), validated with messages
that name what is accepted."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from app.core.attribution.gradients import IG_DEFAULT_STEPS, IG_MAX_STEPS
from app.core.attribution.live import METHODS
from app.core.attribution.tokens import QUERIES

AttributionMethod = Literal[METHODS]  # type: ignore[valid-type]
AttributionQuery = Literal[QUERIES]  # type: ignore[valid-type]


class AttributionFields(BaseModel):
    attribution: list[AttributionMethod] | None = Field(
        default=None,
        max_length=len(METHODS),
        description="token attribution to add: any of " + ", ".join(METHODS) + " (docs/reference/api.md)",
    )
    attribution_label: str | None = Field(
        default=None, max_length=200, description="label whose logit is explained (default: the predicted one)"
    )
    ig_steps: int | None = Field(
        default=None, description=f"integrated-gradients steps, 1..{IG_MAX_STEPS} (default {IG_DEFAULT_STEPS})"
    )
    attribution_query: AttributionQuery | None = Field(
        default=None,
        description="token whose attention, rollout and flow are read: "
        + ", ".join(QUERIES)
        + " (default readout: what the classifier reads, [CLS] or the entity-start markers)",
    )

    @field_validator("ig_steps")
    @classmethod
    def steps_in_range(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= IG_MAX_STEPS:
            raise ValueError(
                f"ig_steps must be between 1 and {IG_MAX_STEPS} (got {value}): each step is one row "
                f"of the integrated-gradients batch"
            )
        return value

    @model_validator(mode="after")
    def options_need_methods(self) -> AttributionFields:
        given = [
            name for name in ("attribution_label", "ig_steps", "attribution_query") if getattr(self, name) is not None
        ]
        if given and not self.attribution:
            raise ValueError(f"{', '.join(given)} only apply with attribution: [...] (any of {', '.join(METHODS)})")
        if self.ig_steps is not None and "ig" not in (self.attribution or []):
            raise ValueError('ig_steps applies only when attribution includes "ig"')
        return self

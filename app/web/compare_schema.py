"""The body of POST /api/compare: two inputs (or one input on two checkpoints) side by side."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.web.request_bodies import MAX_TEXT_CHARS, AspectText, InputText


class CompareSide(BaseModel):
    """One side: what POST /api/inspect takes, plus `pretrained` (the checkpoint's pretrained base instead)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None,
        max_length=200,
        description="checkpoint id; right side: default the left's; left: default the demo ABSA model",
    )
    text: InputText | None = Field(
        default=None,
        max_length=MAX_TEXT_CHARS,
        description="review (ABSA) or sentence with <e1>/<e2> tags (RE); right side: default the left's",
    )
    aspect: AspectText | None = Field(
        default=None, max_length=200, description="ABSA: category or term; right: default the left's"
    )
    aspect_span: tuple[int, int] | None = None
    e1_span: tuple[int, int] | None = None
    e2_span: tuple[int, int] | None = None
    pretrained: bool = Field(default=False, description="run the checkpoint's pretrained (not fine-tuned) base model")


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left: CompareSide = Field(description="the source, or the first checkpoint")
    right: CompareSide = Field(
        default_factory=CompareSide, description="the variant, or the second checkpoint; fields left out are the left's"
    )
    layers: list[int] | None = Field(
        default=None, max_length=256, description="layers of compact attention to send for both sides (default all)"
    )

    @field_validator("left")
    @classmethod
    def left_has_text(cls, value: CompareSide) -> CompareSide:
        if value.text is None:
            raise ValueError("left.text is required: the source review (ABSA) or sentence with <e1>/<e2> tags (RE)")
        return value

"""Request bodies of the JSON API, validated by pydantic (errors become 422s naming the field)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from app.web.attribution_schema import AttributionFields

MAX_TEXT_CHARS = 20_000


def _text_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("text is empty: give a review (ABSA) or a sentence with <e1>…</e1> and <e2>…</e2> (RE)")
    return value


def _aspect_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("aspect is empty: give an aspect category (e.g. food) or a term from the review")
    return value


# The input fields every body that inspects shares (inspect, compare): blank text or aspect is refused.
InputText = Annotated[str, AfterValidator(_text_not_blank)]
AspectText = Annotated[str, AfterValidator(_aspect_not_blank)]


class InspectRequest(AttributionFields):
    model: str | None = Field(default=None, description="checkpoint id (GET /api/models); default: the demo ABSA model")
    text: InputText = Field(max_length=MAX_TEXT_CHARS, description="review (ABSA) or sentence with <e1>/<e2> tags (RE)")
    aspect: AspectText | None = Field(default=None, max_length=200, description="ABSA: aspect category or term")
    aspect_span: tuple[int, int] | None = Field(
        default=None, description="ABSA: [start, end) of the aspect term in text"
    )
    e1_span: tuple[int, int] | None = Field(default=None, description="RE: [start, end) of entity 1 in plain text")
    e2_span: tuple[int, int] | None = Field(default=None, description="RE: [start, end) of entity 2 in plain text")
    attention: Literal["compact", "full", "none"] = "compact"
    layers: list[int] | None = Field(default=None, description="compact only: layers to send (default all)")
    word_level: bool = False

    @model_validator(mode="after")
    def layers_only_for_compact(self) -> InspectRequest:
        if self.layers is not None and self.attention != "compact":
            raise ValueError("layers selects layers of the compact attention only; drop it or use attention=compact")
        return self

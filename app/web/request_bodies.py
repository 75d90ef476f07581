"""Request bodies of the JSON API, validated by pydantic (errors become 422s naming the field)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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


MAX_INTERVENED_HEADS = 1024  # more than any BERT-family classifier has (the model's own count is checked too)


class Intervene(BaseModel):
    """POST /api/inspect's `intervene`: change chosen heads' outputs and see the prediction before and after."""

    heads: list[tuple[int, int]] = Field(
        max_length=MAX_INTERVENED_HEADS, description="[layer, head] pairs, each once; [] changes nothing"
    )
    mode: Literal["zero", "mean", "scale"] = Field(
        default="zero",
        description="zero: output 0; scale: output times factor; mean: the head's mean output over the reference set",
    )
    factor: float | None = Field(
        default=None, allow_inf_nan=False, description="scale only: a finite number (default 0.5)"
    )
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="mean only: the reference set the means are taken over: demo (the demo data of the "
        "checkpoint's task, the default), demo-absa, demo-re, or a file under HEADSCOPE_SHARED_DATA by its "
        "relative path (GET /api/inspect/references)",
    )

    @model_validator(mode="after")
    def options_fit_the_mode(self) -> Intervene:
        if self.factor is not None and self.mode != "scale":
            raise ValueError(f"factor is for mode scale only; drop it or use mode scale (mode is {self.mode})")
        if self.reference is not None and self.mode != "mean":
            raise ValueError(f"reference is for mode mean only; drop it or use mode mean (mode is {self.mode})")
        if self.mode == "scale" and self.factor is None:
            self.factor = 0.5
        if len(set(self.heads)) < len(self.heads):
            twice = sorted({h for h in self.heads if self.heads.count(h) > 1})
            raise ValueError(f"heads {[list(h) for h in twice]} are given more than once: name each head once")
        return self


def _layer_choice(value: object) -> object:
    """`layers`: a list of layer numbers, or "all"; anything else is refused saying what is accepted."""
    if value is None or value == "all":
        return value
    if isinstance(value, list) and all(isinstance(layer, int) and not isinstance(layer, bool) for layer in value):
        return value
    raise ValueError(f'layers takes a list of layer numbers such as [0, 3], or "all" for every layer; got {value!r}')


# None: the default (every layer of the compact attention that fits in the answer's budget, the rest named)
LayerChoice = Annotated[list[int] | Literal["all"] | None, BeforeValidator(_layer_choice)]


class InspectionFields(BaseModel):
    """The input of one inspection, shared by /api/inspect and /api/inspect/knockout. An unknown field is refused
    (422 naming the accepted ones): a misspelt option would otherwise be dropped without a word."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="checkpoint id (GET /api/models); default: the demo ABSA model")
    text: InputText = Field(max_length=MAX_TEXT_CHARS, description="review (ABSA) or sentence with <e1>/<e2> tags (RE)")
    aspect: AspectText | None = Field(default=None, max_length=200, description="ABSA: aspect category or term")
    aspect_span: tuple[int, int] | None = Field(
        default=None, description="ABSA: [start, end) of the aspect term in text"
    )
    e1_span: tuple[int, int] | None = Field(default=None, description="RE: [start, end) of entity 1 in plain text")
    e2_span: tuple[int, int] | None = Field(default=None, description="RE: [start, end) of entity 2 in plain text")


class KnockoutRequest(InspectionFields):
    mode: Literal["zero", "mean"] = Field(
        default="zero", description="how a head is removed: zero, or mean (its mean output over the demo data)"
    )


class InspectRequest(InspectionFields, AttributionFields):
    attention: Literal["compact", "full", "none", "npz"] = Field(
        default="compact",
        description="compact: uint8 base64 in JSON; full: floats in JSON; none; npz: a binary .npz archive "
        "(application/octet-stream, one array per layer, deflated; docs/reference/api.md)",
    )
    attention_dtype: Literal["uint8", "float16"] = Field(
        default="uint8", description="npz only: uint8 (1/255 steps, divide by scale) or float16 probabilities"
    )
    layers: LayerChoice = Field(
        default=None,
        description='compact or npz: layers to send, e.g. [0, 3], or "all". Default: npz every layer; compact every '
        "layer whose base64 fits in 8 MB (a long input's leading layers, the rest named in attention.omitted_layers)",
    )
    thumbnails: int | None = Field(
        default=None,
        ge=4,
        le=256,
        description="also send every head's attention max-pooled to at most this many cells a side (the model "
        "view's thumbnails: uint8 base64 per layer, a few kB a head whatever the input's length)",
    )
    word_level: bool = False
    attention_kind: Literal["weights", "norm"] = Field(
        default="weights",
        description="weights: the attention probabilities; norm: norm-based attention (Kobayashi et al. 2020), "
        "||α_ij f(x_j)|| normalised per row (docs/concepts.md)",
    )
    intervene: Intervene | None = Field(
        default=None, description="change chosen heads' outputs (docs/how-to/interventions.md); adds intervention"
    )

    @model_validator(mode="after")
    def layers_only_for_compact(self) -> InspectRequest:
        if self.layers is not None and self.attention not in ("compact", "npz"):
            raise ValueError(
                "layers selects layers of the compact or npz attention only; drop it or use attention=compact or npz"
            )
        if self.attention_dtype != "uint8" and self.attention != "npz":
            raise ValueError("attention_dtype applies to attention=npz only; drop it or use attention=npz")
        if self.intervene is not None and self.attribution:
            raise ValueError("attribution explains the plain model; drop attribution or intervene")
        if self.intervene is not None and self.attention_kind != "weights":
            raise ValueError("intervene returns attention weights only; drop intervene or use attention_kind=weights")
        return self

"""The body and answer of POST /api/compare/patching: activation patching between the two inputs of /compare."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.web.compare_schema import CompareSide

Fraction = float | None


class PatchingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left: CompareSide = Field(description="the clean input (the source)")
    right: CompareSide = Field(
        default_factory=CompareSide,
        description="the corrupted input (the variant) on the same checkpoint; fields left out are the left's",
    )
    direction: Literal["denoise", "noise", "both"] = Field(
        default="both",
        description="denoise: the corrupted run with one component from the clean run; noise: the reverse",
    )


class PatchedDirection(BaseModel):
    direction: str
    clean_label: str = Field(description="the clean run's predicted label")
    corrupted_label: str = Field(description="the corrupted run's predicted label")
    clean_difference: float = Field(description="logit[clean label] - logit[corrupted label] on the clean run")
    corrupted_difference: float = Field(description="the same difference on the corrupted run")
    heads: list[list[Fraction]] = Field(description="[layer][head]: restored fraction with that head patched")
    residual: list[list[Fraction]] = Field(
        description="[point][column]: restored fraction with the residual stream patched at one aligned pair"
    )
    undefined: str | None = Field(description="why every fraction is null (the difference is ~0), else null")


class AlignedColumn(BaseModel):
    clean: int = Field(description="the position in the clean input")
    corrupted: int = Field(description="the position in the corrupted input")
    token: str


class PatchingResponse(BaseModel):
    model: str
    task: str
    num_layers: int
    num_heads: int
    metric: str = Field(description="what the fractions are fractions of")
    clean_tokens: list[str]
    corrupted_tokens: list[str]
    unaligned: dict[str, list[int]] = Field(description="clean / corrupted positions with no partner: never patched")
    columns: list[AlignedColumn] = Field(description="the aligned pairs, the residual map's columns")
    residual_points: list[str] = Field(description="the residual map's rows: embed.out, then blocks.i.out")
    denoise: PatchedDirection | None = None
    noise: PatchedDirection | None = None
    note: str

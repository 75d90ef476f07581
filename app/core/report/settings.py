"""What a model report computes, declared once: `headscope report` options, the web body and the cache key
(like app/core/heads/settings.py). The checkpoints and HEADSCOPE_SHARED_DATA are inputs, not settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.passes.batch_size import batch_size_field

ATTACKS = ("pwws", "hotflip")
Attack = Literal[ATTACKS]  # type: ignore[valid-type]


CPU_BATCH_SIZE = 32  # the batch size left open runs this on a CPU (passes/batch_size.py)


class ReportSettings(BaseModel):
    """Every field is part of the report's cache key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_examples: int | None = Field(
        default=None, ge=1, le=1_000_000, description="inputs per evaluation set: the first N (default: all)"
    )
    batch_size: int | None = batch_size_field("inputs", CPU_BATCH_SIZE)
    bins: int = Field(
        default=10, ge=2, le=50, description="equal-width confidence bins for ECE and the reliability diagrams"
    )
    attacks: tuple[Attack, ...] = Field(
        default=ATTACKS,
        max_length=len(ATTACKS),
        description="attacks of the robustness suite for adversarial accuracy (empty: none)",
    )
    attack_examples: int = Field(
        default=50, ge=1, le=100_000, description="test pairs attacked, the same first N for every model of a task"
    )
    budget: int = Field(default=200, ge=1, le=100_000, description="model queries per attacked pair")
    interpretability: bool = Field(
        default=True, description="Stevens & Su's interpretability rate on the test pairs (from the same forward pass)"
    )
    pretrained_baseline: bool = Field(
        default=True,
        description="the pretrained model's interpretability rate as a baseline (one more forward over the test pairs)",
    )
    shift: tuple[str, ...] = Field(
        default=(),
        max_length=16,
        description="more shifted test sets with the model's labels (data names: a path "
        "under HEADSCOPE_SHARED_DATA, upload:<sha256>, a file on the CLI)",
    )
    ood: tuple[str, ...] = Field(
        default=(), max_length=16, description="more out-of-domain text for anomaly detection (same kinds of names)"
    )
    roc_points: int = Field(default=101, ge=10, le=2000, description="points kept per ROC curve")
    seed: int = Field(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="seed of the dev / test split where a checkpoint records no held-out data",
    )

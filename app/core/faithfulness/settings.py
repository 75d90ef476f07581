"""What a dataset faithfulness run computes, declared once (defaults and bounds for the CLI and the cache key)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.faithfulness.erasure import DEFAULT_ERASURE, ERASURE_MODES

# Flow is one max-flow per token (app.core.attribution.graph): ~1-50 ms a pair of 40-128 tokens on one core once
# numba has compiled it (seconds, once), small beside a pair's erasure forwards, but it grows with T^3; so it has a
# bound of its own. The section's `source_ms` (bench/faithfulness_speed.py prints it) says what it cost.
DEFAULT_FLOW_LIMIT = 100
CPU_BATCH_SIZE = 16  # pairs a batch on a CPU when the analysis leaves its batch size open (passes/batch_size.py)
# What the dataset pass scores by default: every source of the live view (sources.METHODS)
DATASET_METHODS = ("attention", "head_mean", "norm_attention", "rollout", "flow", "grad_x_input", "ig", "random")
DatasetMethod = Literal[DATASET_METHODS]  # type: ignore[valid-type]  # the Literal[tuple] idiom


class FaithfulnessSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="faithfulness by erasure on the first N pairs (0: off; ~10 forwards per head and source a pair)",
    )
    erasure: Literal[ERASURE_MODES] = Field(  # type: ignore[valid-type]  # the Literal[tuple] idiom
        default=DEFAULT_ERASURE, description="how a token is erased: " + ", ".join(ERASURE_MODES)
    )
    erase_targets: bool = Field(default=False, description="the aspect term / entities may be erased too")
    ig_steps: int = Field(default=16, ge=1, le=256, description="integrated-gradients steps per pair (faithfulness)")
    random_draws: int = Field(default=4, ge=1, le=64, description="random rankings per pair (the chance level)")
    methods: tuple[DatasetMethod, ...] = Field(
        default=DATASET_METHODS,
        min_length=1,
        max_length=len(DATASET_METHODS),
        description="the sources scored by erasure (norm_attention alone doubles the per-head erasures)",
    )
    flow_limit: int = Field(
        default=DEFAULT_FLOW_LIMIT,
        ge=0,
        le=100_000,
        description="attention flow on the first N faithfulness pairs only (0: none); pairs over 128 tokens never",
    )

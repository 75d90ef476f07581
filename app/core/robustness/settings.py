"""What a robustness run computes, declared once (CLI options, web body, cache key), like analyses' settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.core.passes.batch_size import batch_size_field

CPU_BATCH_SIZE = 16  # the batch size left open runs this on a CPU (passes/batch_size.py)


class RobustnessSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tests: tuple[str, ...] = Field(
        default=(), max_length=64, description="test names (empty: every test the data and task support)"
    )
    max_examples: int | None = Field(default=None, ge=1, le=1_000_000, description="use only the first N sources")
    batch_size: int | None = batch_size_field("inputs", CPU_BATCH_SIZE)
    bootstrap: int = Field(default=1000, ge=10, le=20_000, description="bootstrap resamples for the 95% CIs")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="generation and bootstrap seed")
    inside_entities: bool = Field(default=False, description="random perturbations may edit entity / aspect words too")
    budget: int = Field(default=500, ge=1, le=100_000, description="adversarial attacks: model queries per example")
    top_heads: int = Field(
        default=5, ge=1, le=50, description="heads listed (and masked) per test as the ones that moved"
    )
    ablate_moved: bool = Field(
        default=False,
        description="mask each test's top moved heads (and as many random heads) and measure the test again",
    )
    patch: bool = Field(
        default=False,
        description="patch each head from the source into the variant over the pairs that flipped: the heads that "
        "carry each test's flips (restored fraction against a same-layer random head)",
    )
    patch_limit: int = Field(
        default=20, ge=1, le=10_000, description="patching: at most this many flipped pairs per test (a seeded sample)"
    )
    examples_kept: int = Field(default=200, ge=0, le=10_000, description="example rows kept per test for the page")

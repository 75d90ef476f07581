"""The robustness result as typed sections (to_json: app.core.heads.result.to_json, the one rounding place)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.model.summary import ModelSummary
from app.core.robustness.carriers import Carriers
from app.core.robustness.metrics import MovedHeads, Rate
from app.core.stats.rounding import to_json

ROBUSTNESS_VERSION = 1


@dataclass
class Ablated:
    """A test measured again with its top moved heads masked, and with as many random heads masked."""

    heads: list[list[int]]
    variant_accuracy: Rate
    flip_rate: Rate
    random_heads: list[list[int]]
    random_variant_accuracy: Rate
    random_flip_rate: Rate


@dataclass
class TestReport:
    test: str
    family: str
    description: str
    sources: int
    variants: int
    skipped: int  # variants that could not be encoded (e.g. too long)
    source_accuracy: Rate
    variant_accuracy: Rate
    flip_rate: Rate
    flips: dict[str, dict[str, int]]
    broken: int
    held: int
    aspect_robustness: Rate | None  # ABSA only
    debiased_accuracy: Rate | None  # bias probes only
    kept_source_label: Rate | None  # label-changing tests: variants still given the source's gold label
    moved: dict[str, MovedHeads | None]  # query set ("focus", "cls") -> heads that moved
    ablated: Ablated | None = field(default=None, metadata={"omit_none": True})
    patched: Carriers | None = field(default=None, metadata={"omit_none": True})  # the heads that carry the flips
    details: dict[str, Any] = field(default_factory=dict)  # test-specific figures (e.g. an attack's queries)
    examples: list[dict[str, Any]] = field(default_factory=list)  # rows for the flips table, broken first


@dataclass
class RobustnessResult:
    version: int
    model: ModelSummary
    data: dict[str, Any]
    settings: dict[str, Any]
    tests: list[TestReport]
    overall: dict[str, Any]
    not_run: dict[str, str]  # test -> why it was not run
    timings_s: dict[str, float] = field(metadata={"digits": 3})
    computed_at: str = ""
    run_id: str = ""
    baseline: dict[str, Any] | None = field(default=None, metadata={"omit_none": True})  # before/after comparison

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

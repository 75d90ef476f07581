"""The analysis result as typed sections (rounded by app.core.stats.rounding.to_json), and the upgrade of results
stored by older versions.

Sections hold raw numbers (floats, tensors); `to_json` is the only place that rounds. Results
written by an older headscope are brought to the current shape by `upgrade_result`, so readers
(the summary page, the CLI) only ever see one shape.

Version history: 2 — the first web-served shape; 3 — each head statistic carries `margin` (its
lower CI bound minus the best of its baselines) and `baselines.best`; 4 — `attribution` (the
agreement with attribution, app.core.heads.agreement_section; null when not computed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.model.summary import ModelSummary
from app.core.stats.rounding import to_json

RESULT_VERSION = 4


def _digits(n: int) -> dict[str, Any]:
    return {"digits": n}


OMIT_NONE = {"omit_none": True}  # the key is left out when the value is None


@dataclass
class DataSummary:
    path: str
    sha256: str | None
    format: str
    examples: int
    pairs: int
    skipped: int
    pairing: str


@dataclass
class Baselines:
    """A statistic's baselines for one head: uniform, the best positional rule, the pretrained same head."""

    uniform: float
    positional: float
    positional_rule: str
    pretrained: float | None
    best: float | None  # the largest of the three that exist (what `margin` is measured from)


@dataclass
class HeadStatistic:
    score: float
    ci: tuple[float, float]
    n: int
    baselines: Baselines
    margin: float | None  # ci[0] - baselines.best: > 0 when the head beats every baseline
    typical: list[tuple[int, float]]  # [example index, score], best first
    # why a head scoring above its best baseline gets no label from this statistic (labels.no_label_reason)
    no_label: str | None = field(default=None, metadata=OMIT_NONE)


@dataclass
class HeadChange:
    """How far fine-tuning moved one head's attention from the pretrained model's (mean JS divergence)."""

    js: float
    ci: tuple[float, float]
    n: int
    typical: list[tuple[int, float]]


@dataclass
class HeadResult:
    layer: int
    head: int
    labels: list[str]
    evidence: dict[str, list[str]]  # label -> the statistics that earned it
    statistics: dict[str, HeadStatistic]
    finetune_change: HeadChange | None = field(default=None, metadata=OMIT_NONE)


@dataclass
class Interpretability:
    rate: float
    random: float
    pretrained: float | None
    best_head: dict[str, Any]
    pretrained_best_head: dict[str, Any] | None
    examples: int
    k: int
    gold: str
    definition: str


@dataclass
class HeadMap:
    examples: int
    index: str
    js_distance: torch.Tensor = field(metadata=_digits(5))
    mds: Any = field(metadata=_digits(5))


@dataclass
class FinetuneChange:
    js: torch.Tensor
    examples: int
    pretrained: str
    definition: str


@dataclass
class Importance:
    scores: torch.Tensor
    normalised: str
    examples: int
    skipped: int
    definition: str


@dataclass
class RandomAblation:
    mean: float | None
    draws: list[float]
    heads: list[list[list[int]]]


@dataclass
class Ablation:
    heads: list[list[int]]
    accuracy: float
    masked: float
    drop: float
    random: RandomAblation
    random_drop: float | None
    examples: int
    draws: int
    seed: int
    random_from: str
    label: str
    skipped: int


@dataclass
class AnalysisResult:
    version: int
    model: ModelSummary
    data: DataSummary
    settings: dict[str, Any]
    support: dict[str, Any]
    statistics: list[str]
    heads: list[HeadResult]
    labelled: dict[str, list[list[int]]]
    interpretability: Interpretability
    head_map: HeadMap | None
    finetune_change: FinetuneChange | None
    examples: dict[str, dict[str, Any]]
    importance: Importance | None
    ablation: Ablation | None
    ablations: dict[str, Ablation]  # label -> ablation: the task's own label and any ablate_labels
    not_computed: dict[str, str]
    pairs_per_s: float | None
    timings_s: dict[str, float] = field(metadata=_digits(3))
    computed_at: str = ""
    run_id: str = ""
    rule: dict[str, Any] = field(default_factory=dict)
    attribution: Any = None  # app.core.heads.agreement_section.AttributionSection
    # attention="norm": the no-op heads' [SEP] survival (app.core.heads.sep_survival.SepSurvival)
    sep_survival: Any = field(default=None, metadata=OMIT_NONE)
    analysis_id: str | None = field(default=None, metadata=OMIT_NONE)  # the web job's id
    job: dict[str, Any] | None = field(default=None, metadata=OMIT_NONE)  # the web job's data and settings

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def best_of(baselines: dict[str, Any]) -> float | None:
    present = [v for v in (baselines.get(k) for k in ("uniform", "positional", "pretrained")) if v is not None]
    return max(present) if present else None


def margin_of(ci: Any, best: float | None) -> float | None:
    low = ci[0] if ci else None
    return None if low is None or best is None else low - best


def upgrade_result(data: dict[str, Any]) -> dict[str, Any]:
    """A stored result (any version) in the current shape; the current version comes back unchanged."""
    version = data.get("version", 2)
    if version > RESULT_VERSION:
        raise ValueError(f"analysis result version {version} is newer than this headscope reads ({RESULT_VERSION})")
    if version < 3:
        for head in data.get("heads", []):
            for entry in head.get("statistics", {}).values():
                best = best_of(entry["baselines"])
                entry["baselines"]["best"] = best
                margin = margin_of(entry.get("ci"), best)
                entry["margin"] = None if margin is None else round(margin, 6)
        data["version"] = 3
    if data["version"] < 4:
        data.setdefault("attribution", None)
        data["version"] = 4
    return data

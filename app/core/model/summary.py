"""What a result says about the checkpoint it was computed with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelSummary:
    id: str
    task: str
    format: str
    labels: list[str]
    num_layers: int
    num_heads: int
    base_model: str | None
    device: str

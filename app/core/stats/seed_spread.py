"""How far a figure varies over the seeds of a group: mean, sample SD, min–max, n and each seed's value.

Shared by the report over seed groups (app.core.report.seed_summary: every summary figure per entry) and the
robustness suite over a seed group (app.core.robustness.seed_moved: each test's accuracies and flip rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def spread(values: Sequence[tuple[int | None, str, float | None]]) -> dict[str, Any]:
    """Mean, sample SD (n − 1; None under two values), min, max and n of the values that exist, and every
    (seed, model, value) as given."""
    kept = np.array([v for _, _, v in values if v is not None], dtype=float)
    n = len(kept)
    return {
        "mean": float(kept.mean()) if n else None,
        "sd": float(kept.std(ddof=1)) if n >= 2 else None,
        "min": float(kept.min()) if n else None,
        "max": float(kept.max()) if n else None,
        "n": n,
        "values": [{"seed": seed, "model": model, "value": value} for seed, model, value in values],
    }

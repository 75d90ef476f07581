"""The one place a result is rounded for JSON: dataclasses as dicts, tensors as lists, floats rounded
(6 decimals, or a field's `digits` metadata), NaN and infinities as null."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch


def to_json(value: Any, digits: int = 6) -> Any:
    """JSON-ready copy of a section: dataclasses as dicts, tensors as lists, floats rounded, NaN -> None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = to_json(item, f.metadata.get("digits", digits))
        return out
    if isinstance(value, torch.Tensor):
        return to_json(value.tolist(), digits)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, digits)
    if isinstance(value, dict):
        return {str(k): to_json(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v, digits) for v in value]
    return value

"""Head statistics: pure per-example scores, streaming accumulators, baselines, labels, interpretability.

Shapes follow app.core.model.attention: one input's attention is [layers, heads, query, key] with rows
summing to 1. Every statistic function also accepts extra leading batch dimensions
[..., L, H, T, T] with token masks [..., T] (padding excluded through the masks), and returns
[..., L, H]. A statistic whose query set is empty for an example is NaN for that example; the
accumulators skip NaN examples.
"""

from app.core.heads.probes import InterpretabilityProbe
from app.core.heads.sections import interpretability as interpretability_section
from app.core.heads.statistics import token_sets

__all__ = [
    "InterpretabilityProbe",
    "interpretability_section",
    "token_sets",
]

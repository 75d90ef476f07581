"""What the faithfulness tests expect of one live input, written once (the core, the API and the page answer alike)."""

from __future__ import annotations

# Every source POST /api/inspect/faithfulness scores besides the per-head maps: the head means (attention and
# norm-based), rollout, flow, the two gradient attributions, the random rankings and the occlusion bound.
LIVE_SOURCES = {"head_mean", "norm_head_mean", "rollout", "flow", "ig", "grad_x_input", "random", "occlusion"}

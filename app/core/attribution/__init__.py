"""Beyond raw attention: token attribution, attention rollout and flow, and their agreement with each head.

* gradients.py: integrated gradients and gradient x input on the input word embeddings (Captum),
  batched, with the completeness gap of integrated gradients;
* graph.py: attention rollout and attention flow (Abnar & Zuidema 2020) over the layers;
* maxflow.py: flow's maximum flows, every token's at once, on the dense layered graph (numba kernels;
  flow_solver.py is the way in);
  flow_network.py: that graph's integer capacities from an attention, and scipy's form of it;
* agreement.py: rank correlation and top-k overlap between each head's attention from a query
  token and an attribution, for one input or a padded batch; agreement_kernel.py: the same for
  one live input, compiled (numba);
* tokens.py: which tokens are queries ([CLS], the aspect, the entities, what the classifier reads)
  and which are compared (the input's content tokens);
* live.py: all of it for one live inspection.

The dataset agreement (`headscope analyze`) is a section of the head analysis:
app.core.heads.agreement_probe, agreement_section and agreement_dataset, over the names below.

`python -m app.core.attribution` compiles the numba kernels into numba's cache (`make install`).
"""

from app.core.attribution.agreement import head_rows, spearman
from app.core.attribution.gradients import BASELINE, IG_DEFAULT_STEPS, gradient_x_input, integrated_gradients
from app.core.attribution.graph import FLOW_MAX_TOKENS, attention_flow, rollout_rows
from app.core.attribution.tokens import content_mask, entity_start_ids, query_tokens, query_weights

__all__ = [
    "BASELINE",
    "FLOW_MAX_TOKENS",
    "IG_DEFAULT_STEPS",
    "attention_flow",
    "content_mask",
    "entity_start_ids",
    "gradient_x_input",
    "head_rows",
    "integrated_gradients",
    "query_tokens",
    "query_weights",
    "rollout_rows",
    "spearman",
]

"""Faithfulness of explanations by erasure (ERASER: DeYoung et al. 2020): do the tokens a head's attention,
rollout, flow or a gradient attribution ranks highest carry the prediction?

* erasure.py: which tokens of an input may be erased (the structure kept) and how, as batched inputs;
* metrics.py: comprehensiveness, sufficiency, AOPC and the normalised AOPC (Edin et al. 2024);
* sources.py: the explanation sources as token scores (computed by app.core.attribution);
* forwards.py: the erased inputs' target probabilities, deduplicated and batched on the model's device;
* evaluate.py: all of it for one live input;
* probe.py: the same per pair, as a probe of the one attention pass; dataset.py: that pass and its
  summary per head and source with bootstrap CIs, against random, the faithful heads' label;
* paired.py: source against source on the same pairs (paired bootstrap CIs of the differences).
"""

from app.core.faithfulness.dataset import FAITHFUL, FaithfulnessSection, dataset_faithfulness, faithfulness_of_data
from app.core.faithfulness.erasure import DEFAULT_ERASURE, ERASURE_MODES, erasable_mask, erased_inputs
from app.core.faithfulness.evaluate import FaithfulnessReport, FaithfulnessRequest, evaluate_input
from app.core.faithfulness.metrics import K_PERCENTS
from app.core.faithfulness.paired import PairedDifference, paired_differences
from app.core.faithfulness.probe import FaithfulnessProbe
from app.core.faithfulness.settings import DATASET_METHODS, FaithfulnessSettings
from app.core.faithfulness.sources import METHODS

__all__ = [
    "DATASET_METHODS",
    "FAITHFUL",
    "FaithfulnessProbe",
    "FaithfulnessSection",
    "FaithfulnessSettings",
    "dataset_faithfulness",
    "faithfulness_of_data",
    "PairedDifference",
    "paired_differences",
    "DEFAULT_ERASURE",
    "ERASURE_MODES",
    "K_PERCENTS",
    "METHODS",
    "FaithfulnessReport",
    "FaithfulnessRequest",
    "erasable_mask",
    "erased_inputs",
    "evaluate_input",
]

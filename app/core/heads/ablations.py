"""Head importance and ablation over the analysed pairs (Michel et al. 2019; mechanics in importance.py).

Importance needs gradients and ablation needs masked forward passes, so neither is a probe of the
attention pass: both run after it, on the pairs that carry a gold label the model predicts, batch
by batch through the same runner.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from app.core.data.readers import OpinionLexicon
from app.core.heads.importance import ablate, head_importance
from app.core.heads.result import Ablation, Importance, RandomAblation
from app.core.inputs.batching import pad_batch
from app.core.inputs.units import UnitSpec, encode_unit, gold_label
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import Runner, run_here

ABLATION_LABEL = {"absa": "aspect", "re": "entity"}  # the task's own label, always ablated
IMPORTANCE_DEFINITION = (
    "mean over examples of |d cross-entropy(gold) / d head gate| at gate 1 (Michel et al. 2019), "
    "each layer's row divided by its L2 norm"
)


def _chunks(items: Sequence[UnitSpec], size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def importance_batches(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    max_length: int,
    batch_size: int,
    lexicon: OpinionLexicon | None = None,
) -> tuple[list[dict[str, torch.Tensor]], list[torch.Tensor], int]:
    """Model inputs and gold label indices of every pair with a label the model predicts; and how many were skipped."""
    batches, labels, skipped = [], [], 0
    pad_id = checkpoint.tokenizer.pad_token_id
    for chunk in _chunks(specs, batch_size):
        units, gold = [], []
        for spec in chunk:
            index = gold_label(checkpoint, spec)
            unit = encode_unit(checkpoint, spec, lexicon, max_length) if index is not None else None
            if unit is None:
                skipped += 1
                continue
            units.append(unit)
            gold.append(index)
        if units:
            batches.append(pad_batch([u.encoded for u in units], pad_id, checkpoint.device))
            labels.append(torch.tensor(gold, dtype=torch.long))
    return batches, labels, skipped


def importance_and_ablation(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    labelled: dict[str, list[list[int]]],
    *,
    max_length: int | None = None,
    batch_size: int = 16,
    draws: int = 5,
    seed: int = 0,
    runner: Runner = run_here,
    ablate_labels: Sequence[str] = (),
) -> tuple[Importance | None, dict[str, Ablation], dict[str, str]]:
    """(importance, {label: ablation}, not_computed reasons).

    The task's own ablation label ("aspect", RE "entity") is always ablated; `ablate_labels` adds others
    (e.g. "aspect-sentiment"), each masked against `draws` random sets of as many other heads.
    """
    info = checkpoint.info
    batches, labels, skipped = importance_batches(checkpoint, specs, max_length or info.max_length, batch_size)
    examples = sum(len(g) for g in labels)
    if not examples:
        reason = f"no pair carries a gold label among the model's labels {list(info.labels)}"
        return None, {}, {"importance": reason, "ablation": reason}
    scores = head_importance(checkpoint, batches, labels, runner=runner)
    importance = Importance(
        scores=scores, normalised="per layer L2", examples=examples, skipped=skipped, definition=IMPORTANCE_DEFINITION
    )
    ablations: dict[str, Ablation] = {}
    reasons: dict[str, str] = {}
    for label in dict.fromkeys([ABLATION_LABEL[info.task], *ablate_labels]):
        heads = labelled.get(label, [])
        key = "ablation" if label == ABLATION_LABEL[info.task] else f"ablation:{label}"
        if not heads:
            reasons[key] = f"no head carries the label {label!r}"
        elif len(heads) >= info.num_layers * info.num_heads:
            reasons[key] = f"every head carries the label {label!r}: no other heads to draw at random"
        else:
            found = ablate(
                checkpoint,
                batches,
                labels,
                [(layer, head) for layer, head in heads],
                random_draws=draws,
                seed=seed,
                runner=runner,
            )
            ablations[label] = Ablation(
                **{**found, "random": RandomAblation(**found["random"])}, label=label, skipped=skipped
            )
    return importance, ablations, reasons

"""A live inspection with an intervention: the prediction before and after changing chosen heads.

The intervened forward is the checkpoint's own PyTorch forward with the intervention's hooks
(app.core.model.interventions) for the whole pass, so its attention is the intervened model's: layers
after an intervened head attend differently. "before" is the plain PyTorch forward of the same rows,
so with no head chosen before and after agree bit for bit (the ONNX fast path would not: it is never
used here). A caller that already has the plain outcome of this input (the same checkpoint, rows and
engine) passes it as `before` and saves that forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.core.model.attention import forward_with_attention
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.hooks import hooks
from app.core.model.interventions import Intervention, intervention_hooks
from app.core.passes.head_means import reference_means
from app.core.passes.inspection import Inspection, PreparedInspection, batch_inputs, inspect_batch, label_scores


@dataclass(frozen=True)
class Outcome:
    """A prediction with the logit behind its label (QA-B / NLI-B: that polarity's "yes" logit)."""

    label: str
    probabilities: dict[str, float]
    logit: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "probabilities": self.probabilities, "logit": self.logit}


@dataclass
class IntervenedInspection:
    inspection: Inspection  # the intervened run: its prediction is `after`'s, its attention the intervened model's
    intervention: Intervention
    before: Outcome
    after: Outcome

    def to_json(self) -> dict[str, Any]:
        delta = {label: p - self.before.probabilities[label] for label, p in self.after.probabilities.items()}
        return {
            **self.intervention.to_json(),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "delta": delta,
        }


def outcome(loaded: LoadedCheckpoint, prepared: PreparedInspection, logits: torch.Tensor) -> Outcome:
    """The outcome of one inspection's rows of logits ([rows, labels], on the CPU)."""
    prediction, logits_by_label, _ = label_scores(loaded, prepared, logits)
    return Outcome(prediction.label, prediction.probabilities, logits_by_label[prediction.label])


@torch.inference_mode()
def plain_outcome(loaded: LoadedCheckpoint, prepared: PreparedInspection) -> Outcome:
    """The plain PyTorch forward's outcome (no attention kept)."""
    logits = loaded.model(**batch_inputs(loaded, [prepared])).logits
    return outcome(loaded, prepared, logits.float().cpu())


def inspect_intervened(
    loaded: LoadedCheckpoint,
    prepared: PreparedInspection,
    intervention: Intervention,
    before: Outcome | None = None,
    reference: str = "demo",
) -> IntervenedInspection:
    """Inspect one prepared input with `intervention` applied (checked beforehand: check_intervention).

    Runs on the model's thread like any forward; the hooks live for this call only.
    """
    means = reference_means(loaded, reference) if intervention.mode == "mean" and intervention.heads else None
    fns = intervention_hooks(intervention, loaded.info.num_heads, means)
    before = before if before is not None else plain_outcome(loaded, prepared)
    logits_seen: list[torch.Tensor] = []

    def intervened(inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        with hooks(loaded.model, fns):
            logits, attention = forward_with_attention(loaded.model, inputs)
        logits_seen.append(logits)
        return logits, attention

    inspection = inspect_batch(loaded, [prepared], forward=intervened)[0]
    after = outcome(loaded, prepared, logits_seen[0].float().cpu())
    return IntervenedInspection(inspection, intervention, before, after)

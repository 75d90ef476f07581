"""A live inspection with an intervention: the prediction before and after changing chosen heads.

The intervened forward is the checkpoint's own PyTorch forward with the intervention's hooks
(app.core.model.interventions) for the whole pass, so its attention is the intervened model's: layers
after an intervened head attend differently. "before" is the plain PyTorch forward of the same rows
(the ONNX fast path is never used here). A caller that already has the plain outcome of this input
(the same checkpoint, rows and engine) passes it as `before` and saves that forward.

A new one-row input runs both models in one forward, forked where they part (`forked_hooks`): the
layers before the first intervened head run once, the rest as a batch of two rows, plain and
intervened. The plain row's attention and hidden states are the plain forward's bit for bit; its
logits can differ in the last float bits (the classifier's matrix product of two rows rounds unlike
that of one row: at most a few 1e-7 on the demo checkpoint). With no head changed nothing forks: one
plain forward is both "before" and "after", so they agree bit for bit with the plain inspection.
Inputs of several rows (QA-B / NLI-B) and models whose head reads the input ids after the encoder
(entity-start pooling) run the plain and the intervened forward one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from app.core.model.attention import forward_with_attention
from app.core.model.checkpoint import LoadedCheckpoint, ensure_attentions
from app.core.model.hooks import HookFn, hooks
from app.core.model.interventions import Intervention, forked_hooks, intervention_hooks
from app.core.passes.head_means import ReferenceSet, reference_means
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
    reference: ReferenceSet | None = None,
) -> IntervenedInspection:
    """Inspect one prepared input with `intervention` applied (checked beforehand: check_intervention).

    reference: the mean mode's reference set (default: the demo data of the checkpoint's task). Runs
    on the model's thread like any forward; the hooks live for this call only.
    """
    means = None
    if intervention.mode == "mean" and intervention.heads:
        means = reference_means(loaded, reference)
    fns = intervention_hooks(intervention, loaded.info.num_heads, means)
    if not fns:  # nothing changes: the plain forward is both before and after (a given `before` may be a fork's)
        inspection, logits = _inspect_with(loaded, prepared, _hooked(loaded, {}))
        plain = outcome(loaded, prepared, logits)
        return IntervenedInspection(inspection, intervention, plain, plain)
    if before is None and len(prepared.encodeds) == 1 and _forks(loaded.model):
        try:
            return _inspect_forked(loaded, prepared, intervention, fns)
        except _NotForked:
            _UNFORKED.add(type(loaded.model))
    before = before if before is not None else plain_outcome(loaded, prepared)
    inspection, logits = _inspect_with(loaded, prepared, _hooked(loaded, fns))
    return IntervenedInspection(inspection, intervention, before, outcome(loaded, prepared, logits))


# --- inside ----------------------------------------------------------------------------------------

Forward = Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]
_UNFORKED: set[type] = set()  # model classes whose head reads n rows after a fork (entity-start pooling)


class _NotForked(Exception):
    """The forked forward came back with the input's rows only: its head does not follow the fork."""


def _forks(model: Any) -> bool:
    return type(model) not in _UNFORKED


def _hooked(loaded: LoadedCheckpoint, fns: dict[str, HookFn]) -> Forward:
    def forward(inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        with hooks(loaded.model, fns):
            return forward_with_attention(loaded.model, inputs)

    return forward


def _inspect_with(
    loaded: LoadedCheckpoint, prepared: PreparedInspection, forward: Forward
) -> tuple[Inspection, torch.Tensor]:
    """The inspection `forward` gives, and the logits it saw (on the CPU)."""
    seen: list[torch.Tensor] = []

    def keeping(inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        logits, attention = forward(inputs)
        seen.append(logits)
        return logits, attention

    inspection = inspect_batch(loaded, [prepared], forward=keeping)[0]
    return inspection, seen[0].float().cpu()


def _inspect_forked(
    loaded: LoadedCheckpoint, prepared: PreparedInspection, intervention: Intervention, fns: dict[str, HookFn]
) -> IntervenedInspection:
    """One forward of a one-row input forked into the plain row 0 and the intervened row 1."""
    plain: list[torch.Tensor] = []

    @torch.inference_mode()
    def forked(inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        with hooks(loaded.model, forked_hooks(fns)):
            output = loaded.model(**inputs, output_attentions=True)
        ensure_attentions(output.attentions)
        if output.logits.shape[0] != 2:
            raise _NotForked
        plain.append(output.logits[:1])
        # Layers up to the fork ran one row (plain and intervened alike), the later ones two: the last is the
        # intervened model's.
        return output.logits[1:], torch.stack([layer[-1:] for layer in output.attentions], dim=1)

    inspection, after = _inspect_with(loaded, prepared, forked)
    before = outcome(loaded, prepared, plain[0].float().cpu())
    return IntervenedInspection(inspection, intervention, before, outcome(loaded, prepared, after))

"""The knock-out map of one input: the predicted label's probability with each head removed alone,
and with each layer's heads removed together.

One input's rows are replicated once per knock-out (plain, then every (layer, head), then every layer)
and run in a few batched forwards, each row removing its own heads through one `ablate_rows` hook per
layer (app.core.model.interventions): L x H + L + 1 rows instead of as many separate forwards. Row by
row this is the separate forward with only that head removed, up to the batch's floating-point order.

It runs one model over one input like the live inspection, so it is a pass (`passes/`), usable by the
web layer and by any feature; "removed" is zeroed or replaced by the head's mean output over the
reference set (head_means.py), the same two removals a live intervention offers.

`knocked_logits` is the one knock-out implementation: the map above and the dataset-level knock-outs
(the ablation beside head importance, app.core.heads; the robustness suite's moved-heads ablation) both
run their inputs through it, one input under many keeps or a dataset's batches under one keep. Head
importance itself differentiates a continuous gate (app.core.model.head_mask), which a removal cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.hooks import head_out, hooks
from app.core.model.interventions import ablate_rows
from app.core.passes.head_means import reference_means
from app.core.passes.inspection import PreparedInspection, batch_inputs, label_scores
from app.core.passes.intervention import Outcome, outcome
from app.core.stats.rounding import to_json

KNOCKOUT_MODES = ("zero", "mean")
# Rows per forward: the demo checkpoints' 79 knock-outs of a short one-row input in one batch; long inputs
# in more, smaller batches (eager attention keeps a rows x heads x tokens x tokens matrix per layer).
MAX_ROWS, MAX_ROW_TOKENS = 128, 16_384


@dataclass(frozen=True)
class Removal:
    """The predicted label's probability and logit with some heads removed; effect = plain - this probability."""

    probability: float
    logit: float
    effect: float


@dataclass
class KnockoutMap:
    label: str
    mode: str
    plain: Outcome
    heads: list[list[Removal]]  # [layer][head]
    layers: list[Removal]  # every head of the layer removed

    def ranking(self) -> list[dict[str, Any]]:
        """Every head, the largest drop of the predicted label's probability first."""
        ranked = [(r.effect, layer, head) for layer, row in enumerate(self.heads) for head, r in enumerate(row)]
        ranked.sort(key=lambda item: (-item[0], item[1], item[2]))
        return [{"layer": layer, "head": head, "effect": effect} for effect, layer, head in ranked]

    def to_json(self) -> dict[str, Any]:
        def columns(removals: list[Removal]) -> dict[str, list[float]]:
            return {name: [getattr(r, name) for r in removals] for name in ("probability", "logit", "effect")}

        per_head = [columns(row) for row in self.heads]
        return to_json(
            {
                "label": self.label,
                "mode": self.mode,
                "plain": {"probability": self.plain.probabilities[self.label], "logit": self.plain.logit},
                "prediction": self.plain.to_json(),
                "heads": {name: [row[name] for row in per_head] for name in ("probability", "logit", "effect")},
                "layers": columns(self.layers),
                "ranking": self.ranking(),
            }
        )


def knockout_keeps(layers: int, heads: int) -> torch.Tensor:
    """[1 + layers * heads + layers, layers, heads] bool: the plain row, each head alone, each layer whole."""
    keep = torch.ones(1 + layers * heads + layers, layers, heads, dtype=torch.bool)
    for layer in range(layers):
        for head in range(heads):
            keep[1 + layer * heads + head, layer, head] = False
        keep[1 + layers * heads + layer, layer, :] = False
    return keep


@torch.inference_mode()
def knocked_logits(
    loaded: LoadedCheckpoint, inputs: dict[str, torch.Tensor], keep: torch.Tensor, fill: torch.Tensor | None = None
) -> torch.Tensor:
    """Logits [knock-outs, rows, labels] on the CPU: knock-out k (keep[k], [layers, heads], False: removed)
    applied to every row of `inputs` (model inputs on the model's device, one input's rows or a dataset's batch).

    The one knock-out: the per-input map runs one input's rows under every head's and layer's keep, the
    dataset ablations (app.core.heads `ablate`, the robustness suite's moved heads) a dataset's batches under
    one keep. fill: [layers, heads, head_dim] what a removed head writes (the reference means); None: zero.
    A layer whose heads are all kept gets no hook: a keep of all True is the plain forward, bit for bit.
    """
    rows, tokens = inputs["input_ids"].shape
    per_forward = max(1, min(MAX_ROWS, MAX_ROW_TOKENS // tokens) // rows)
    found = []
    for start in range(0, keep.shape[0], per_forward):
        part = keep[start : start + per_forward]
        chunk = part.repeat_interleave(rows, dim=0).to(loaded.device)
        batch = {name: value.repeat(part.shape[0], 1) for name, value in inputs.items()}
        fns = {
            head_out(layer): ablate_rows(chunk[:, layer], None if fill is None else fill[layer])
            for layer in range(keep.shape[1])
            if not bool(part[:, layer].all())
        }
        with hooks(loaded.model, fns):
            found.append(loaded.model(**batch).logits.float().cpu())
    return torch.cat(found).view(keep.shape[0], rows, -1)


def knockout_keep(mask: torch.Tensor) -> torch.Tensor:
    """One knock-out's keep, [1, layers, heads], from a head mask of 0 (removed) and 1 (kept), [layers, heads]."""
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("a knock-out mask holds 0 (removed) or 1 (kept) only")
    return (mask != 0).cpu()[None]


def knockout_map(loaded: LoadedCheckpoint, prepared: PreparedInspection, mode: str = "zero") -> KnockoutMap:
    """Knock every head out alone, and every layer whole, on one prepared input (on the model's thread)."""
    if mode not in KNOCKOUT_MODES:
        raise ValueError(f"mode {mode!r}: accepted {', '.join(KNOCKOUT_MODES)}")
    layers, heads = loaded.info.num_layers, loaded.info.num_heads
    fill = reference_means(loaded) if mode == "mean" else None
    logits = knocked_logits(loaded, batch_inputs(loaded, [prepared]), knockout_keeps(layers, heads), fill)
    plain = outcome(loaded, prepared, logits[0])
    base = plain.probabilities[plain.label]

    def removal(row: int) -> Removal:
        prediction, logits_by_label, _ = label_scores(loaded, prepared, logits[row])
        probability = prediction.probabilities[plain.label]
        return Removal(probability, logits_by_label[plain.label], base - probability)

    per_head = [[removal(1 + layer * heads + head) for head in range(heads)] for layer in range(layers)]
    per_layer = [removal(1 + layers * heads + layer) for layer in range(layers)]
    return KnockoutMap(plain.label, mode, plain, per_head, per_layer)

"""Integrated gradients and gradient x input on the input word embeddings, through Captum.

Both explain one output logit (the target label's) by the word embeddings of the input tokens:
the word-embedding output is replaced by the tensor Captum varies (app.core.model.hooks' embed.word),
so the model sees its usual input ids, attention mask, position and token-type embeddings (and
relation classifiers with entity-start pooling still find their markers in the ids).

Integrated gradients (Sundararajan et al. 2017): attribution_t = (x_t - x'_t) . mean over the path
x' + a (x - x') of d logit / d x_t, with Captum's Gauss-Legendre rule over `steps` points. The
baseline x' puts [PAD]'s embedding at every content token and keeps [CLS], [SEP], entity markers
and padding as they are. Completeness: the attributions sum to logit(x) - logit(x'); the gap
between the two is the rule's error, reported for every input (one extra forward of the input and
the baseline, two rows). The `steps` interpolated rows of an input run as one batch (one forward
and backward) when they fit the token budget; several inputs share a batch when they fit too.

Gradient x input: x_t . d logit / d x_t at the input (one forward and backward).

Scores are per token: the sum over the embedding dimension, signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.core.model.hooks import WORD_EMBEDDING, hooks, replace_with

IG_DEFAULT_STEPS = 32
IG_MAX_STEPS = 256  # one live inspection runs `steps` rows: a bound on its time and memory
TOKEN_BUDGET = 4096  # interpolated tokens per forward + backward (~0.5 GB of activations for MiniLM-L6)
BASELINE = "[PAD] embedding at every content token; [CLS], [SEP], entity markers and padding kept"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class Completeness:
    """Per input: the attributions' sum and logit(x) - logit(baseline); their difference is the gap."""

    attribution_sum: torch.Tensor  # [B]
    output_difference: torch.Tensor  # [B]

    @property
    def gap(self) -> torch.Tensor:
        return self.attribution_sum - self.output_difference

    def to_json(self, row: int = 0) -> dict[str, float | None]:
        """relative_gap is None when logit(x) - logit(baseline) is 0 (no ratio to give)."""
        difference = float(self.output_difference[row])
        gap = float(self.gap[row])
        return {
            "attribution_sum": float(self.attribution_sum[row]),
            "output_difference": difference,
            "gap": gap,
            "relative_gap": abs(gap) / abs(difference) if difference else None,
        }


@dataclass
class IntegratedGradients:
    scores: torch.Tensor  # [B, T], signed, 0 on tokens the baseline keeps
    completeness: Completeness
    steps: int


class EmbeddingPath:
    """Captum's forward function: logits of the model with its word embeddings replaced by `embeds`."""

    def __init__(self, model: Any, names: tuple[str, ...]) -> None:
        self.model, self.names = model, names
        self.embeddings = model.get_input_embeddings()

    def __call__(self, embeds: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        with hooks(self.model, {WORD_EMBEDDING: replace_with(embeds)}):
            return self.model(**dict(zip(self.names, inputs))).logits.float()


def model_inputs(inputs: dict[str, torch.Tensor]) -> tuple[tuple[str, ...], tuple[torch.Tensor, ...]]:
    """The batch's tensors as Captum's additional forward arguments, cloned out of inference mode."""
    names = tuple(name for name in INPUT_NAMES if name in inputs)
    return names, tuple(inputs[name].clone() for name in names)


def baseline_ids(input_ids: torch.Tensor, keep: torch.Tensor, pad_id: int) -> torch.Tensor:
    """[B, T]: [PAD] wherever `keep` is False (the content tokens), the input's own id elsewhere."""
    return torch.where(keep, input_ids, torch.full_like(input_ids, pad_id))


def _groups(batch: int, steps: int, length: int, budget: int) -> tuple[int, int]:
    """(inputs per Captum call, Captum's internal batch size in rows)."""
    rows = max(2, budget // max(1, length))
    per_call = max(1, rows // steps)
    return per_call, max(2 * per_call, min(per_call * steps, rows))


def integrated_gradients(
    model: Any,
    inputs: dict[str, torch.Tensor],
    keep: torch.Tensor,
    targets: torch.Tensor,
    pad_id: int,
    steps: int = IG_DEFAULT_STEPS,
    budget: int = TOKEN_BUDGET,
) -> IntegratedGradients:
    """IG of logit[target] for a padded batch: inputs (model tensors [B, T]), keep [B, T], targets [B]."""
    from captum.attr import IntegratedGradients as CaptumIG

    with torch.inference_mode(False), torch.enable_grad():
        names, tensors = model_inputs(inputs)
        path = EmbeddingPath(model, names)
        ids = tensors[0]
        embed = path.embeddings
        with torch.no_grad():
            x, x0 = embed(ids), embed(baseline_ids(ids, keep.to(ids.device), pad_id))
        per_call, internal = _groups(ids.shape[0], steps, ids.shape[1], budget)
        method = CaptumIG(path)
        scores = []
        for start in range(0, ids.shape[0], per_call):
            part = slice(start, start + per_call)
            found = method.attribute(
                x[part],
                baselines=x0[part],
                target=targets[part].tolist(),
                additional_forward_args=tuple(t[part] for t in tensors),
                n_steps=steps,
                internal_batch_size=internal,
            )
            scores.append(found.sum(-1).detach())
        completeness = _completeness(path, x, x0, tensors, targets, torch.cat(scores))
    return IntegratedGradients(torch.cat(scores).float(), completeness, steps)


def _completeness(
    path: EmbeddingPath,
    x: torch.Tensor,
    x0: torch.Tensor,
    tensors: tuple[torch.Tensor, ...],
    targets: torch.Tensor,
    scores: torch.Tensor,
) -> Completeness:
    """logit(x) - logit(x') for every input, from one forward of the inputs and baselines together."""
    batch = x.shape[0]
    with torch.no_grad():
        logits = path(torch.cat([x, x0]), *(torch.cat([t, t]) for t in tensors))
    rows = torch.arange(batch, device=logits.device)
    target = targets.to(logits.device)
    difference = logits[rows, target] - logits[rows + batch, target]
    return Completeness(scores.sum(-1).double().cpu(), difference.double().cpu())


def gradient_x_input(model: Any, inputs: dict[str, torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    """[B, T]: gradient x input of logit[target] on the word embeddings (signed, summed over dimensions)."""
    from captum.attr import InputXGradient

    with torch.inference_mode(False), torch.enable_grad():
        names, tensors = model_inputs(inputs)
        path = EmbeddingPath(model, names)
        with torch.no_grad():
            x = path.embeddings(tensors[0])
        x.requires_grad_()
        found = InputXGradient(path).attribute(x, target=targets.tolist(), additional_forward_args=tensors)
    return found.sum(-1).detach().float()

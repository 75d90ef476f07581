"""RoAST's selective training: a per-parameter Bernoulli gradient mask drawn from the diagonal Fisher.

Kim et al. 2023 ("RoAST: Robustifying Language Models via Adversarial Perturbation with Selective
Training", EMNLP Findings), section 3, after ChildTuning-D (Xu et al. 2021):

1. Importance: the diagonal Fisher of every encoder parameter, estimated as the mean squared
   mini-batch gradient (`accumulate` after each backward, before any masking).
2. Relative importance: all encoder parameters ranked together by their Fisher, u = rank / (N - 1)
   in [0, 1] (the least important 0, the most important 1).
3. Keep probability p = sigmoid(2 beta (u - alpha)); the mask m ~ Bernoulli(p), drawn again every epoch
   from the Fisher gathered over the epoch before (`resample`).
4. The gradient becomes m * g, or m * g / p with the unbiased scale (E[m / p] = 1).

Embeddings, the pooler and the classifier are not in the set: they always update.

Where this departs from the released code (github.com/bbuing9/RoAST, roast_optim.py and
training/base.py), deliberately:

* Every batch counts in the Fisher (the code starts its accumulators at the second batch).
* A masked-out entry does not move at all in that epoch: the mask is applied to the gradient (as the
  code does) and, in addition, the entry's Adam first moment is zeroed when the mask is drawn and the
  decoupled weight decay is applied only to kept entries (`apply`). In the code, Adam's momentum from
  earlier epochs and the weight decay still move masked entries, so "selective" is only approximate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

ENCODER_PARAMETER = re.compile(r"(^|\.)(encoder|transformer)\.layer\.\d+\.")


def encoder_parameters(model: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
    """The transformer layers' parameters (BERT, RoBERTa, ELECTRA: encoder.layer.N; DistilBERT: transformer.layer.N)."""
    found = [(name, p) for name, p in model.named_parameters() if p.requires_grad and ENCODER_PARAMETER.search(name)]
    if not found:
        raise ValueError(
            "selective training found no encoder layers (named encoder.layer.N or transformer.layer.N) in this model"
        )
    return found


def keep_probability(relative: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """sigmoid(2 beta (u - alpha)): the chance a parameter of relative importance u is kept."""
    return torch.sigmoid(2.0 * beta * (relative - alpha))


def expected_keep_share(n: int, alpha: float, beta: float) -> float:
    """The mean keep probability over n ranks u = 0, 1/(n-1), ..., 1: the share a mask keeps on average."""
    u = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    return float(keep_probability(u, alpha, beta).mean())


def relative_importance(fisher: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Each tensor's entries' rank among all entries of all tensors, scaled to [0, 1] (ties: stable order)."""
    tensors = list(fisher)
    flat = torch.cat([f.reshape(-1) for f in tensors])
    order = torch.argsort(flat, stable=True)
    ranks = torch.empty_like(flat)
    ranks[order] = torch.arange(flat.numel(), device=flat.device, dtype=flat.dtype)
    ranks /= max(flat.numel() - 1, 1)
    out, start = [], 0
    for f in tensors:
        out.append(ranks[start : start + f.numel()].view_as(f))
        start += f.numel()
    return out


@dataclass
class SelectiveMask:
    """Fisher accumulators and the current epoch's masks for a model's encoder parameters.

    keep[i]: 1.0 where parameter i's entry is kept this epoch, else 0.0; scale[i]: what its gradient is
    multiplied by (keep, or keep / p with the unbiased scale). decay[i]: its weight decay (applied here,
    to kept entries only; the optimizer's group for these parameters has weight_decay 0).
    """

    names: list[str]
    params: list[torch.nn.Parameter]
    alpha: float
    beta: float
    unbiased: bool
    decay: list[float]
    generator: torch.Generator
    fisher: list[torch.Tensor] = field(default_factory=list)
    keep: list[torch.Tensor] = field(default_factory=list)
    scale: list[torch.Tensor] = field(default_factory=list)
    batches: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def for_model(
        cls, model: torch.nn.Module, alpha: float, beta: float, unbiased: bool, seed: int, decay: dict[str, float]
    ) -> SelectiveMask:
        named = encoder_parameters(model)
        device = named[0][1].device
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        mask = cls(
            [n for n, _ in named],
            [p for _, p in named],
            alpha,
            beta,
            unbiased,
            [decay.get(n, 0.0) for n, _ in named],
            generator,
        )
        mask.fisher = [torch.zeros_like(p, dtype=torch.float32) for p in mask.params]
        return mask

    @property
    def size(self) -> int:
        return sum(p.numel() for p in self.params)

    @torch.no_grad()
    def accumulate(self, grad_scale: float = 1.0) -> None:
        """Add the current gradients' squares (after backward, before `apply` masks them); grad_scale: a loss
        scaler's factor, divided out."""
        factor = 1.0 / (grad_scale * grad_scale)
        for f, p in zip(self.fisher, self.params):
            if p.grad is not None:
                grad = p.grad.float()
                f.addcmul_(grad, grad, value=factor)
        self.batches += 1

    def resample(self, optimizer: torch.optim.Optimizer | None = None, epoch: int = 0) -> dict[str, Any]:
        """Draw new masks from the Fisher gathered since the last draw, then start gathering again.

        Adam's first moment of every masked-out entry is zeroed, so it cannot move the entry this epoch.
        """
        relative = relative_importance(f / max(self.batches, 1) for f in self.fisher)
        self.keep, self.scale = [], []
        kept = 0.0
        for u, p in zip(relative, self.params):
            probability = keep_probability(u, self.alpha, self.beta)
            keep = torch.bernoulli(probability, generator=self.generator)
            self.keep.append(keep.to(p.dtype))
            self.scale.append((keep / probability.clamp(min=1e-12)).to(p.dtype) if self.unbiased else self.keep[-1])
            kept += float(keep.sum())
            state = optimizer.state.get(p) if optimizer is not None else None
            if state and "exp_avg" in state:
                state["exp_avg"].mul_(self.keep[-1])
        record = {
            "epoch": epoch + 1,
            "fisher_batches": self.batches,
            "kept_share": round(kept / self.size, 6),
            "expected_share": round(expected_keep_share(self.size, self.alpha, self.beta), 6),
        }
        self.history.append(record)
        for f in self.fisher:
            f.zero_()
        self.batches = 0
        return record

    @torch.no_grad()
    def apply(self, learning_rate: float) -> None:
        """Mask (and rescale) the gradients; decoupled weight decay on the kept entries only."""
        for p, scale, keep, decay in zip(self.params, self.scale, self.keep, self.decay):
            if p.grad is not None:
                p.grad.mul_(scale)
            if decay:
                p.addcmul_(p, keep, value=-learning_rate * decay)

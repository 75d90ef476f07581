"""Fine-tuning methods: vanilla, RoAST, and RoAST's two halves as ablations.

RoAST (Kim et al. 2023, "RoAST: Robustifying Language Models via Adversarial Perturbation with
Selective Training", Findings of EMNLP; code github.com/bbuing9/RoAST) adds two things to fine-tuning:

* Adversarial perturbation (`adv-only` alone): the embedding output e (word + position + type
  embeddings after LayerNorm and dropout: what the first layer reads) gets delta = eps * g / |g|, g the
  gradient of the clean cross-entropy with respect to e, normalised per token (`adv_norm`: "linf",
  the code's default, divides by the largest |g| over the hidden size; "l2" by the token's L2 norm).
  The loss is 1/2 CE(clean) + 1/2 CE(perturbed) + kl_coeff * (KL(p||q) + KL(q||p)) / 2, p and q the
  clean and perturbed predictions, the KL summed over classes and over the batch (as the code sums it).
  The perturbed pass reads e detached (the code's `embedding_output.detach()`): the embeddings learn
  from the clean pass only.
* Selective training (`selective-only` alone): app/core/training/selective.py (Fisher ranking, keep probability
  sigmoid(2 beta (u - alpha)), a Bernoulli gradient mask drawn every epoch, optional 1/p scale).

Defaults are the paper's sentiment settings (its run.sh): eps 0.1, kl_coeff 0.01, alpha 0.9, beta 10,
unbiased scale on (entailment used alpha 0.6, beta 1).

Where this departs from the released code, deliberately (the model card records these settings):

* The perturbed cross-entropy is added. In the code's `bert_kl` the loss starts as None, the clean
  term fills it and the `else` that should add the perturbed term never runs, so only
  0.5 * CE(clean) + the consistency term is trained; the paper's objective has both terms.
* The direction comes from the clean pass's own backward (its gradient with respect to e), with no
  random start: the code draws a 1e-5 uniform start and runs an extra forward and backward for the
  gradient; at that size the start changes nothing measurable, and the extra pass would cost a third
  more time per step.
* The clean prediction is a constant in the consistency loss (stop-gradient, as in virtual adversarial
  training): the consistency trains the perturbed pass, and the clean pass learns from its
  cross-entropy. `kl_both_sides` back-propagates both sides as the code does, at one more backward
  through the clean pass (about 2.7x a vanilla step instead of 2x).
* The first epoch's mask comes from a Fisher over the first `fisher_fraction` of the first epoch's
  batches (no updates), not over the whole training set (fisher_fraction 1.0 is the code's choice);
  later epochs use the Fisher gathered while training the epoch before, as the code does. Every
  batch counts (the code skips the first), and masked entries do not move at all (selective.py).
* Gradients are clipped (norm 1, as every headscope run) before the mask and its 1/p scale, so a
  rarely kept entry's large scaled gradient cannot shrink everybody else's step.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from app.core.inputs.batching import pad_batch
from app.core.model.errors import validator_words
from app.core.model.hooks import EMBEDDING_OUTPUT, cache, hooks, replace_with
from app.core.training.selective import SelectiveMask, encoder_parameters

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails  # what ValidationError.errors() lists (pydantic's own dependency)

METHODS = ("vanilla", "roast", "adv-only", "selective-only")
ADVERSARIAL_METHODS = ("roast", "adv-only")
SELECTIVE_METHODS = ("roast", "selective-only")
ADVERSARIAL_FIELDS = ("adv_eps", "adv_norm", "kl_coeff", "kl_both_sides")
SELECTIVE_FIELDS = ("alpha", "beta", "unbiased_scale", "fisher_fraction")
NORMS = ("linf", "l2")
REFERENCE = "Kim et al. 2023, RoAST (Findings of EMNLP); departures from its code: app/core/training/roast.py"


class MethodError(ValueError):
    """A training method or setting that cannot run; the message names what is accepted."""


class MethodSettings(BaseModel):
    """The fine-tuning method and its settings (CLI options, recipe files, model cards)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "vanilla"
    adv_eps: float = 0.1  # perturbation size (after the per-token normalisation)
    adv_norm: str = "linf"
    kl_coeff: float = 0.01  # weight of the symmetric KL consistency loss
    kl_both_sides: bool = False
    alpha: float = 0.9  # keep-probability midpoint on the relative-importance scale [0, 1]
    beta: float = 10.0  # keep-probability sharpness
    unbiased_scale: bool = True  # divide a kept gradient by its keep probability
    fisher_fraction: float = 0.1  # share of the first epoch's batches for the first mask's Fisher

    @field_validator("method")
    @classmethod
    def known_method(cls, value: str) -> str:
        if value not in METHODS:
            raise ValueError(f"method {value!r}: accepted {', '.join(METHODS)}")
        return value

    @field_validator("adv_eps")
    @classmethod
    def positive_eps(cls, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"adv_eps {value}: accepted a perturbation size > 0 (default 0.1)")
        return value

    @field_validator("adv_norm")
    @classmethod
    def known_norm(cls, value: str) -> str:
        if value not in NORMS:
            raise ValueError(f"adv_norm {value!r}: accepted {', '.join(NORMS)}")
        return value

    @field_validator("kl_coeff")
    @classmethod
    def non_negative_kl(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"kl_coeff {value}: accepted a weight >= 0 (default 0.01)")
        return value

    @field_validator("alpha")
    @classmethod
    def alpha_in_unit(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"alpha {value}: accepted a relative importance in [0, 1] (default 0.9)")
        return value

    @field_validator("beta")
    @classmethod
    def positive_beta(cls, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"beta {value}: accepted a sharpness > 0 (default 10)")
        return value

    @field_validator("fisher_fraction")
    @classmethod
    def fraction(cls, value: float) -> float:
        if not 0.0 < value <= 1.0:
            raise ValueError(
                f"fisher_fraction {value}: accepted a share of the first epoch's batches in (0, 1] "
                "(default 0.1; 1.0: the whole epoch, as the paper's code)"
            )
        return value

    @property
    def adversarial(self) -> bool:
        return self.method in ADVERSARIAL_METHODS

    @property
    def selective(self) -> bool:
        return self.method in SELECTIVE_METHODS

    def record(self) -> dict[str, Any]:
        """What a model card keeps: the method and the settings it used."""
        fields = (ADVERSARIAL_FIELDS if self.adversarial else ()) + (SELECTIVE_FIELDS if self.selective else ())
        out: dict[str, Any] = {"name": self.method, **{name: getattr(self, name) for name in fields}}
        if self.method != "vanilla":
            out["reference"] = REFERENCE
        return out


def method_settings(method: str = "vanilla", given: dict[str, Any] | None = None) -> MethodSettings:
    """Settings for `method` from the values a user gave (None: not given); MethodError for an unknown
    method, a bad value, or a setting the method does not use."""
    given = {k: v for k, v in (given or {}).items() if v is not None}
    try:
        settings = MethodSettings(method=method, **given)
    except ValidationError as exc:
        raise MethodError("; ".join(_message(e) for e in exc.errors())) from None
    unused = [
        k
        for k in given
        if (k in ADVERSARIAL_FIELDS and not settings.adversarial) or (k in SELECTIVE_FIELDS and not settings.selective)
    ]
    if unused:
        users = ", ".join(ADVERSARIAL_METHODS if unused[0] in ADVERSARIAL_FIELDS else SELECTIVE_METHODS)
        raise MethodError(f"{unused[0]} applies to method {users}, not to {method!r}")
    return settings


def _message(error: ErrorDetails) -> str:
    msg = validator_words(str(error.get("msg", "")))
    if error.get("type") == "extra_forbidden":
        accepted = ", ".join(f for f in MethodSettings.model_fields if f != "method")
        return f"unknown setting {error['loc'][-1]!r}; accepted: {accepted}"
    loc = ".".join(str(p) for p in error.get("loc", ()))
    return msg if msg.split(" ")[0] == loc else f"{loc}: {msg}"


def symmetric_kl(clean: torch.Tensor, perturbed: torch.Tensor) -> torch.Tensor:
    """(KL(p||q) + KL(q||p)) / 2 from logits, summed over classes and rows."""
    p, q = F.log_softmax(clean.float(), -1), F.log_softmax(perturbed.float(), -1)
    forward = F.kl_div(q, p, reduction="sum", log_target=True)  # KL(p || q)
    backward = F.kl_div(p, q, reduction="sum", log_target=True)  # KL(q || p)
    return (forward + backward) / 2


def perturbation(grad: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """eps * grad normalised per token over the hidden size; zero when the gradient is not finite."""
    grad = grad.detach().float()
    if not torch.isfinite(grad).all():
        return torch.zeros_like(grad)
    size = grad.abs().amax(-1, keepdim=True) if norm == "linf" else grad.norm(dim=-1, keepdim=True)
    return eps * grad / (size + 1e-8)


class TrainingMethod:
    """A method object the training loop calls (app/core/training/loop.py, TrainOptions.method).

    param_groups(model, groups) before the optimizer exists; attach(...) once it does; start_epoch
    before each epoch; train_step per batch (forward and backward, returns the loss); before_step after
    clipping, before optimizer.step; record() for the model card.
    """

    def __init__(self, settings: MethodSettings, seed: int = 13) -> None:
        self.settings, self.seed = settings, seed
        self.mask: SelectiveMask | None = None
        self.decay: dict[str, float] = {}
        self.first_fisher_batches = 0

    # --- set-up ----------------------------------------------------------------------------------

    def param_groups(self, model: torch.nn.Module, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Selective methods: encoder parameters move to groups without weight decay (the mask applies it)."""
        if not self.settings.selective:
            return groups
        encoder = {id(p): name for name, p in encoder_parameters(model)}
        out = []
        for group in groups:
            inside = [p for p in group["params"] if id(p) in encoder]
            outside = [p for p in group["params"] if id(p) not in encoder]
            for p in inside:
                self.decay[encoder[id(p)]] = float(group.get("weight_decay", 0.0))
            out += [
                g
                for g in ({**group, "params": outside}, {**group, "params": inside, "weight_decay": 0.0})
                if g["params"]
            ]
        return out

    def attach(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        class_weights: torch.Tensor,
        pad_id: int,
        device: torch.device,
        autocast: Callable[[], Any] = contextlib.nullcontext,
        scaler: Any = None,
    ) -> None:
        self.model, self.optimizer, self.class_weights = model, optimizer, class_weights
        self.pad_id, self.device, self.autocast, self.scaler = pad_id, device, autocast, scaler
        if self.settings.selective:
            self.mask = SelectiveMask.for_model(
                model, self.settings.alpha, self.settings.beta, self.settings.unbiased_scale, self.seed, self.decay
            )
            first = self.mask.params[0]
            self.mask_group = next(
                i for i, g in enumerate(optimizer.param_groups) if any(p is first for p in g["params"])
            )

    def start_epoch(self, epoch: int, batches: Sequence[Sequence[Any]]) -> None:
        """Draw the epoch's mask: epoch 0 from a Fisher pass over the first batches, later from the last epoch's."""
        if self.mask is None:
            return
        if epoch == 0:
            self.first_fisher_batches = max(1, math.ceil(self.settings.fisher_fraction * len(batches)))
            self._fisher_pass(self.mask, batches[: self.first_fisher_batches])
        self.mask.resample(self.optimizer, epoch)

    def _fisher_pass(self, mask: SelectiveMask, batches: Sequence[Sequence[Any]]) -> None:
        self.model.train()
        for examples in batches:
            inputs, target = self.tensors(examples)
            with self.autocast():
                logits = self.model(**inputs).logits
            F.cross_entropy(logits.float(), target, weight=self.class_weights).backward()
            mask.accumulate()
            self.model.zero_grad(set_to_none=True)

    def tensors(self, examples: Sequence[Any]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        inputs = pad_batch([e.encoded for e in examples], self.pad_id, self.device)
        return inputs, torch.tensor([e.label for e in examples], device=self.device)

    # --- one step --------------------------------------------------------------------------------

    def train_step(self, inputs: dict[str, torch.Tensor], target: torch.Tensor) -> float:
        """Forward and backward of one batch (gradients accumulated on the parameters); the loss."""
        if self.settings.adversarial:
            loss = self._adversarial_step(inputs, target)
        else:
            with self.autocast():
                logits = self.model(**inputs).logits
            ce = F.cross_entropy(logits.float(), target, weight=self.class_weights)
            self._backward(ce)
            loss = float(ce.detach())
        if self.mask is not None:
            self.mask.accumulate(self.scaler.get_scale() if self.scaler is not None else 1.0)
        return loss

    def _backward(self, loss: torch.Tensor, retain_graph: bool = False) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward(retain_graph=retain_graph)

    def _adversarial_step(self, inputs: dict[str, torch.Tensor], target: torch.Tensor) -> float:
        s = self.settings
        kept: dict[str, torch.Tensor] = {}
        # e is the embedding block's output; retain_grad before the backward keeps its gradient g
        with hooks(self.model, {EMBEDDING_OUTPUT: cache(kept)}), self.autocast():
            clean = self.model(**inputs).logits
        output = kept[EMBEDDING_OUTPUT]
        output.retain_grad()
        ce_clean = 0.5 * F.cross_entropy(clean.float(), target, weight=self.class_weights)
        self._backward(ce_clean, retain_graph=s.kl_both_sides)
        grad = output.grad
        # set: retain_grad() above keeps the gradient of this non-leaf, and the backward just filled it
        assert grad is not None
        perturbed_input = (output.detach().float() + perturbation(grad, s.adv_eps, s.adv_norm)).to(output.dtype)
        with hooks(self.model, {EMBEDDING_OUTPUT: replace_with(perturbed_input)}), self.autocast():
            perturbed = self.model(**inputs).logits
        ce_perturbed = 0.5 * F.cross_entropy(perturbed.float(), target, weight=self.class_weights)
        reference = clean if s.kl_both_sides else clean.detach()
        rest = ce_perturbed + s.kl_coeff * symmetric_kl(reference, perturbed)
        self._backward(rest)
        return float(ce_clean.detach() + rest.detach())

    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        """After clipping: mask (and rescale) the encoder's gradients, weight decay on the kept entries."""
        if self.mask is None:
            return
        self.mask.apply(optimizer.param_groups[self.mask_group]["lr"])

    def record(self) -> dict[str, Any]:
        out = self.settings.record()
        if self.mask is not None:
            out["selective"] = {
                "parameters": self.mask.size,
                "first_fisher_batches": self.first_fisher_batches,
                "epochs": list(self.mask.history),
            }
        return out


def training_method(settings: MethodSettings, seed: int) -> TrainingMethod | None:
    """The loop's method object; None for vanilla (the loop's own step)."""
    return None if settings.method == "vanilla" else TrainingMethod(settings, seed)

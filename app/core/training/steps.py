"""The parts of one fine-tuning run that train_classifier (loop.py) strings together: the optimiser, mixed
precision, one optimiser step over a batch, and early stopping on the dev split."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.data.benchmark_metrics import label_metrics
from app.core.inputs.encoding import LabelledInput
from app.core.training.predictions import predict_labels

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm")  # parameters AdamW leaves without weight decay


def optimiser(model: Any, learning_rate: float, weight_decay: float, method: Any = None) -> torch.optim.AdamW:
    """AdamW with weight decay on every parameter but biases and layer norms (a method may regroup them)."""
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if not any(k in n for k in NO_DECAY)], "weight_decay": weight_decay},
        {"params": [p for n, p in named if any(k in n for k in NO_DECAY)], "weight_decay": 0.0},
    ]
    if method is not None:
        groups = method.param_groups(model, groups)
    return torch.optim.AdamW(groups, lr=learning_rate)


@dataclass
class Precision:
    """Mixed precision on CUDA: bfloat16 where supported, else float16 with a grad scaler; full precision elsewhere."""

    enabled: bool
    dtype: torch.dtype = torch.float32
    scaler: torch.amp.GradScaler | None = None

    @classmethod
    def on(cls, device: torch.device, wanted: bool) -> Precision:
        if not (wanted and device.type == "cuda"):
            return cls(False)
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return cls(True, dtype, torch.amp.GradScaler("cuda") if dtype == torch.float16 else None)

    def autocast(self) -> Any:
        return torch.autocast(device_type="cuda", dtype=self.dtype) if self.enabled else contextlib.nullcontext()


def train_step(
    model: Any,
    batch: dict[str, torch.Tensor],
    target: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    schedule: Any,
    precision: Precision,
    class_weights: torch.Tensor,
    method: Any = None,
) -> torch.Tensor:
    """Forward, backward (the method's own where there is one), clipped gradients and one optimiser step: the loss."""
    scaler = precision.scaler
    if method is not None:
        loss = torch.tensor(method.train_step(batch, target))  # forward and backward
    else:
        with precision.autocast():
            logits = model(**batch).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), target, weight=class_weights)
        (scaler.scale(loss) if scaler is not None else loss).backward()
    if scaler is not None:
        scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    if method is not None:
        method.before_step(optimizer)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


@dataclass
class EarlyStopping:
    """After each epoch the dev split is scored; training stops once `patience` epochs in a row did not beat the
    best dev macro-F1 (then accuracy), and the best epoch's weights are restored at the end."""

    patience: int
    best_key: tuple[float, float] | None = None
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch: int = 0
    stale: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def after_epoch(
        self, epoch: int, model: Any, dev: Sequence[LabelledInput], pad_id: int, device: torch.device
    ) -> bool:
        """Score epoch `epoch` (counted from 1) on the dev split; True: stop now."""
        metrics = label_metrics([e.label for e in dev], predict_labels(model, dev, pad_id, device))
        self.history.append({"epoch": epoch, **metrics})
        key = (metrics.get("macro_f1") or 0.0, metrics.get("accuracy") or 0.0)
        if self.best_key is None or key > self.best_key:
            self.best_key, self.best_epoch, self.stale = key, epoch, 0
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            return False
        self.stale += 1
        return self.stale >= self.patience

    def restore_best(self, model: Any, epochs_run: int) -> None:
        if self.best_state is not None and self.best_epoch != epochs_run:
            model.load_state_dict(self.best_state)

    def record(self, epochs_run: int) -> dict[str, Any]:
        return {
            "patience": self.patience,
            "best_epoch": self.best_epoch,
            "epochs_run": epochs_run,
            "dev_history": self.history,
        }

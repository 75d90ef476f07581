"""The target label's probability on many erasures of one input: deduplicated, batched forwards on the model's device.

Rankings often erase the same token sets (every head that ranks the same token first erases the
same one token at k = 1%), so identical erasure rows run once; `ErasedProbabilities` remembers what
it has run, so a second round (the occlusion ranking, known only after the first) pays only for
new rows.
"""

from __future__ import annotations

from typing import Any

import torch

from app.core.faithfulness.erasure import erased_inputs
from app.core.model.checkpoint import LoadedCheckpoint

# Rows per forward: bounded by tokens (eager attention keeps a rows x heads x tokens x tokens matrix per layer).
MAX_ROWS, MAX_ROW_TOKENS = 256, 16_384


class ErasedProbabilities:
    """p(target | input with a row's tokens erased), for rows [R, T] of one input, each distinct row run once."""

    def __init__(
        self, loaded: LoadedCheckpoint, inputs: dict[str, torch.Tensor], target: int, replacement: int | None
    ) -> None:
        self.loaded, self.inputs, self.target, self.replacement = loaded, inputs, target, replacement
        self.known: dict[bytes, float] = {}
        self.rows_asked = 0
        self.rows_run = 0

    def __call__(self, erased: torch.Tensor) -> torch.Tensor:
        """[R] float64 probabilities for erased [R, T] (bool)."""
        flat = erased.reshape(-1, erased.shape[-1])
        self.rows_asked += flat.shape[0]
        unique, inverse = torch.unique(flat, dim=0, return_inverse=True)
        keys = [bytes(row.numpy().tobytes()) for row in unique]
        missing = [i for i, key in enumerate(keys) if key not in self.known]
        if missing:
            found = self._run(unique[missing])
            for i, value in zip(missing, found.tolist()):
                self.known[keys[i]] = value
        values = torch.tensor([self.known[key] for key in keys], dtype=torch.float64)
        return values[inverse].reshape(erased.shape[:-1])

    @torch.inference_mode()
    def _run(self, rows: torch.Tensor) -> torch.Tensor:
        self.rows_run += rows.shape[0]
        length = rows.shape[-1]
        per_forward = max(1, min(MAX_ROWS, MAX_ROW_TOKENS // length))
        pad = self.loaded.tokenizer.pad_token_id or 0
        found = []
        for start in range(0, rows.shape[0], per_forward):
            batch = erased_inputs(self.inputs, rows[start : start + per_forward], self.replacement, pad)
            found.append(target_probability(self.loaded.model, batch, self.target))
        return torch.cat(found).double().cpu()


def target_probability(model: Any, batch: dict[str, torch.Tensor], target: int) -> torch.Tensor:
    """[R]: softmax probability of `target` for each row of a batch (on the model's device)."""
    return model(**batch).logits.float().softmax(-1)[:, target]

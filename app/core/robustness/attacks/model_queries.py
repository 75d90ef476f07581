"""Model work of the attacks: class probabilities of token-id rows in batches, the loss gradient, the query budget.

Every batch of rows and every gradient is one call of `runner` (app.core.passes.attention_pass.Runner),
so the web can run attacks on its model thread one batch at a time. Rows are scored without
attentions: an attack only needs the probabilities, and asking for attentions costs time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import torch

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.hooks import WORD_EMBEDDING, hooks, replace_with
from app.core.passes.attention_pass import Runner, run_here
from app.core.robustness.attacks.word_rows import Row


@dataclass
class Found:
    """What one attack of one example ended with.

    swaps: word index -> the text written in its place; row: the edited version's ids (None when
    nothing was tried); probabilities: the model's on it; success: the prediction left the label;
    details: method-specific facts (HotFlip's flips with their cosines, why nothing was tried).
    """

    swaps: dict[int, str]
    row: Row | None
    probabilities: torch.Tensor | None
    success: bool
    details: dict = field(default_factory=dict)

    @classmethod
    def nothing(cls, reason: str) -> Found:
        return cls({}, None, None, False, {"reason": reason})


class Budget:
    """Model queries left for one example: every scored row and every gradient counts one."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    def spend(self, queries: int) -> None:
        if queries > self.left:
            raise RuntimeError(f"{queries} queries asked with {self.left} left")  # a bug in an attack, not input
        self.used += queries


def pad_rows(rows: Sequence[Row], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded model inputs; built as nested lists and converted once (cheaper than a tensor per row)."""
    length = max(len(ids) for ids, _ in rows)
    ids = [list(r) + [pad_id] * (length - len(r)) for r, _ in rows]
    mask = [[1] * len(r) + [0] * (length - len(r)) for r, _ in rows]
    inputs = {"input_ids": torch.tensor(ids, device=device), "attention_mask": torch.tensor(mask, device=device)}
    if rows[0][1] is not None:
        inputs["token_type_ids"] = torch.tensor(
            [list(t) + [0] * (length - len(t)) for t in map(_token_types, rows)], device=device
        )
    return inputs


def _token_types(row: Row) -> list[int]:
    """A row's token type ids; pad_rows asks only when the first row has them, and the rows of one call
    come from one tokenizer, so every row has them (a row without them is an error, as list(None) was)."""
    types = row[1]
    if types is None:
        raise TypeError("a row without token type ids among rows with them")
    return types


class Scorer:
    """Probabilities of rows, batch_size rows per runner call."""

    def __init__(self, checkpoint: LoadedCheckpoint, batch_size: int = 32, runner: Runner = run_here) -> None:
        self.checkpoint, self.batch_size, self.runner = checkpoint, batch_size, runner
        self.pad_id = checkpoint.tokenizer.pad_token_id or 0

    def probabilities(self, rows: Sequence[Row], budget: Budget | None = None) -> torch.Tensor:
        """[len(rows), classes] on the CPU; spends len(rows) queries of `budget` when given."""
        if budget is not None:
            budget.spend(len(rows))
        parts = [
            self.runner(partial(self._forward, rows[start : start + self.batch_size]))
            for start in range(0, len(rows), self.batch_size)
        ]
        return torch.cat(parts) if parts else torch.empty(0, len(self.checkpoint.info.labels))

    def _forward(self, rows: Sequence[Row]) -> torch.Tensor:
        with torch.inference_mode():
            inputs = pad_rows(rows, self.pad_id, self.checkpoint.device)
            return self.checkpoint.model(**inputs).logits.float().softmax(-1).cpu()

    def loss_gradient(self, row: Row, label: int, budget: Budget) -> torch.Tensor:
        """[T, hidden]: d cross-entropy(label) / d word embedding of each token (HotFlip's first-order term)."""
        budget.spend(1)
        return self.runner(lambda: self._gradient(row, label))

    def _gradient(self, row: Row, label: int) -> torch.Tensor:
        model = self.checkpoint.model
        embeddings = model.get_input_embeddings()
        with torch.inference_mode(False), torch.enable_grad():
            inputs = pad_rows([row], self.pad_id, self.checkpoint.device)
            leaf = embeddings(inputs["input_ids"]).detach().requires_grad_()
            # Replace the word-embedding output so the model keeps its input ids (entity-start
            # classifiers find their markers in them) while the gradient lands on `leaf`.
            with hooks(model, {WORD_EMBEDDING: replace_with(leaf)}):
                logits = model(**inputs).logits.float()
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor([label], device=logits.device))
            (grad,) = torch.autograd.grad(loss, leaf)
        return grad[0].detach().cpu()

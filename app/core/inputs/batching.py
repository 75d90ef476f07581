"""Padding encoded inputs into batches (of similar lengths, where order does not matter), and the length limit a
checkpoint's inputs are cut to."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from app.core.inputs.encoding import EncodedInput
from app.core.model.checkpoint import LoadedCheckpoint


def pad_batch(encodeds: Sequence[EncodedInput], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-pad a list of encoded inputs into one batch (dynamic padding to the longest)."""
    length = max(len(e.input_ids) for e in encodeds)
    ids = torch.full((len(encodeds), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encodeds), length), dtype=torch.long)
    types = torch.zeros((len(encodeds), length), dtype=torch.long)
    for row, e in enumerate(encodeds):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        mask[row, :n] = 1
        if e.token_type_ids is not None:
            types[row, :n] = torch.tensor(e.token_type_ids)
    batch = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
    if encodeds[0].token_type_ids is not None:
        batch["token_type_ids"] = types.to(device)
    return batch


def length_sorted_batches(
    encodeds: Sequence[EncodedInput], batch_size: int, pad_id: int, device: torch.device
) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
    """(positions in `encodeds`, their padded batch), batch by batch, the inputs sorted by length: similar lengths
    together pad little. For a pass whose results do not depend on the order (put back by the positions)."""
    ordered = sorted(range(len(encodeds)), key=lambda i: len(encodeds[i].input_ids))
    for start in range(0, len(ordered), batch_size):
        positions = ordered[start : start + batch_size]
        yield positions, pad_batch([encodeds[i] for i in positions], pad_id, device)


def training_max_length(checkpoint: LoadedCheckpoint) -> int:
    """The max_length the checkpoint was trained with (its headscope.json training record), else its own."""
    info = checkpoint.info
    return int((info.metadata.get("training") or {}).get("args", {}).get("max_length") or info.max_length)

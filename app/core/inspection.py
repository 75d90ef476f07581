"""Live inspection: encode one input for a checkpoint, predict, and keep its attention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from app.core.attention import forward_with_attention, merge_word_pieces
from app.core.checkpoint import LoadedCheckpoint
from app.core.errors import InputError
from app.core.inputs import B_FORMAT_POLARITIES, EncodedInput, encode_absa, encode_relation, to_word_level


@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: dict[str, float]

    def to_json(self) -> dict:
        return {"label": self.label, "probabilities": self.probabilities}


@dataclass(frozen=True)
class InspectionInput:
    """One live input: ABSA text + aspect (optionally its span), or RE text with tags or spans."""

    text: str
    aspect: str | None = None
    aspect_span: tuple[int, int] | None = None
    e1_span: tuple[int, int] | None = None
    e2_span: tuple[int, int] | None = None


@dataclass
class Inspection:
    checkpoint_id: str
    encoded: EncodedInput
    prediction: Prediction
    attention: torch.Tensor  # [layers, heads, query, key], float32, on CPU

    def at_word_level(self) -> tuple[EncodedInput, torch.Tensor]:
        return to_word_level(self.encoded), merge_word_pieces(self.attention, self.encoded.word_ids)


def encode_for_checkpoint(loaded: LoadedCheckpoint, item: InspectionInput, polarity: str | None = None) -> EncodedInput:
    info = loaded.info
    if info.task == "absa":
        if item.aspect is None or not item.aspect.strip():
            raise InputError("aspect is empty: give an aspect category (e.g. food) or a term from the review",
                             field="aspect")
        return encode_absa(loaded.tokenizer, item.text, item.aspect, info.format, info.max_length, polarity,
                           item.aspect_span)
    return encode_relation(loaded.tokenizer, item.text, info.max_length, item.e1_span, item.e2_span,
                           info.entity_markers)


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


def inspect(loaded: LoadedCheckpoint, item: InspectionInput) -> Inspection:
    """Predict one input and return its attention for every layer and head.

    QA-B / NLI-B checkpoints are binary (does this auxiliary sentence hold?): as in Sun et
    al. 2019, every polarity's auxiliary sentence is scored in one batch, the label is the
    polarity with the highest "yes" probability, and the attention shown is that pair's.
    """
    info = loaded.info
    if info.task == "absa" and info.format in ("qa-b", "nli-b"):
        polarities = tuple(info.metadata.get("polarities", B_FORMAT_POLARITIES))
        encodeds = [encode_for_checkpoint(loaded, item, polarity=p) for p in polarities]
        logits, attention = forward_with_attention(loaded.model, pad_batch(encodeds, loaded.tokenizer.pad_token_id, loaded.device))
        yes = info.labels.index("yes") if "yes" in info.labels else 1
        scores = logits.float().softmax(-1)[:, yes]
        best = int(scores.argmax())
        probabilities = (scores / scores.sum()).tolist()
        encoded = encodeds[best]
        n = len(encoded.input_ids)
        prediction = Prediction(polarities[best], dict(zip(polarities, probabilities)))
        return Inspection(info.id, encoded, prediction, attention[best, :, :, :n, :n].float().cpu())
    encoded = encode_for_checkpoint(loaded, item)
    logits, attention = forward_with_attention(loaded.model, encoded.model_inputs(loaded.device))
    probabilities = logits[0].float().softmax(-1).tolist()
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    prediction = Prediction(info.labels[best], dict(zip(info.labels, probabilities)))
    return Inspection(info.id, encoded, prediction, attention[0].float().cpu())

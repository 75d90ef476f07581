"""Live inspection: encode one input for a checkpoint, predict, and keep its attention."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from app.core.inputs.batching import pad_batch
from app.core.inputs.encoding import B_FORMAT_POLARITIES, EncodedInput, encode_absa, to_word_level
from app.core.inputs.relations import encode_relation
from app.core.model.attention import forward_with_attention, merge_word_pieces
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError


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
    refuse_other_tasks_fields(info.id, info.task, item)
    if info.task == "absa":
        check_aspect_span(item)
        if item.aspect is None or not item.aspect.strip():
            raise InputError(
                "aspect is empty: give an aspect category (e.g. food) or a term from the review", field="aspect"
            )
        return encode_absa(
            loaded.tokenizer, item.text, item.aspect, info.format, info.max_length, polarity, item.aspect_span
        )
    return encode_relation(
        loaded.tokenizer, item.text, info.max_length, item.e1_span, item.e2_span, info.entity_markers
    )


ENTITY_TAGS = ("<e1>", "</e1>", "<e2>", "</e2>")


def refuse_other_tasks_fields(checkpoint_id: str, task: str, item: InspectionInput) -> None:
    """InputError for what only the other task reads: a field dropped without a word would leave the user believing
    the model saw it (an aspect given to a relation checkpoint, entities marked for an ABSA one)."""
    if task == "absa":
        if item.e1_span is not None or item.e2_span is not None:
            field = "e1_span" if item.e1_span is not None else "e2_span"
            raise InputError(f"{field} applies to relation checkpoints; {checkpoint_id} is ABSA: give an aspect", field)
        if any(tag in item.text for tag in ENTITY_TAGS):
            raise InputError(
                f"the text marks entities (<e1>, <e2>), which relation checkpoints read; {checkpoint_id} is ABSA: give "
                "the review without them and an aspect",
                field="text",
            )
    elif item.aspect is not None and item.aspect.strip() or item.aspect_span is not None:
        raise InputError(
            f"aspect applies to ABSA checkpoints; {checkpoint_id} classifies the relation of two entities: mark them "
            "<e1>…</e1> and <e2>…</e2> in the text (or give e1_span and e2_span) and drop the aspect",
            field="aspect",
        )


def check_aspect_span(item: InspectionInput) -> None:
    """InputError when the aspect is a term of the text and `aspect_span` marks other words: the model would read one
    term while the views marked another. An aspect category (service) with the span of its term (waiter) is fine."""
    if item.aspect_span is None or not item.aspect:
        return
    start, end = item.aspect_span
    marked, aspect = item.text[start:end].strip().lower(), item.aspect.strip().lower()
    if 0 <= start < end <= len(item.text) and aspect in item.text.lower() and marked != aspect:
        raise InputError(
            f"aspect_span {[start, end]} marks {item.text[start:end]!r}, not the aspect {item.aspect!r}: give the span "
            "of the aspect term in the text, or leave aspect_span out",
            field="aspect_span",
        )


@dataclass
class PreparedInspection:
    """One inspection encoded and ready for a forward pass: its rows (one; QA-B / NLI-B: one per polarity)."""

    encodeds: list[EncodedInput]
    polarities: tuple[str, ...] | None = None  # QA-B / NLI-B: the polarity of each row

    @property
    def longest(self) -> int:
        return max(len(e.input_ids) for e in self.encodeds)


def prepare_inspection(loaded: LoadedCheckpoint, item: InspectionInput) -> PreparedInspection:
    """Encode one input for `loaded` (no model work: any thread may call it; InputError for a bad input)."""
    info = loaded.info
    if info.task == "absa" and info.format in ("qa-b", "nli-b"):
        polarities = tuple(info.metadata.get("polarities", B_FORMAT_POLARITIES))
        return PreparedInspection([encode_for_checkpoint(loaded, item, polarity=p) for p in polarities], polarities)
    return PreparedInspection([encode_for_checkpoint(loaded, item)])


def to_host(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` as float32 on the CPU; from CUDA through one pinned buffer (one copy for a whole batch)."""
    tensor = tensor.float()
    if tensor.device.type != "cuda":
        return tensor
    host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    host.copy_(tensor, non_blocking=True)
    torch.cuda.current_stream(tensor.device).synchronize()
    return host


def batch_inputs(loaded: LoadedCheckpoint, prepared: Sequence[PreparedInspection]) -> dict[str, torch.Tensor]:
    """The model inputs of all rows of `prepared` on the checkpoint's device; a single row is not padded."""
    rows = [encoded for one in prepared for encoded in one.encodeds]
    if len(rows) == 1:
        return rows[0].model_inputs(loaded.device)
    return pad_batch(rows, loaded.tokenizer.pad_token_id, loaded.device)


def inspect_batch(
    loaded: LoadedCheckpoint,
    prepared: Sequence[PreparedInspection],
    forward: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> list[Inspection]:
    """Run several prepared inspections of one checkpoint as one padded forward pass.

    Each result equals `inspect` of its input alone (padded keys get no attention; on CPU float32
    the attention agrees within 1e-5). A single one-row inspection is not padded at all. forward:
    inputs -> (logits, attention), e.g. the ONNX Runtime fast path (app.core.model.onnx_fastpath); default the
    checkpoint's own eager forward.
    """
    rows = [encoded for one in prepared for encoded in one.encodeds]
    inputs = batch_inputs(loaded, prepared)
    logits, attention = forward(inputs) if forward is not None else forward_with_attention(loaded.model, inputs)
    logits, attention = to_host(logits), to_host(attention)
    found, row = [], 0
    for one in prepared:
        found.append(
            _finish(
                loaded,
                one,
                logits[row : row + len(one.encodeds)],
                attention[row : row + len(one.encodeds)],
                alone=len(rows) == 1,
            )
        )
        row += len(one.encodeds)
    return found


def label_scores(
    loaded: LoadedCheckpoint, one: PreparedInspection, logits: torch.Tensor
) -> tuple[Prediction, dict[str, float], int]:
    """One inspection's prediction, the logit behind each of its labels, and the row its attention is from.

    logits: the inspection's rows of a batch, [rows, labels]. QA-B / NLI-B checkpoints are binary (does
    this auxiliary sentence hold?): as in Sun et al. 2019, the label is the polarity with the highest
    "yes" probability, a polarity's logit its row's "yes" logit, the attention that of the chosen row.
    """
    info = loaded.info
    if one.polarities is not None:
        yes = info.labels.index("yes") if "yes" in info.labels else 1
        scores = logits.softmax(-1)[:, yes]
        best = int(scores.argmax())
        probabilities = (scores / scores.sum()).tolist()
        prediction = Prediction(one.polarities[best], dict(zip(one.polarities, probabilities)))
        return prediction, dict(zip(one.polarities, logits[:, yes].tolist())), best
    probabilities = logits[0].softmax(-1).tolist()
    top = max(range(len(probabilities)), key=probabilities.__getitem__)
    prediction = Prediction(info.labels[top], dict(zip(info.labels, probabilities)))
    return prediction, dict(zip(info.labels, logits[0].tolist())), 0


def _finish(
    loaded: LoadedCheckpoint, one: PreparedInspection, logits: torch.Tensor, attention: torch.Tensor, alone: bool
) -> Inspection:
    """One inspection's prediction and attention from its rows of a batch (copied out unless it was alone)."""
    prediction, _, best = label_scores(loaded, one, logits)
    encoded = one.encodeds[best]
    n = len(encoded.input_ids)
    kept = attention[best] if alone else attention[best, :, :, :n, :n].clone()
    return Inspection(loaded.info.id, encoded, prediction, kept)


def inspect(loaded: LoadedCheckpoint, item: InspectionInput) -> Inspection:
    """Predict one input and return its attention for every layer and head.

    QA-B / NLI-B checkpoints score every polarity's auxiliary sentence in one batch (see `_finish`).
    """
    return inspect_batch(loaded, [prepare_inspection(loaded, item)])[0]

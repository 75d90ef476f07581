"""Erasing tokens of one encoded input while keeping its structure, as batched model inputs.

Which tokens may be erased (`erasable_mask`): the content tokens of the sentence being classified
(the review of an ABSA pair, the sentence of a relation instance). Never erased: [CLS], [SEP] and
other special tokens, entity markers, and every token of the auxiliary sentence of a QA / NLI pair
(it is the question, not the evidence). The aspect term (ABSA) and the entity tokens (RE) are
erasable only with `erase_targets`: by default they stay, so a ranking is scored on the context it
finds for them (ERASER's "rationale" is the evidence, not the thing asked about).

How a token is erased (`ERASURE_MODES`):

* "remove" (default, as ERASER and ferret): the token leaves the sequence; the tokens after it
  move up one position and keep their own segment id, so [SEP] and the auxiliary sentence keep
  their segment ids and the model reads a shorter, well-formed pair;
* "mask": its id becomes the tokenizer's [MASK] (same length and positions);
* "pad": its id becomes [PAD], still attended to (the integrated-gradients baseline's choice).

`erased_inputs` builds the padded batch of many erasures of one input on the model's device in
a few tensor operations (a gather for "remove", a where for the replacements).
"""

from __future__ import annotations

from typing import Any

import torch

from app.core.inputs.encoding import EncodedInput
from app.core.model.errors import InputError

ERASURE_MODES = ("remove", "mask", "pad")
DEFAULT_ERASURE = "remove"
REVIEW_FIRST_FORMATS = ("qa-m", "nli-m", "term")


def evidence_segment(task: str, fmt: str, encoded: EncodedInput) -> str:
    """The segment that holds the classified sentence: "a" unless an ABSA B format puts the review second."""
    if task == "absa" and "b" in encoded.segments and fmt not in REVIEW_FIRST_FORMATS:
        return "b"
    return "a"


def target_tokens(encoded: EncodedInput) -> set[int]:
    """The aspect term's tokens in the review (ABSA) or the two entities' tokens (RE)."""
    spans = encoded.spans
    return set(spans.get("aspect_term", [])) | set(spans.get("e1", [])) | set(spans.get("e2", []))


def erasable_mask(encoded: EncodedInput, task: str, fmt: str, erase_targets: bool = False) -> torch.Tensor:
    """bool [T]: the tokens a ranking may erase (see the module docstring)."""
    segment = evidence_segment(task, fmt, encoded)
    kept = set() if erase_targets else target_tokens(encoded)
    return torch.tensor(
        [
            t.segment == segment and not t.special and not t.marker and i not in kept
            for i, t in enumerate(encoded.tokens)
        ],
        dtype=torch.bool,
    )


def replacement_id(tokenizer: Any, mode: str) -> int | None:
    """The id an erased token becomes (None for "remove"); InputError (422) when the tokenizer has none."""
    if mode not in ERASURE_MODES:
        raise InputError(f"erasure {mode!r} is not known; accepted: {', '.join(ERASURE_MODES)}", field="erasure")
    if mode == "remove":
        return None
    found = tokenizer.mask_token_id if mode == "mask" else tokenizer.pad_token_id
    if found is None:
        usable = [m for m in ERASURE_MODES if m == "remove" or replacement_id_or_none(tokenizer, m) is not None]
        raise InputError(
            f"erasure {mode!r} needs a {'[MASK]' if mode == 'mask' else '[PAD]'} token, which this model's "
            f"tokenizer has not; accepted here: {', '.join(usable)}",
            field="erasure",
        )
    return int(found)


def replacement_id_or_none(tokenizer: Any, mode: str) -> int | None:
    return getattr(tokenizer, "mask_token_id" if mode == "mask" else "pad_token_id", None)


def erased_inputs(
    inputs: dict[str, torch.Tensor], erased: torch.Tensor, replacement: int | None, pad_id: int
) -> dict[str, torch.Tensor]:
    """The padded batch of one input (model tensors [1, T]) with each row of `erased` [R, T] (bool) erased.

    replacement None removes the erased tokens (rows shorter than T are right-padded with [PAD] and
    attention 0); an id replaces them in place.
    """
    erased = erased.to(inputs["input_ids"].device)
    rows = erased.shape[0]
    if replacement is not None:
        batch = {name: value.expand(rows, -1).clone() for name, value in inputs.items()}
        batch["input_ids"] = torch.where(erased, torch.full_like(batch["input_ids"], replacement), batch["input_ids"])
        return batch
    keep = ~erased
    # kept tokens first, in their order (a stable sort of "is erased"), then the erased ones to be padded over
    order = erased.to(torch.int8).argsort(dim=1, stable=True)
    lengths = keep.sum(1, keepdim=True)
    width = int(lengths.max())
    order = order[:, :width]
    real = torch.arange(width, device=erased.device).unsqueeze(0) < lengths
    batch = {}
    for name, value in inputs.items():
        gathered = value.expand(rows, -1).gather(1, order)
        fill = pad_id if name == "input_ids" else 0
        batch[name] = torch.where(real, gathered, torch.full_like(gathered, fill))
    batch["attention_mask"] = real.to(inputs["attention_mask"].dtype)
    return batch

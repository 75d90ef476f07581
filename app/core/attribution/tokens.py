"""The tokens an attribution is read from and compared over.

Query tokens: the tokens whose attention row (and rollout / flow row) is compared with an
attribution. "readout" is what the classifier reads: [CLS] for sequence classifiers, the <e1> and
<e2> start markers for relation classifiers with entity-start pooling (app.core.model.entity_pooling);
"cls" is [CLS]; "aspect" the aspect term in the review (the aspect in the auxiliary sentence when
the review does not contain it); "entity" the tokens of e1 and e2. A set of several query tokens
is read as the mean of their rows.

Compared tokens ("content tokens"): every real token that is neither special ([CLS], [SEP]) nor an
entity marker. The integrated-gradients baseline keeps those tokens as they are, so their
attribution is 0 by construction and would only add ties to a rank correlation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from app.core.inputs.encoding import EncodedInput
from app.core.model.checkpoint import CheckpointInfo
from app.core.model.errors import InputError

QUERIES = ("readout", "cls", "aspect", "entity")
TASK_QUERIES = {"absa": ("readout", "cls", "aspect"), "re": ("readout", "cls", "entity")}


def accepted_queries(task: str) -> tuple[str, ...]:
    return TASK_QUERIES.get(task, ("readout", "cls"))


def entity_start_ids(info: CheckpointInfo, tokenizer) -> list[int]:
    """Token ids of the <e1>/<e2> start markers when the classifier reads them, else []."""
    if info.metadata.get("pooling", "cls") != "entity-start":
        return []
    return [tokenizer.convert_tokens_to_ids(info.entity_markers[i]) for i in (0, 2)]


def query_tokens(encoded: EncodedInput, query: str, task: str, start_ids: Sequence[int] = ()) -> list[int]:
    """Indices of the query tokens of one input; an InputError (422) when the input has none."""
    if query not in accepted_queries(task):
        raise InputError(
            f"attribution_query {query!r} does not apply to a {task} model; accepted: "
            f"{', '.join(accepted_queries(task))}",
            field="attribution_query",
        )
    if query == "readout":
        starts = [next((i for i, t in enumerate(encoded.input_ids) if t == marker), None) for marker in start_ids]
        found = [i for i in starts if i is not None]
        return found or [0]
    if query == "cls":
        return [0]
    if query == "aspect":
        found = encoded.spans.get("aspect_term") or encoded.spans.get("aspect_query") or []
    else:
        found = sorted(set(encoded.spans.get("e1", [])) | set(encoded.spans.get("e2", [])))
    if not found:
        raise InputError(
            f"the input has no {query} tokens to read attention from; accepted queries: "
            f"{', '.join(accepted_queries(task))}",
            field="attribution_query",
        )
    return list(found)


def content_mask(encoded: EncodedInput, length: int | None = None) -> torch.Tensor:
    """bool [T]: the tokens attributions are compared over (not special, not an entity marker)."""
    length = length or len(encoded.input_ids)
    compared = [not t.special and not t.marker for t in encoded.tokens[:length]]
    return torch.tensor(compared + [False] * (length - len(compared)), dtype=torch.bool)


def query_weights(indices: Sequence[int], length: int) -> torch.Tensor:
    """[T]: the mean over the query tokens as a weight vector (rows @ weights = their mean row)."""
    weights = [0.0] * length
    for index in indices:
        weights[index] = 1.0 / len(indices)
    return torch.tensor(weights)

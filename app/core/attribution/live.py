"""Attribution for one live inspection: the requested methods' token scores and each head's agreement.

`attribute(loaded, inspection, request)` explains the logit of the predicted label (or a chosen
one) for the input the inspection shows, on the model's device:

* "ig": integrated gradients (gradients.py) with `ig_steps` points, completeness gap included;
* "grad_x_input": gradient x input;
* "rollout" / "flow": attention rollout / flow (graph.py) from the query tokens (tokens.py);

then, per method, the agreement maps [layers, heads] of every head's attention from the same
query tokens with the method's scores (agreement.py). QA-B / NLI-B checkpoints answer yes/no for
the shown polarity's auxiliary sentence: by default their "yes" logit is explained.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.attribution import agreement as metrics
from app.core.attribution.gradients import BASELINE, IG_DEFAULT_STEPS, gradient_x_input, integrated_gradients
from app.core.attribution.graph import FLOW_MAX_TOKENS, attention_flow, rollout
from app.core.attribution.tokens import content_mask, entity_start_ids, query_tokens
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.passes.inspection import Inspection

METHODS = ("ig", "grad_x_input", "rollout", "flow")
SIGNED = ("ig", "grad_x_input")  # compared by magnitude; rollout and flow are non-negative
B_FORMATS = ("qa-b", "nli-b")


@dataclass(frozen=True)
class AttributionRequest:
    methods: tuple[str, ...]
    label: str | None = None
    ig_steps: int = IG_DEFAULT_STEPS
    query: str = "readout"
    k: int = metrics.TOP_K


@dataclass
class Target:
    label: str
    index: int
    predicted: bool  # the label the model predicts (B formats: the shown polarity's "yes")


@dataclass
class AttributionReport:
    target: Target
    query: str
    query_tokens: list[int]
    content: torch.Tensor  # bool [T]
    scores: dict[str, torch.Tensor]  # method -> [T]
    details: dict[str, dict[str, Any]]  # method -> what else it reports (steps, completeness, ...)
    agreement: dict[str, dict[str, torch.Tensor]]  # method -> metric -> [L, H]
    k: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self, word_ids: list[int] | None = None) -> dict[str, Any]:
        """JSON of the report; with word_ids, token scores merged to words (summed over pieces)."""
        merge = _word_merger(word_ids)
        return {
            "target": vars(self.target),
            "level": "word" if word_ids is not None else "piece",
            "query": {"name": self.query, "tokens": _index_list(self.query_tokens, word_ids)},
            "compared": _index_list(self.content.nonzero().flatten().tolist(), word_ids),
            "methods": {
                name: {"scores": merge(self.scores[name]).tolist(), **self.details.get(name, {})}
                for name in self.scores
            },
            "agreement": {
                "k": self.k,
                "metrics": list(metrics.METRICS),
                "level": "piece",
                "methods": {
                    name: {m: value.tolist() for m, value in maps.items()} for name, maps in self.agreement.items()
                },
            },
            "timings_ms": self.timings_ms,
        }


def _word_merger(word_ids: list[int] | None):
    if word_ids is None:
        return lambda scores: scores
    index = torch.tensor(word_ids)
    return lambda scores: torch.zeros(int(index.max()) + 1).index_add_(0, index, scores.float().cpu())


def _index_list(indices: list[int], word_ids: list[int] | None) -> list[int]:
    return sorted({word_ids[i] for i in indices}) if word_ids is not None else list(indices)


def resolve_target(loaded: LoadedCheckpoint, inspection: Inspection, label: str | None) -> Target:
    """The label whose logit is explained; an InputError (422) naming the accepted labels otherwise."""
    info = loaded.info
    labels = list(info.labels)
    b_format = info.task == "absa" and info.format in B_FORMATS
    default = ("yes" if "yes" in labels else labels[-1]) if b_format else inspection.prediction.label
    if label is None:
        label = default
    elif label not in labels:
        raise InputError(
            f"attribution_label {label!r} is not a label of {info.id}; accepted: {', '.join(labels)}",
            field="attribution_label",
        )
    return Target(label, labels.index(label), label == default)


def check_request(loaded: LoadedCheckpoint, inspection: Inspection, request: AttributionRequest) -> None:
    unknown = [m for m in request.methods if m not in METHODS]
    if unknown:
        raise InputError(
            f"unknown attribution method(s) {unknown}; accepted: {', '.join(METHODS)}", field="attribution"
        )
    length = len(inspection.encoded.input_ids)
    if "flow" in request.methods and length > FLOW_MAX_TOKENS:
        raise InputError(
            f"flow is computed for inputs of at most {FLOW_MAX_TOKENS} tokens (one maximum flow per "
            f"token); this one has {length}: ask for rollout instead",
            field="attribution",
        )


def attribute(loaded: LoadedCheckpoint, inspection: Inspection, request: AttributionRequest) -> AttributionReport:
    info, encoded = loaded.info, inspection.encoded
    check_request(loaded, inspection, request)
    target = resolve_target(loaded, inspection, request.label)
    query = query_tokens(encoded, request.query, info.task, entity_start_ids(info, loaded.tokenizer))
    content = content_mask(encoded)
    scores, details, timings = {}, {}, {}
    for method in dict.fromkeys(request.methods):
        started = time.perf_counter()
        scores[method], details[method] = _run_method(method, loaded, inspection, target, query, content, request)
        timings[method] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    compared = {name: _compared(name, value) for name, value in scores.items()}
    agreement = metrics.head_agreement(inspection.attention, query, compared, content, k=request.k)
    timings["agreement"] = (time.perf_counter() - started) * 1000
    return AttributionReport(target, request.query, query, content, scores, details, agreement, request.k, timings)


def _compared(method: str, scores: torch.Tensor) -> torch.Tensor:
    return scores.abs() if method in SIGNED else scores


def _run_method(
    method: str,
    loaded: LoadedCheckpoint,
    inspection: Inspection,
    target: Target,
    query: list[int],
    content: torch.Tensor,
    request: AttributionRequest,
) -> tuple[torch.Tensor, dict[str, Any]]:
    if method == "rollout":
        return rollout(inspection.attention, query), {"from": request.query}
    if method == "flow":
        return attention_flow(inspection.attention, query), {"from": request.query}
    inputs = inspection.encoded.model_inputs(loaded.device)
    targets = torch.tensor([target.index])
    if method == "grad_x_input":
        return gradient_x_input(loaded.model, inputs, targets)[0].cpu(), {}
    keep = (~content).unsqueeze(0).to(loaded.device)
    found = integrated_gradients(loaded.model, inputs, keep, targets, loaded.tokenizer.pad_token_id, request.ig_steps)
    return found.scores[0].cpu(), {
        "steps": found.steps,
        "baseline": BASELINE,
        "output": "logit",
        "completeness": found.completeness.to_json(),
    }

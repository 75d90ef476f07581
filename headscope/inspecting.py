"""`headscope.inspect`: one input through a checkpoint, exactly as POST /api/inspect answers it.

The request is the server's own typed body (app.web.request_bodies.InspectRequest: the same checks and
messages), run by the server's inspection, intervention and attribution services over a registry that
holds this one checkpoint and no model thread, so the model work runs here, in this thread. Nothing is
computed twice: the forward pass runs once (the service keeps the inspection for the second, compact
payload the views draw), attribution once.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.config import get_settings
from app.core.passes.inspection import Inspection
from app.web.inspect_service import InspectService
from app.web.request_bodies import InspectRequest, KnockoutRequest
from headscope.loading import Checkpoint, OneCheckpoint, load
from headscope.results import InspectionResult
from headscope.service_calls import answered, completed, input_body


def inspect(
    checkpoint: Any,
    text: str,
    aspect: str | None = None,
    *,
    aspect_span: tuple[int, int] | None = None,
    e1_span: tuple[int, int] | None = None,
    e2_span: tuple[int, int] | None = None,
    word_level: bool = False,
    attention_kind: str = "weights",
    heads_off: Sequence[tuple[int, int]] | None = None,
    mode: str = "zero",
    factor: float | None = None,
    reference: str | None = None,
    attribution: Sequence[str] | bool | None = None,
    attribution_label: str | None = None,
    ig_steps: int | None = None,
    attribution_query: str | None = None,
) -> InspectionResult:
    """The prediction, tokens, spans and attention of one input (ABSA: `text` + `aspect`; RE: `text` with
    <e1>…</e1> and <e2>…</e2>, or plain text with `e1_span` / `e2_span` character ranges).

    heads_off: [(layer, head), ...] changed by `mode` ("zero", "scale" by `factor`, or "mean": the head's
    mean output over `reference`: "demo" by default, the task's demo data, or a file under HEADSCOPE_SHARED_DATA by
    its relative path); the result then holds the intervened run and
    `.intervention` (before, after, delta). attention_kind="norm": norm-based attention (Kobayashi et al. 2020)
    divided by each row's sum, as the inspect page's switch draws it. attribution: True or any of "ig", "grad_x_input",
    "rollout", "flow" (docs/how-to/attribution.md). Bad input raises ValueError naming the field.
    """
    loaded = load(checkpoint)
    unused = [name for name, value in (("mode", mode != "zero"), ("factor", factor), ("reference", reference)) if value]
    if heads_off is None and unused:
        raise ValueError(f"{', '.join(unused)} apply to heads_off: give heads_off=[(layer, head), ...] or drop them")
    asked = (("attribution_label", attribution_label), ("ig_steps", ig_steps), ("attribution_query", attribution_query))
    unused = [name for name, value in asked if value is not None]
    if not attribution and unused:
        raise ValueError(f"{', '.join(unused)} apply to attribution: give attribution=... or drop them")
    fields: dict[str, Any] = {"word_level": word_level, "attention_kind": attention_kind, "attention": "full"}
    if heads_off is not None:
        fields["intervene"] = {"heads": head_pairs(heads_off), "mode": mode, "factor": factor, "reference": reference}
    if attribution:
        methods = [attribution] if isinstance(attribution, str) else attribution  # "ig" is one method, not two
        fields["attribution"] = ["ig", "grad_x_input", "rollout", "flow"] if methods is True else list(methods)
        fields.update(attribution_label=attribution_label, ig_steps=ig_steps, attribution_query=attribution_query)
    spans = {"aspect_span": aspect_span, "e1_span": e1_span, "e2_span": e2_span}
    full = input_body(InspectRequest, loaded.id, text, aspect, spans, names=ARGUMENTS, **fields)
    return answered(lambda: _run(loaded, full))


# the body's fields as `inspect`'s arguments name them (messages speak of what the caller wrote)
ARGUMENTS = {
    "intervene.heads": "heads_off",
    "intervene.mode": "mode",
    "intervene.factor": "factor",
    "intervene.reference": "reference",
    "intervene": "heads_off",
    "attribution": "attribution",
}


def head_pairs(heads_off: Any) -> list[list[int]]:
    """[(layer, head), ...] as the body takes them; one pair alone, (5, 1), is one head."""
    pairs = [heads_off] if _is_pair(heads_off) else list(heads_off)
    wrong = [h for h in pairs if not _is_pair(h)]
    if wrong:
        raise ValueError(f"heads_off takes (layer, head) pairs, e.g. [(5, 1), (3, 0)]; got {wrong[0]!r}")
    return [list(h) for h in pairs]


def _is_pair(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value)


def _run(loaded: Checkpoint, full: InspectRequest) -> InspectionResult:
    service = InspectService(OneCheckpoint(loaded.loaded), cache_size=1, shared_data=get_settings().shared_data)
    compact = full.model_copy(update={"attention": "compact", "attribution": None})
    if full.intervene is not None:
        model_id = service.check(full)
        seen: list[Inspection] = []

        def payload(inspection: Inspection, request: InspectRequest) -> dict[str, Any]:
            seen.append(inspection)
            return service.payload(inspection, request)

        body = completed(service.interventions.run_async(model_id, full, payload))
        view = service.payload(seen[0], compact)
        view["intervention"] = body["intervention"]
    else:
        body = service.run(full)
        view = service.run(compact)  # the inspection the first run kept: no second forward pass
    if "attribution" in body:
        view["attribution"] = body["attribution"]
    return InspectionResult.from_payloads(body, view, loaded.task, full)


def knockout(
    checkpoint: Any,
    text: str,
    aspect: str | None = None,
    *,
    aspect_span: tuple[int, int] | None = None,
    e1_span: tuple[int, int] | None = None,
    e2_span: tuple[int, int] | None = None,
    mode: str = "zero",
) -> KnockoutView:
    """Every head knocked out alone, and every layer whole, on one input: the effect on the predicted label
    (POST /api/inspect/knockout's answer; docs/how-to/interventions.md). mode: "zero" or "mean"."""
    loaded = load(checkpoint)
    spans = {"aspect_span": aspect_span, "e1_span": e1_span, "e2_span": e2_span}
    request = input_body(KnockoutRequest, loaded.id, text, aspect, spans, mode=mode)  # checks mode too
    service = InspectService(OneCheckpoint(loaded.loaded), cache_size=0)
    return KnockoutView(answered(lambda: completed(service.interventions.knockout(request))))


class KnockoutView:
    """A knock-out map: `.effects` numpy [layers, heads] (the label's probability drop when that head is out),
    `.layer_effects` numpy [layers] (every head of a layer out at once), `.ranking` the heads by effect, `.json`
    the API's answer; shows as a layers x heads heatmap."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.json = answer
        self.label: str = answer["label"]
        self.effects = np.asarray(answer["heads"]["effect"], dtype=np.float64)
        self.layer_effects = np.asarray(answer["layers"]["effect"], dtype=np.float64)  # [layers]: each layer whole
        self.ranking: list[dict[str, Any]] = answer["ranking"]

    def __repr__(self) -> str:
        return f"<headscope knock-out map: {self.summary()}>"

    def summary(self) -> str:
        top = ", ".join(f"{r['layer']}.{r['head']} {r['effect']:+.3f}" for r in self.ranking[:5])
        return f"{self.json['model']}: knocking out one head at a time ({self.json['mode']}) moves {self.label}: {top}"

    def _repr_html_(self) -> str:
        from headscope.heatmaps import heatmap_html

        title = f"effect on {self.label} of knocking each head out ({self.json['mode']})"
        return f"<p>{html.escape(self.summary())}</p>" + heatmap_html(self.effects, title)

"""A finding's intervention (input.intervention): the heads switched off when it was saved.

Three uses: the snapshot the server computes for a finding saved without one is the intervened
inspection; the before → after line of the finding page, public page and export; the /inspect URL
state (static/js/state.js: iv, iv_mode, iv_factor) that its permalink reopens.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from app.store.finding_schemas import FindingCreate, FindingIntervention, InterventionOutcome
from app.web.request_bodies import Intervene

HOW = {"zero": "zeroed", "mean": "mean-ablated"}


def intervene_of(intervention: FindingIntervention | None) -> Intervene | None:
    """POST /api/inspect's `intervene` for the finding's intervention."""
    if intervention is None:
        return None
    return Intervene(
        heads=intervention.heads, mode=intervention.mode, factor=intervention.factor, reference=intervention.reference
    )


def _same_heads(intervention: FindingIntervention, answer: dict) -> bool:
    heads = answer.get("heads")
    if not isinstance(heads, list) or answer.get("mode") != intervention.mode:
        return False
    return sorted(tuple(h) for h in heads if isinstance(h, list)) == intervention.heads


def with_outcome(body: FindingCreate, snapshot: dict[str, Any]) -> FindingCreate:
    """`body` with its intervention's before/after taken from the snapshot when it did not give them
    (the snapshot is the intervened /api/inspect answer, whose `intervention` has both)."""
    intervention = body.input.intervention
    answer = snapshot.get("intervention")
    if intervention is None or intervention.after is not None or not isinstance(answer, dict):
        return body
    if not _same_heads(intervention, answer):
        return body
    try:
        before, after = (
            InterventionOutcome.model_validate(answer.get("before")),
            InterventionOutcome.model_validate(answer.get("after")),
        )
    except ValidationError:
        return body
    filled = FindingIntervention.model_validate({**intervention.model_dump(), "before": before, "after": after})
    return body.model_copy(update={"input": body.input.model_copy(update={"intervention": filled})})


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _pairs(intervention: dict) -> list[tuple[int, int]]:
    heads = intervention.get("heads")
    pairs = [h for h in heads if isinstance(h, list) and len(h) == 2] if isinstance(heads, list) else []
    return [(l, h) for l, h in pairs if isinstance(l, int) and isinstance(h, int) and l >= 0 and h >= 0]


def _stored(finding: dict) -> dict | None:
    inp = finding.get("input")
    intervention = inp.get("intervention") if isinstance(inp, dict) else None
    return intervention if isinstance(intervention, dict) and _pairs(intervention) else None


def how_text(intervention: dict) -> str:
    mode = intervention.get("mode")
    if mode == "scale":
        factor = _number(intervention.get("factor"))
        return f"scaled by {factor:g}" if factor is not None else "scaled"
    reference = intervention.get("reference")
    if mode == "mean" and isinstance(reference, str) and reference:
        return f"{HOW['mean']} over {reference}"
    return HOW.get(str(mode), "zeroed")


def intervention_text(finding: dict) -> str | None:
    """e.g. "Heads 4.7, 5.3 zeroed: positive 0.91 → 0.42" (the label predicted before); None without one."""
    intervention = _stored(finding)
    if intervention is None:
        return None
    names = ", ".join(f"{l}.{h}" for l, h in _pairs(intervention))
    text = f"{'Head' if len(_pairs(intervention)) == 1 else 'Heads'} {names} {how_text(intervention)}"
    before, after = intervention.get("before"), intervention.get("after")
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return text
    label = str(before.get("label") or "")
    p_before = _number((before.get("probabilities") or {}).get(label))
    p_after = _number((after.get("probabilities") or {}).get(label))
    if not label or p_before is None or p_after is None:
        return text
    changed = "" if after.get("label") in (None, label) else f" (now {after.get('label')})"
    return f"{text}: {label} {p_before:.2f} → {p_after:.2f}{changed}"


def intervention_query(finding: dict) -> dict[str, str]:
    """The /inspect URL fields (static/js/state.js) that switch the finding's heads off again."""
    intervention = _stored(finding)
    if intervention is None:
        return {}
    query = {"iv": ",".join(f"{l}.{h}" for l, h in _pairs(intervention))}
    mode = intervention.get("mode")
    if mode in ("mean", "scale"):
        query["iv_mode"] = str(mode)
    factor = _number(intervention.get("factor"))
    if mode == "scale" and factor is not None:
        query["iv_factor"] = f"{factor:g}"
    reference = intervention.get("reference")
    if mode == "mean" and isinstance(reference, str) and reference and reference != "demo":
        query["iv_ref"] = reference
    return query

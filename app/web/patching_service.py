"""POST /api/compare/patching: activation patching (app.core.passes.patching) between the two inputs the
/compare page shows, the left as the clean input and the right as the corrupted one.

The sides are resolved like POST /api/compare's (the right's missing fields are the left's), then
checked: one checkpoint on both sides (patching moves a head's output between two runs of one model),
no pretrained base, and at least one aligned token. The alignment is /api/compare's: tokens with the
same id, in order (app.core.robustness.moved.shared_tokens), per row of the inputs. Runs on the model
thread; nothing is stored.
"""

from __future__ import annotations

from typing import Any

from app.core.model.errors import InputError
from app.core.passes.inspection import InspectionInput, PreparedInspection, prepare_inspection
from app.core.passes.patching import DIRECTIONS, Pairs, patching_map
from app.core.robustness.moved import shared_tokens
from app.web.compare_schema import CompareRequest, CompareSide
from app.web.compare_service import CompareService
from app.web.patching_schema import PatchingRequest

METRIC = (
    "restored fraction of the logit difference: (patched - corrupted) / (clean - corrupted), where the "
    "difference is logit[clean run's label] - logit[corrupted run's label]; 1 = the clean run's, 0 = the corrupted's"
)
NOTE = (
    "Only aligned tokens (the same token on both sides) are patched; inserted or deleted tokens keep the "
    "running input's own values, so patching every head need not restore the whole difference."
)


class PatchingService:
    def __init__(self, compare: CompareService):
        self.compare, self.registry = compare, compare.registry

    def run(self, request: PatchingRequest) -> dict[str, Any]:
        left, right = self.compare.resolve(CompareRequest(left=request.left, right=request.right))
        self._one_checkpoint(left, right)
        info = self.registry.info(str(left.model))
        loaded = self.registry.get(info.id)
        clean, corrupted = (_prepared(loaded, side, name) for name, side in (("left", left), ("right", right)))
        alignment = aligned_rows(clean, corrupted)
        # [CLS], [SEP] and an ABSA auxiliary question always align: inputs whose texts share no token are
        # two inputs, not an input and its variant
        tokens = clean.encodeds[0].tokens
        if not any(not tokens[a].special and tokens[a].segment == "a" for a, _ in alignment[0]):
            raise InputError(
                "the two texts share no token, so they cannot be aligned: accepted is a corrupted input "
                "that keeps some of the clean text's tokens (a variant of it)",
                field="right.text",
            )
        directions = DIRECTIONS if request.direction == "both" else (request.direction,)
        found = {d: patching_map(loaded, clean, corrupted, alignment, d) for d in directions}
        first = found[directions[0]]
        clean_tokens = [t.text for t in clean.encodeds[0].tokens]
        corrupted_tokens = [t.text for t in corrupted.encodeds[0].tokens]
        aligned_clean, aligned_corrupted = {a for a, _ in alignment[0]}, {b for _, b in alignment[0]}
        return {
            "model": info.id,
            "task": info.task,
            "num_layers": info.num_layers,
            "num_heads": info.num_heads,
            "metric": METRIC,
            "clean_tokens": clean_tokens,
            "corrupted_tokens": corrupted_tokens,
            "unaligned": {
                "clean": [i for i in range(len(clean_tokens)) if i not in aligned_clean],
                "corrupted": [j for j in range(len(corrupted_tokens)) if j not in aligned_corrupted],
            },
            "columns": [{"clean": a, "corrupted": b, "token": clean_tokens[a]} for a, b in first.columns],
            "residual_points": first.residual_points,
            **{d: _direction(m.to_json()) for d, m in found.items()},
            "note": NOTE,
        }

    def _one_checkpoint(self, left: CompareSide, right: CompareSide) -> None:
        if left.pretrained or right.pretrained:
            side = "left" if left.pretrained else "right"
            raise InputError(
                "patching runs one fine-tuned checkpoint on both inputs: pretrained is accepted as false only",
                field=f"{side}.pretrained",
            )
        if left.model != right.model:
            a, b = self.registry.info(str(left.model)), self.registry.info(str(right.model))
            raise InputError(
                f"patching needs one checkpoint on both sides: left is {a.id} ({a.num_layers} layers × "
                f"{a.num_heads} heads), right is {b.id} ({b.num_layers} × {b.num_heads}); leave right.model out "
                "or give the left's",
                field="right.model",
            )


def aligned_rows(clean: PreparedInspection, corrupted: PreparedInspection) -> list[Pairs]:
    """Per row, the pairs (clean position, corrupted position) of the tokens the two inputs share."""
    rows = []
    for a, b in zip(clean.encodeds, corrupted.encodeds):
        at_clean, at_corrupted = shared_tokens(a, b)
        rows.append(list(zip(at_clean, at_corrupted)))
    return rows


def _prepared(loaded: Any, side: CompareSide, name: str) -> PreparedInspection:
    item = InspectionInput(str(side.text), side.aspect, side.aspect_span, side.e1_span, side.e2_span)
    try:
        return prepare_inspection(loaded, item)
    except InputError as exc:
        raise InputError(f"{name}: {exc}", field=f"{name}.{exc.field}" if exc.field else name) from None


def _direction(found: dict[str, Any]) -> dict[str, Any]:
    keep = ("direction", "clean_label", "corrupted_label", "clean_difference", "corrupted_difference")
    return {
        **{k: found[k] for k in keep},
        "heads": found["heads"],
        "residual": found["residual"],
        "undefined": found["undefined"],
    }

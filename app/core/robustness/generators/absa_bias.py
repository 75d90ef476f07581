"""Bias probes of ABSA, the counterparts of DiagnoseRE's Q5 for aspects.

* aspect-only: the review emptied down to the aspect term's words (several spans: one space
  between); the auxiliary sentence unchanged. A model right on it reads the label off the aspect
  alone: the runner reports the accuracy on the sources whose aspect-only variant it gets wrong
  (the registry marks the test `debiasing`).
* aspect-mask: the aspect term's words in the review replaced by the mask token; the auxiliary
  sentence still names the aspect, so the model must find what the review says about it without
  seeing it written.
Pairs without a term span in the review (a category the review does not name) are skipped.
Gold labels are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from app.core.inputs.units import UnitSpec
from app.core.robustness.context import GenerationContext
from app.core.robustness.generators.text import relation
from app.core.robustness.variants import Edit, Variant, make_variant


def _merged(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _outside(spans: Sequence[tuple[int, int]], masked: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple(s for s in spans if all(relation(s, m) == "outside" for m in masked))


def aspect_only(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        if not spec.term_spans or len(_merged(spec.term_spans)) != len(spec.term_spans):
            continue  # overlapping term spans: which words stand alone is unclear
        # The opinions and other aspects are deleted with the rest of the review: drop their spans first.
        bare = replace(spec, opinion_spans=(), other_spans=())
        spans = sorted(spec.term_spans)
        edits, position = [], 0
        for k, (start, end) in enumerate(spans):
            filler = "" if k == 0 else " "
            if start > position and spec.text[position:start] != filler:
                edits.append(Edit(position, start, filler))
            position = end
        if position < len(spec.text):
            edits.append(Edit(position, len(spec.text), ""))
        if edits:
            yield make_variant(i, bare, "aspect-only", edits)


def aspect_mask(sources: Sequence[UnitSpec], ctx: GenerationContext) -> Iterator[Variant]:
    for i, spec in enumerate(sources):
        spans = _merged(spec.term_spans)
        if not spans or len(spans) != len(spec.term_spans):
            continue
        # An opinion written inside the term (ASTE has a few) is masked with it: its span goes.
        bare = replace(
            spec, opinion_spans=_outside(spec.opinion_spans, spans), other_spans=_outside(spec.other_spans, spans)
        )
        variant = make_variant(
            i, bare, "aspect-mask", [Edit(s, e, ctx.mask_token) for s, e in spans], mask=ctx.mask_token
        )
        # edit_spec renames the aspect after the term it finds; the auxiliary sentence keeps the real one.
        yield replace(variant, spec=replace(variant.spec, aspect=spec.aspect))

"""Which heads carry a test's flips: activation patching over the pairs whose prediction broke.

"Moved" (moved.py) says where a head's attention changed when a prediction broke; that is correlation.
Patching is the causal test (passes/patching.py, the /compare view's, here over a dataset): for each
flipped pair, run the variant (corrupted) with one head's output at the aligned positions taken from
its source's (clean) run, one row per head in batched forwards, and measure the

  restored fraction  r = (d_patched - d_corrupted) / (d_clean - d_corrupted),

d = logit[source's label] - logit[variant's label], the labels each run predicts (1: the head alone
brings the source's prediction back; 0: it changes nothing). Positions are aligned as on /compare
(moved.shared_tokens: the same token ids, in order); an edited token has no partner and keeps the
variant's own value.

Pairs: those that broke and flipped, the source predicted right and the variant predicted another
label, wrong. (A label-changing test's variant that keeps the source's label is broken without a
flip: d is then the same on both runs, no fraction.) At most `patch_limit` per test, a seeded sample.

Per head: the mean of r over the pairs, with its 95% bootstrap CI (the pairs resampled, stats/bootstrap.py).
Control: for every pair and head, the restored fraction of one other head of the same layer drawn at
random (seeded, uniformly among that layer's other heads): a mean and CI per head on the same pairs,
what an arbitrary head at that depth restores. A head carries the test's flips when its CI lies above
its control's (lower bound > the control's upper bound); carriers are listed by that lower bound.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from app.core.inputs.encoding import EncodedInput
from app.core.inputs.units import UnitSpec, encode_unit
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import Runner
from app.core.passes.inspection import PreparedInspection
from app.core.passes.patching import UNDEFINED_BELOW, head_patches, patched_logits
from app.core.robustness.moved import shared_tokens
from app.core.robustness.scoring import Scores
from app.core.robustness.variants import Variant
from app.core.stats.bootstrap import bootstrap_ci

CONTROL = (
    "per pair and head, the restored fraction of one other head of the same layer, drawn uniformly at random "
    "(seeded); its mean and 95% CI over the same pairs"
)
CARRIES = "the head's 95% CI lies above its same-layer control's (lower bound > the control's upper bound)"


@dataclass
class FractionMap:
    """Per head, [layers][heads]: the mean over pairs and its 95% CI bounds."""

    mean: list[list[float]]
    low: list[list[float]]
    high: list[list[float]]


@dataclass
class Carriers:
    """A test's flips patched head by head (restored fraction per head against its same-layer control)."""

    eligible: int  # pairs that broke and flipped
    pairs: int  # pairs patched (n of every mean)
    limit: int
    unusable: int  # sampled pairs with no aligned token or no logit difference to restore
    restored: FractionMap
    control: FractionMap
    carriers: list[dict[str, Any]]  # [{layer, head, restored, ci, control, control_ci}] best lower bound first
    moved: list[list[int]]  # the test's top moved heads (focus rows, else [CLS]), for the comparison
    both: list[list[int]]  # heads that moved and carry
    moved_only: list[list[int]]
    carry_only: list[list[int]]
    control_rule: str = CONTROL
    carries_rule: str = CARRIES


def flipped_pairs(indices: Sequence[int], variants: Sequence[Variant], scores: Scores) -> list[int]:
    """The variants (of `indices`) whose source is predicted right and which are predicted another label, wrongly."""
    chosen = []
    for j in indices:
        source = variants[j].source
        before, after = scores.source_predictions[source], scores.variant_predictions[j]
        if before is None or after is None or before != scores.source_gold[source]:
            continue
        if after != before and after != scores.variant_gold[j]:
            chosen.append(j)
    return chosen


def sampled(pairs: Sequence[int], limit: int, seed: int) -> list[int]:
    """At most `limit` of `pairs`, a seeded uniform sample, in their order."""
    if len(pairs) <= limit:
        return list(pairs)
    return sorted(random.Random(seed).sample(list(pairs), limit))


@torch.inference_mode()
def pair_fractions(
    loaded: LoadedCheckpoint, clean: EncodedInput, corrupted: EncodedInput, clean_label: int, corrupted_label: int
) -> torch.Tensor | None:
    """[layers, heads] restored fraction of each head patched alone from `clean` into `corrupted` (one row per
    head in batched forwards, passes/patching.py); None without an aligned token or a difference to restore."""
    at_clean, at_corrupted = shared_tokens(clean, corrupted)
    if not at_clean:
        return None
    layers, heads = loaded.info.num_layers, loaded.info.num_heads
    runs = patched_logits(
        loaded,
        PreparedInspection([corrupted]),
        PreparedInspection([clean]),
        [list(zip(at_clean, at_corrupted))],
        head_patches(layers, heads),
    )

    def difference(logits: torch.Tensor) -> torch.Tensor:
        return logits[..., clean_label].double() - logits[..., corrupted_label].double()

    d_clean, d_corrupted = difference(runs.source[0]), difference(runs.target[0])
    span = d_clean - d_corrupted
    if abs(float(span)) < UNDEFINED_BELOW:
        return None
    return ((difference(runs.patched[:, 0]) - d_corrupted) / span).view(layers, heads)


def same_layer_control(fractions: torch.Tensor, seed: int) -> torch.Tensor:
    """[pairs, layers, heads]: for each pair and head, the fraction of another head of its layer drawn at random."""
    pairs, layers, heads = fractions.shape
    generator = torch.Generator().manual_seed(seed)
    # an offset in 1..heads-1 from the head itself: uniform over the layer's other heads
    offset = torch.randint(1, heads, (pairs, layers, heads), generator=generator)
    other = (torch.arange(heads).view(1, 1, heads) + offset) % heads
    return fractions.gather(2, other)


def _summary(values: torch.Tensor, bootstrap: int, seed: int) -> FractionMap:
    low, high = bootstrap_ci(values, bootstrap, seed)
    return FractionMap(values.mean(0).float().tolist(), low.tolist(), high.tolist())


def carrying_heads(restored: FractionMap, control: FractionMap) -> list[dict[str, Any]]:
    """The heads whose CI lies above their control's, the highest lower bound first."""
    found: list[dict[str, Any]] = []
    for layer, row in enumerate(restored.low):
        for head, low in enumerate(row):
            if low > control.high[layer][head]:
                found.append(
                    {
                        "layer": layer,
                        "head": head,
                        "restored": restored.mean[layer][head],
                        "ci": [low, restored.high[layer][head]],
                        "control": control.mean[layer][head],
                        "control_ci": [control.low[layer][head], control.high[layer][head]],
                    }
                )
    found.sort(key=lambda h: (-h["ci"][0], h["layer"], h["head"]))
    return found


def flip_carriers(
    loaded: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    variants: Sequence[Variant],
    indices: Sequence[int],
    scores: Scores,
    moved: Sequence[tuple[int, int]],
    *,
    limit: int,
    bootstrap: int,
    seed: int,
    max_length: int,
    runner: Runner,
    progress: Callable[[int, int], None] | None = None,
) -> Carriers | None:
    """The test's flipped pairs (at most `limit`) patched head by head; None when none can be patched
    or the model has one head per layer (no same-layer control)."""
    eligible = flipped_pairs(indices, variants, scores)
    chosen = sampled(eligible, limit, seed)
    if not chosen or loaded.info.num_heads < 2:
        return None
    rows: list[torch.Tensor] = []
    for done, j in enumerate(chosen):
        source = variants[j].source
        labels = (scores.source_predictions[source], scores.variant_predictions[j])
        found = runner(partial(_one_pair, loaded, sources[source], variants[j].spec, labels, max_length))
        if found is not None:
            rows.append(found)
        if progress is not None:
            progress(done + 1, len(chosen))
    if not rows:
        return None
    fractions = torch.stack(rows)
    restored = _summary(fractions, bootstrap, seed)
    control = _summary(same_layer_control(fractions, seed), bootstrap, seed)
    carriers = carrying_heads(restored, control)
    carry = {(h["layer"], h["head"]) for h in carriers}
    moved_set = [tuple(h) for h in moved]
    return Carriers(
        eligible=len(eligible),
        pairs=len(rows),
        limit=limit,
        unusable=len(chosen) - len(rows),
        restored=restored,
        control=control,
        carriers=carriers,
        moved=[list(h) for h in moved_set],
        both=[list(h) for h in moved_set if h in carry],
        moved_only=[list(h) for h in moved_set if h not in carry],
        carry_only=[[h["layer"], h["head"]] for h in carriers if (h["layer"], h["head"]) not in set(moved_set)],
    )


def _one_pair(
    loaded: LoadedCheckpoint,
    source: UnitSpec,
    variant: UnitSpec,
    labels: tuple[int | None, int | None],
    max_length: int,
) -> torch.Tensor | None:
    clean, corrupted = encode_unit(loaded, source, None, max_length), encode_unit(loaded, variant, None, max_length)
    clean_label, corrupted_label = labels
    if clean is None or corrupted is None or clean_label is None or corrupted_label is None:
        return None
    return pair_fractions(loaded, clean.encoded, corrupted.encoded, clean_label, corrupted_label)

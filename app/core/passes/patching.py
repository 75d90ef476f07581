"""Activation patching between a clean and a corrupted input on one checkpoint.

Where a knock-out asks "what does this head do for this input?", patching asks "which head carries
the difference between these two inputs?": run one input with one component's output taken from the
other input's run (cached in one forward) and see how far the prediction moves.

* denoise: the corrupted input runs, the patched component's output is the clean run's; a component
  whose clean output alone brings the clean prediction back carries the difference.
* noise: the clean input runs, the component's output is the corrupted run's; a component whose
  corrupted output alone breaks the clean prediction is needed for it.

The metric is the logit difference d = logit[clean label] - logit[corrupted label] (the labels each
run predicts; QA-B / NLI-B: each polarity's "yes" logit), as in TransformerLens, and each patch is
reported as the **restored fraction** (d_patched - d_corrupted) / (d_clean - d_corrupted) in both
directions: 1 is the clean run's difference, 0 the corrupted run's (so in noise, near 1 means the
patch changed nothing, near 0 that it alone undid the clean prediction). Where |d_clean - d_corrupted|
< 1e-6 (both inputs predict the same label, so d is 0 on both runs) the fraction is undefined: None,
with the reason in `PatchingMap.undefined`.

Positions: a component is patched only at aligned positions, pairs (clean position, corrupted
position) of the same token (the /compare view's alignment). Inserted or deleted tokens, the
positions without a partner, keep the running input's own values: there is nothing to take from
the other run there. So even every head patched at every aligned position need not restore the clean
run: the embeddings and MLPs of the running input still carry its tokens; the residual stream patched
at every position of one layer (identical-length inputs, every position aligned) does reproduce it.

Two maps, all in batched forwards, one row per patch, each row patching its own component through
one hook per point (like the knock-out map's rows, passes/knockout.py), at most 128 rows a forward:

* heads: [layer][head], the head's output (hooks.head_out) at every aligned position;
* residual: [point][column], the residual stream (hooks.EMBEDDING_OUTPUT, the first layer's input,
  then hooks.block_out(i), layer i's output) at one aligned pair at a time; the columns are the first
  row's aligned pairs (a QA-B / NLI-B row patches a pair only where its own alignment has it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.hooks import EMBEDDING_OUTPUT, HookFn, HookPoint, block_out, cache, head_out, hooks
from app.core.passes.inspection import PreparedInspection, batch_inputs, label_scores
from app.core.stats.rounding import to_json

DIRECTIONS = ("denoise", "noise")
MAX_ROWS, MAX_ROW_TOKENS = 128, 16_384
UNDEFINED_BELOW = 1e-6
Pairs = list[tuple[int, int]]  # (clean position, corrupted position) of one row


@dataclass(frozen=True)
class Patch:
    """What one row patches: at each of `points`, head `head` (None: the whole tensor) at aligned pair
    number `column` of the row's alignment (None: every aligned pair). No points: the unpatched run."""

    points: tuple[str, ...]
    head: int | None = None
    column: int | None = None


@dataclass
class PatchingMap:
    direction: str
    clean_label: str
    corrupted_label: str
    clean_difference: float  # d on the clean run
    corrupted_difference: float  # d on the corrupted run
    heads: list[list[float | None]]  # restored fraction [layer][head]
    residual: list[list[float | None]]  # restored fraction [point][column]
    residual_points: list[str]
    columns: Pairs  # the first row's aligned pairs
    undefined: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the patched differences, same shapes

    def to_json(self) -> dict[str, Any]:
        return to_json(
            {
                "direction": self.direction,
                "clean_label": self.clean_label,
                "corrupted_label": self.corrupted_label,
                "clean_difference": self.clean_difference,
                "corrupted_difference": self.corrupted_difference,
                "heads": self.heads,
                "residual": self.residual,
                "residual_points": self.residual_points,
                "columns": [list(pair) for pair in self.columns],
                "undefined": self.undefined,
            }
        )


def _forward_cached(
    loaded: LoadedCheckpoint, inputs: dict[str, torch.Tensor], names: Sequence[str]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    store: dict[str, torch.Tensor] = {}
    with hooks(loaded.model, {name: cache(store) for name in names}):
        logits = loaded.model(**inputs).logits
    return logits.float().cpu(), store


def _moved_into_target(source: torch.Tensor, target: torch.Tensor, rows: Sequence[Pairs]) -> torch.Tensor:
    """The target-shaped tensor holding the source's values at each row's aligned target positions."""
    moved = target.clone()
    for row, pairs in enumerate(rows):
        if pairs:
            at_source, at_target = zip(*pairs)
            moved[row, list(at_target)] = source[row, list(at_source)]
    return moved


def _masks(patches: Sequence[Patch], rows: Sequence[Pairs], shape: torch.Size, name: str) -> torch.Tensor:
    """[patches * rows, tokens(, heads)] bool: where each patch row takes the source's value at `name`."""
    mask = torch.zeros(len(patches) * len(rows), *shape, dtype=torch.bool)
    first = rows[0]
    for index, patch in enumerate(patches):
        if name not in patch.points:
            continue
        for row, pairs in enumerate(rows):
            chosen = pairs if patch.column is None else [p for p in pairs if p == first[patch.column]]
            positions = [target for _, target in chosen]
            if patch.head is None:
                mask[index * len(rows) + row, positions] = True
            else:
                mask[index * len(rows) + row, positions, patch.head] = True
    return mask


def _take_where(mask: torch.Tensor, moved: torch.Tensor) -> HookFn:
    def patch(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        where = mask.to(value.device).view(*mask.shape, *([1] * (value.dim() - mask.dim())))
        source = moved.to(value.dtype).repeat(value.shape[0] // moved.shape[0], *([1] * (moved.dim() - 1)))
        return torch.where(where, source, value)

    return patch


@dataclass
class PatchedRuns:
    """Logits on the CPU: each patch's [patches, rows, labels], and the two plain runs' [rows, labels]."""

    patched: torch.Tensor
    target: torch.Tensor
    source: torch.Tensor


@torch.inference_mode()
def patched_logits(
    loaded: LoadedCheckpoint,
    target: PreparedInspection,
    source: PreparedInspection,
    alignment: Sequence[Pairs],
    patches: Sequence[Patch],
) -> PatchedRuns:
    """`target` run once per patch, each with its components taken from `source`'s run (one cached
    forward each; the plain runs are those forwards, bit for bit). alignment: per row of the inputs,
    pairs (source position, target position)."""
    names = sorted({name for patch in patches for name in patch.points})
    source_logits, source_store = _forward_cached(loaded, batch_inputs(loaded, [source]), names)
    inputs = batch_inputs(loaded, [target])
    target_logits, target_store = _forward_cached(loaded, inputs, names)
    moved = {name: _moved_into_target(source_store[name], target_store[name], alignment) for name in names}
    rows, tokens = inputs["input_ids"].shape
    per_forward = max(1, min(MAX_ROWS, MAX_ROW_TOKENS // tokens) // rows)
    found = []
    for start in range(0, len(patches), per_forward):
        chunk = patches[start : start + per_forward]
        batch = {name: value.repeat(len(chunk), 1) for name, value in inputs.items()}
        touched = sorted({name for patch in chunk for name in patch.points})
        # masks over [tokens] or, at a head_out point, [tokens, heads]: the tensor's shape but its last axis
        fns = {
            name: _take_where(_masks(chunk, alignment, moved[name].shape[1:-1], name), moved[name]) for name in touched
        }
        with hooks(loaded.model, fns):  # no point touched: no hook at all, the plain forward
            found.append(loaded.model(**batch).logits.float().cpu())
    return PatchedRuns(torch.cat(found).view(len(patches), rows, -1), target_logits, source_logits)


def head_patches(layers: int, heads: int) -> list[Patch]:
    return [Patch((head_out(layer),), head) for layer in range(layers) for head in range(heads)]


def residual_points(layers: int) -> list[str]:
    return [EMBEDDING_OUTPUT, *(block_out(layer) for layer in range(layers))]


def residual_patches(layers: int, columns: int) -> list[Patch]:
    return [Patch((point,), None, column) for point in residual_points(layers) for column in range(columns)]


def _reversed(alignment: Sequence[Pairs]) -> list[Pairs]:
    return [[(b, a) for a, b in pairs] for pairs in alignment]


def patching_map(
    loaded: LoadedCheckpoint,
    clean: PreparedInspection,
    corrupted: PreparedInspection,
    alignment: Sequence[Pairs],
    direction: str = "denoise",
) -> PatchingMap:
    """Every head and every (residual point, aligned pair) patched alone, in one direction (model thread).

    alignment: per row of the inputs (one; QA-B / NLI-B one per polarity), pairs (clean position,
    corrupted position) of the same token; unaligned positions keep the running input's values.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r}: accepted {', '.join(DIRECTIONS)}")
    if not alignment or not alignment[0]:
        raise ValueError("no aligned tokens: nothing to patch between the two inputs")
    layers, heads = loaded.info.num_layers, loaded.info.num_heads
    columns = list(alignment[0])
    patches = [*head_patches(layers, heads), *residual_patches(layers, len(columns))]
    denoise = direction == "denoise"
    target, source = (corrupted, clean) if denoise else (clean, corrupted)
    runs = patched_logits(loaded, target, source, alignment if denoise else _reversed(alignment), patches)
    clean_logits, corrupted_logits = (runs.source, runs.target) if denoise else (runs.target, runs.source)
    clean_label = label_scores(loaded, clean, clean_logits)[0].label
    corrupted_label = label_scores(loaded, corrupted, corrupted_logits)[0].label

    def difference(rows: torch.Tensor) -> float:
        _, by_label, _ = label_scores(loaded, target, rows)
        return by_label[clean_label] - by_label[corrupted_label]

    d_clean, d_corrupted = difference(clean_logits), difference(corrupted_logits)
    span = d_clean - d_corrupted
    undefined = None
    if abs(span) < UNDEFINED_BELOW:
        undefined = (
            f"both inputs predict {clean_label!r}: the logit difference is the same on both runs, so no fraction"
            if clean_label == corrupted_label
            else f"the logit difference is the same on both runs ({d_clean:.3g}): no fraction of it to restore"
        )
    raw = [difference(rows) for rows in runs.patched]
    fractions = [None if undefined else (value - d_corrupted) / span for value in raw]
    per_head, per_residual = fractions[: layers * heads], fractions[layers * heads :]
    width = len(columns)
    return PatchingMap(
        direction,
        clean_label,
        corrupted_label,
        d_clean,
        d_corrupted,
        heads=[per_head[layer * heads : (layer + 1) * heads] for layer in range(layers)],
        residual=[per_residual[i * width : (i + 1) * width] for i in range(layers + 1)],
        residual_points=residual_points(layers),
        columns=columns,
        undefined=undefined,
        raw={"heads": raw[: layers * heads], "residual": raw[layers * heads :]},
    )

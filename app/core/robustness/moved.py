"""Which heads moved between a source and its variant: the change in the query rows' attention, per head.

A variant shares most of its tokens with its source (the edits touch a few words). For each pair,
the shared tokens are found by aligning the two token-id sequences (difflib's matching blocks: the
edited stretches fall out, everything else pairs up in order). For a query set — the aspect in the
auxiliary sentence (ABSA) or the two entities (RE), and [CLS] — each head's mean query row is
restricted to the shared keys and renormalised; the source's and the variant's rows are compared
by Jensen-Shannon divergence (base 2, in [0, 1]). The result is
one [L, H] change per pair and query set: how far each head's view of the unedited words moved.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from app.core.heads import token_sets
from app.core.inputs.encoding import EncodedInput
from app.core.stats.streaming import js_divergence_rows

QUERY_SETS = ("focus", "cls")  # focus: the aspect query tokens (ABSA) or the entity tokens (RE)


def shared_tokens(source: EncodedInput, variant: EncodedInput) -> tuple[list[int], list[int]]:
    """Positions of the tokens the two inputs share, in order: (in the source, in the variant)."""
    matcher = difflib.SequenceMatcher(None, source.input_ids, variant.input_ids, autojunk=False)
    left: list[int] = []
    right: list[int] = []
    for block in matcher.get_matching_blocks():
        left.extend(range(block.a, block.a + block.size))
        right.extend(range(block.b, block.b + block.size))
    return left, right


def focus_tokens(encoded: EncodedInput, task: str) -> list[int]:
    """The query tokens whose rows the change is measured on (besides [CLS])."""
    sets = token_sets(encoded)
    if task == "re":
        return sorted(set(sets.get("e1", [])) | set(sets.get("e2", [])))
    return list(sets.get("aspect_query", []))


@dataclass
class QueryRows:
    """What a pair comparison needs of one input: its encoding and the attention rows of its query tokens.

    Kept instead of the whole [L, H, T, T] attention, so a source can wait for variants in later batches.
    """

    encoded: EncodedInput
    focus: list[int]  # focus query positions
    focus_rows: torch.Tensor  # [L, H, F, T]
    cls_rows: torch.Tensor  # [L, H, 1, T]


def query_rows(attention: torch.Tensor, encoded: EncodedInput, task: str) -> QueryRows:
    """attention: one input's [L, H, T, T] (only its real positions are read)."""
    n = len(encoded.input_ids)
    focus = focus_tokens(encoded, task)
    return QueryRows(encoded, focus, attention[:, :, focus, :n].float().cpu(), attention[:, :, :1, :n].float().cpu())


def _mean_row(rows: torch.Tensor, keys: Sequence[int]) -> torch.Tensor:
    """[L, H, Q, T] -> [L, H, K]: the mean query row over the given keys, renormalised to a distribution."""
    picked = rows[..., list(keys)].mean(2)
    return picked / picked.sum(-1, keepdim=True).clamp_min(1e-12)


def rows_change(source: QueryRows, variant: QueryRows) -> dict[str, torch.Tensor]:
    """query set -> [L, H] JS divergence between the source's and the variant's rows over their shared keys.

    A query set none of whose tokens is shared (e.g. the entities masked away) gives NaN.
    """
    left, right = shared_tokens(source.encoded, variant.encoded)
    position = dict(zip(left, right))
    undefined = torch.full(source.cls_rows.shape[:2], float("nan"))
    if len(left) < 2:  # nothing left to compare a distribution over
        return {"cls": undefined, "focus": undefined.clone()}
    change = {"cls": js_divergence_rows(_mean_row(source.cls_rows, left), _mean_row(variant.cls_rows, right))}
    shared = [(i, q) for i, q in enumerate(source.focus) if q in position and position[q] in variant.focus]
    if not shared:
        change["focus"] = undefined
        return change
    mine = source.focus_rows[:, :, [i for i, _ in shared]]
    theirs = variant.focus_rows[:, :, [variant.focus.index(position[q]) for _, q in shared]]
    change["focus"] = js_divergence_rows(_mean_row(mine, left), _mean_row(theirs, right))
    return change


def pair_change(
    source_attention: torch.Tensor,
    variant_attention: torch.Tensor,
    source: EncodedInput,
    variant: EncodedInput,
    task: str,
) -> dict[str, torch.Tensor]:
    """`rows_change` of two inputs given their whole attention [L, H, T, T] each."""
    return rows_change(query_rows(source_attention, source, task), query_rows(variant_attention, variant, task))

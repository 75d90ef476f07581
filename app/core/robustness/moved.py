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
from typing import Sequence

import torch

from app.core.heads.statistics import token_sets
from app.core.inputs import EncodedInput

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


def _rows(attention: torch.Tensor, queries: Sequence[int], keys: Sequence[int]) -> torch.Tensor:
    """[L, H, K]: the mean of the query rows over the given keys, renormalised to a distribution."""
    rows = attention[:, :, list(queries)][:, :, :, list(keys)].float().mean(2)
    return rows / rows.sum(-1, keepdim=True).clamp_min(1e-12)


def _js(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    def entropy(p: torch.Tensor) -> torch.Tensor:
        return -torch.special.xlogy(p, p).sum(-1) / torch.log(torch.tensor(2.0))

    return (entropy((first + second) / 2) - (entropy(first) + entropy(second)) / 2).clamp(0, 1)


def pair_change(source_attention: torch.Tensor, variant_attention: torch.Tensor, source: EncodedInput,
                variant: EncodedInput, task: str) -> dict[str, torch.Tensor]:
    """query set -> [L, H] JS divergence between the source's and the variant's rows over their shared keys.

    attention: one input's [L, H, T, T] (unpadded or padded: only real positions are read). A query
    set none of whose tokens is shared (e.g. the entities masked away) gives NaN.
    """
    left, right = shared_tokens(source, variant)
    position = dict(zip(left, right))
    layers, heads = source_attention.shape[:2]
    change = {}
    for name in QUERY_SETS:
        queries = [0] if name == "cls" else [q for q in focus_tokens(source, task) if q in position]
        if not queries or len(left) < 2:
            change[name] = torch.full((layers, heads), float("nan"))
            continue
        mapped = [position[q] for q in queries]
        change[name] = _js(_rows(source_attention, queries, left), _rows(variant_attention, mapped, right)).cpu()
    return change

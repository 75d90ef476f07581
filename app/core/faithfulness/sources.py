"""Explanation sources as token scores of one input: what the faithfulness tests rank tokens by.

Every source gives a score per token [T] (higher: more important to the explained label); only the
erasable tokens are ranked (erasure.py). Each is computed by app.core.attribution, not here:

* "attention": every head's attention row from the query tokens (their mean row; tokens.py: the
  readout [CLS] or entity-start markers, [CLS], the aspect or the entities), one source per head;
* "head_mean": the mean of those rows over every layer and head;
* "norm_attention": every head's norm-based attention row (Kobayashi et al. 2020, ||α_ij f(x_j)||:
  app.core.model.norm_attention, one more forward of the input), one source per head, and their mean
  over every layer and head ("norm_head_mean");
* "rollout" / "flow": attention rollout / flow from the query tokens (Abnar & Zuidema 2020);
* "ig" / "grad_x_input": integrated gradients / gradient x input of the target label's logit,
  signed (a token that speaks against the label ranks last: comprehensiveness asks which tokens
  the prediction needs, so the direction counts, as in ferret);
* "random": `random_draws` uniformly random rankings (seeded), the chance level;
* "occlusion" (leave-one-out, computed by evaluate.py from one erased row per token): the drop of
  the target probability when the token alone is erased; it bounds the normalised AOPC (metrics.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from app.core.attribution import (
    FLOW_MAX_TOKENS,
    IG_DEFAULT_STEPS,
    attention_flow,
    gradient_x_input,
    head_rows,
    integrated_gradients,
    query_weights,
    rollout_rows,
)
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.model.norm_attention import norm_attention

METHODS = ("attention", "head_mean", "norm_attention", "rollout", "flow", "ig", "grad_x_input", "random")
PER_HEAD = ("attention", "norm_attention")  # one source per head, named "<method>:<layer>.<head>"
REFERENCE = "occlusion"  # always evaluated: the normalisation's bound, shown beside the sources
DEFAULT_RANDOM_DRAWS = 4


@dataclass
class SourceScores:
    """Scores per named source [S, T] (a head's named "<method>:<layer>.<head>"), with what each cost in ms."""

    names: list[str]
    scores: torch.Tensor
    timings_ms: dict[str, float]


def check_methods(methods: Sequence[str], length: int) -> None:
    """InputError (422) for an unknown method, or flow on an input longer than flow takes."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown faithfulness method(s) {unknown}; accepted: {', '.join(METHODS)}", field="methods")
    if "flow" in methods and length > FLOW_MAX_TOKENS:
        raise InputError(
            f"flow is computed for inputs of at most {FLOW_MAX_TOKENS} tokens; this one has {length}: "
            f"leave flow out ({', '.join(m for m in METHODS if m != 'flow')})",
            field="methods",
        )


def attention_rows(attention: torch.Tensor, query: Sequence[int]) -> torch.Tensor:
    """[L, H, T]: every head's attention from the query tokens (their mean row) of attention [L, H, T, T]."""
    weights = query_weights(query, attention.shape[-1]).unsqueeze(0)
    return head_rows(attention.unsqueeze(0), weights)[0]


def random_scores(draws: int, length: int, seed: int) -> torch.Tensor:
    """[draws, T]: uniformly random scores (a random ranking each), reproducible from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(draws, length, generator=generator)


def source_scores(
    loaded: LoadedCheckpoint,
    inputs: dict[str, torch.Tensor],
    attention: torch.Tensor,
    query: Sequence[int],
    keep: torch.Tensor,
    target: int,
    methods: Sequence[str],
    ig_steps: int = IG_DEFAULT_STEPS,
    random_draws: int = DEFAULT_RANDOM_DRAWS,
    seed: int = 0,
) -> SourceScores:
    """The scores of every requested source for one input.

    inputs: its model tensors [1, T] on the model's device; attention [L, H, T, T]; keep [T]: the
    tokens integrated gradients' baseline keeps (the non-content tokens); target: the label index.
    """
    import time

    names: list[str] = []
    rows: list[torch.Tensor] = []
    timings: dict[str, float] = {}
    layers, heads, length = attention.shape[0], attention.shape[1], attention.shape[-1]
    head_scores = attention_rows(attention, query) if {"attention", "head_mean"} & set(methods) else None
    for method in METHODS:
        if method not in methods:
            continue
        started = time.perf_counter()
        if method == "attention" and head_scores is not None:
            names += [f"{method}:{layer}.{head}" for layer in range(layers) for head in range(heads)]
            rows.append(head_scores.reshape(layers * heads, length).cpu())
        elif method == "head_mean" and head_scores is not None:
            names.append(method)
            rows.append(head_scores.mean((0, 1)).unsqueeze(0).cpu())
        elif method == "norm_attention":
            norm_rows = attention_rows(norm_attention(loaded.model, inputs)[0], query).cpu()
            names += [f"{method}:{layer}.{head}" for layer in range(layers) for head in range(heads)]
            names.append("norm_head_mean")
            rows += [norm_rows.reshape(layers * heads, length), norm_rows.mean((0, 1)).unsqueeze(0)]
        elif method == "random":
            names += [f"random.{i}" for i in range(random_draws)]
            rows.append(random_scores(random_draws, length, seed))
        else:
            names.append(method)
            rows.append(_attribution(method, loaded, inputs, attention, query, keep, target, ig_steps).unsqueeze(0))
        timings[method] = (time.perf_counter() - started) * 1000
    return SourceScores(names, torch.cat(rows).float(), timings)


def _attribution(
    method: str,
    loaded: LoadedCheckpoint,
    inputs: dict[str, torch.Tensor],
    attention: torch.Tensor,
    query: Sequence[int],
    keep: torch.Tensor,
    target: int,
    ig_steps: int,
) -> torch.Tensor:
    if method == "rollout":
        weights = query_weights(query, attention.shape[-1]).unsqueeze(0)
        return rollout_rows(attention.unsqueeze(0), weights)[0].cpu()
    if method == "flow":
        return attention_flow(attention, query).cpu()
    targets = torch.tensor([target])
    if method == "grad_x_input":
        return gradient_x_input(loaded.model, inputs, targets)[0].cpu()
    pad = loaded.tokenizer.pad_token_id
    found = integrated_gradients(loaded.model, inputs, keep.unsqueeze(0).to(loaded.device), targets, pad, ig_steps)
    return found.scores[0].cpu()

"""The one hook mechanism: named points inside a BERT-family classifier, hooks that live for one block.

Everything in app.core that reads or changes a tensor inside a model's forward goes through here
(head masks for importance and ablation, the word-embedding replacement of integrated gradients and
HotFlip, RoAST's perturbation), the way TransformerLens's HookPoints work: a hook is a function
`fn(value, point) -> Tensor | None` added at a named point inside `with hooks(model) as active:`;
it sees the point's tensor on every forward in the block and returns a replacement, or None to keep
it. Leaving the block removes every hook it added, also when the block raises, so no forward outside
it is affected. With no hook active the model is untouched: its output is the plain forward's, bit
for bit. Several hooks at one point run in the order they were added, each on the previous result.

A hook belongs to the model object, not to a thread: open the block inside the work that runs the
forward (a runner's call), so nothing else running on the model meanwhile sees it.

Points (`hook_points(model)`, resolved by structure once per model; i is a layer index, the names are
also built by WORD_EMBEDDING, EMBEDDING_OUTPUT, pattern(i), value(i), head_out(i), attn_out(i) and
block_out(i)):

  embed.word               the word-embedding output, [batch, tokens, hidden]
  embed.out                the embedding block's output (words + positions + types, after LayerNorm
                           and dropout): the first layer's input, [batch, tokens, hidden]
  blocks.i.attn.pattern    the attention probabilities, [batch, heads, query, key]; read only (eager
                           attention computes the context inside one function, after which a changed
                           pattern would change nothing)
  blocks.i.attn.value      the value vectors x W_V + b_V, split per head, [batch, tokens, heads, head_dim]
                           (norm-based attention reads them: norm_attention.py); a hook's result is
                           what the attention mixes
  blocks.i.attn.head_out   each head's output: the attention block's context, the self-attention
                           output before the output projection, split per head, [batch, tokens,
                           heads, head_dim]; a hook's result goes on into the projection
  blocks.i.attn.out        the output projection's result (before dropout, residual and LayerNorm),
                           [batch, tokens, hidden]; equals the sum over heads of each head's
                           head_out times its columns of the projection's weight, plus the bias
  blocks.i.out             the layer's output hidden states: the residual stream after layer i (the
                           next layer's input), [batch, tokens, hidden]; equals the model's
                           hidden_states[i + 1]; a hook's result is what the later layers read

Architectures: those with BERT's encoder (`encoder.layer[i].attention.self` and
`.attention.output.dense`: BERT, MiniLM, RoBERTa, XLM-R, ELECTRA, the entity-start classifier of
entity_pooling.py) and DistilBERT's (`transformer.layer[i].attention` with `out_lin`); anything else
raises UnsupportedModelError naming what was looked for.

Ready-made hook functions: `cache(store)` (read), `replace_with(tensor)` (any point),
`scale_heads(gate)`, `zero_heads(heads)` and `replace_heads(source, heads)` (a head_out point). A
head mask (head_mask.py) is `scale_heads` by 0/1 at every layer.

    store = {}
    with hooks(model, {head_out(3): zero_heads([0, 5]), pattern(3): cache(store)}) as active:
        active.add(head_out(4), cache(store))  # more points, same lifetime
        logits = model(**batch).logits
    store[pattern(3)], store[head_out(4)]  # [batch, heads, query, key], [batch, tokens, heads, head_dim]
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.core.model.errors import AttentionUnavailableError, HeadscopeError

HookFn = Callable[[torch.Tensor, "HookPoint"], torch.Tensor | None]
WORD_EMBEDDING, EMBEDDING_OUTPUT = "embed.word", "embed.out"


def pattern(layer: int) -> str:
    return f"blocks.{layer}.attn.pattern"


def head_out(layer: int) -> str:
    return f"blocks.{layer}.attn.head_out"


def value(layer: int) -> str:
    return f"blocks.{layer}.attn.value"


def attn_out(layer: int) -> str:
    return f"blocks.{layer}.attn.out"


def block_out(layer: int) -> str:
    return f"blocks.{layer}.out"


class UnsupportedModelError(HeadscopeError):
    """The model's modules are not laid out like any encoder the hook points know."""


@dataclass(frozen=True)
class HookPoint:
    """One named tensor of the forward: the module it is read at and how.

    kind: "output" (the module's output), "pattern" (the second element of the self-attention
    module's output), "heads" (the first input of the output projection, seen split per head),
    "values" (the value projection's output, seen split per head) or
    "block" (an encoder layer's hidden states, the first element when the layer returns a tuple).
    """

    name: str
    module: nn.Module
    kind: str
    heads: int = 0


class HookPoints(dict[str, HookPoint]):
    """A model's points by name; `layers` and `heads` give the encoder's shape."""

    def __init__(self, points: Sequence[HookPoint], layers: int, heads: int, word: nn.Module) -> None:
        super().__init__((p.name, p) for p in points)
        self.layers, self.heads, self.word = layers, heads, word


def _encoder_layers(base: nn.Module) -> nn.ModuleList:
    for path in ("encoder", "transformer"):  # BERT, RoBERTa, ELECTRA: encoder.layer; DistilBERT: transformer.layer
        layers = getattr(getattr(base, path, None), "layer", None)
        if isinstance(layers, nn.ModuleList) and len(layers):
            return layers
    raise UnsupportedModelError(
        f"{type(base).__name__}: no encoder.layer or transformer.layer (a BERT-family encoder) to hook"
    )


def _attention_parts(layer: nn.Module, index: int) -> tuple[nn.Module, nn.Linear, nn.Linear]:
    """(the module returning (context or output, probabilities), the value projection, the output projection)."""
    attention = getattr(layer, "attention", None)
    own, projection = getattr(attention, "self", None), getattr(getattr(attention, "output", None), "dense", None)
    values = getattr(own, "value", None)
    if isinstance(own, nn.Module) and isinstance(projection, nn.Linear) and isinstance(values, nn.Linear):
        return own, values, projection  # BERT: attention.self (query, key, value), attention.output
    projection, values = getattr(attention, "out_lin", None), getattr(attention, "v_lin", None)
    if isinstance(attention, nn.Module) and isinstance(projection, nn.Linear) and isinstance(values, nn.Linear):
        return attention, values, projection  # DistilBERT: projects inside
    raise UnsupportedModelError(
        f"layer {index} ({type(layer).__name__}): no attention.self (with value) + attention.output.dense (BERT, "
        "RoBERTa, ELECTRA) nor attention.v_lin + out_lin (DistilBERT) to hook"
    )


def _resolve(model: Any) -> HookPoints:
    base = getattr(model, "base_model", model)
    layers = _encoder_layers(base)
    heads = int(model.config.num_attention_heads)
    word, block = model.get_input_embeddings(), getattr(base, "embeddings", None)
    if not isinstance(word, nn.Module) or not isinstance(block, nn.Module):
        raise UnsupportedModelError(f"{type(model).__name__}: no word embeddings and embedding block to hook")
    points = [HookPoint(WORD_EMBEDDING, word, "output"), HookPoint(EMBEDDING_OUTPUT, block, "output")]
    for index, layer in enumerate(layers):
        own, values, projection = _attention_parts(layer, index)
        if projection.in_features % heads:
            raise UnsupportedModelError(f"layer {index}: {projection.in_features} features do not split into {heads}")
        points += [
            HookPoint(pattern(index), own, "pattern"),
            HookPoint(value(index), values, "values", heads),
            HookPoint(head_out(index), projection, "heads", heads),
            HookPoint(attn_out(index), projection, "output"),
            HookPoint(block_out(index), layer, "block"),
        ]
    return HookPoints(points, len(layers), heads, word)


_POINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hook_points(model: Any) -> HookPoints:
    """The model's points, resolved once (again only if its word embeddings were swapped, as resizing does)."""
    found = _POINTS.get(model)
    if found is None or found.word is not model.get_input_embeddings():
        found = _POINTS[model] = _resolve(model)
    return found


def _register(point: HookPoint, fn: HookFn) -> torch.utils.hooks.RemovableHandle:
    """The PyTorch hook that shows `fn` the point's tensor and puts its result back in place."""
    if point.kind == "heads":

        def before_projection(module: nn.Module, args: tuple) -> tuple | None:
            split = fn(args[0].unflatten(-1, (point.heads, -1)), point)  # [batch, tokens, heads, head_dim]
            return None if split is None else (split.flatten(-2), *args[1:])

        return point.module.register_forward_pre_hook(before_projection)

    if point.kind == "values":

        def after_values(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
            split = fn(output.unflatten(-1, (point.heads, -1)), point)  # [batch, tokens, heads, head_dim]
            return None if split is None else split.flatten(-2)

        return point.module.register_forward_hook(after_values)

    if point.kind == "pattern":

        def read_pattern(module: nn.Module, args: tuple, output: Any) -> None:
            if output[1] is None:
                raise AttentionUnavailableError(f"{point.name}: no probabilities; load the model with eager attention")
            if fn(output[1], point) is not None:
                raise ValueError(f"{point.name} is read only: the context is already computed from it")

        return point.module.register_forward_hook(read_pattern)

    if point.kind == "block":

        def after_layer(module: nn.Module, args: tuple, output: Any) -> Any:
            # Some transformers versions return (hidden_states, attentions...) from a layer, others the tensor.
            hidden = output[0] if isinstance(output, tuple) else output
            changed = fn(hidden, point)
            if changed is None:
                return None
            return (changed, *output[1:]) if isinstance(output, tuple) else changed

        return point.module.register_forward_hook(after_layer)

    def after(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        return fn(output, point)

    return point.module.register_forward_hook(after)


class Hooks:
    """The hooks of one `with hooks(model)` block: add more with `add`, all go when the block ends."""

    def __init__(self, model: Any) -> None:
        self.points = hook_points(model)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def add(self, name: str, fn: HookFn) -> None:
        point = self.points.get(name)
        if point is None:
            raise KeyError(f"no hook point {name!r}; this model has {self.points.layers} layers (blocks.0 ...)")
        self._handles.append(_register(point, fn))

    def remove(self) -> None:
        while self._handles:
            self._handles.pop().remove()


@contextlib.contextmanager
def hooks(model: Any, fns: Mapping[str, HookFn | Sequence[HookFn]] | None = None) -> Iterator[Hooks]:
    """Within the block, `fns` (point name -> a function or a list run in order) run on every forward of `model`."""
    active = Hooks(model)
    try:
        for name, given in (fns or {}).items():
            for fn in [given] if callable(given) else given:
                active.add(name, fn)
        yield active
    finally:
        active.remove()


# --- ready-made hook functions -------------------------------------------------------------------


def cache(store: dict[str, torch.Tensor]) -> HookFn:
    """Keeps the point's tensor in `store[point name]`, as is: still in the autograd graph (detach for a copy)."""

    def keep(value: torch.Tensor, point: HookPoint) -> None:
        store[point.name] = value

    return keep


def replace_with(tensor: torch.Tensor) -> HookFn:
    """The point's tensor becomes `tensor` (same shape): the ids' word embeddings replaced by Captum's path."""

    def replace(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        if tensor.shape != value.shape:
            raise ValueError(f"{point.name}: replacement {tuple(tensor.shape)} for a {tuple(value.shape)} tensor")
        return tensor

    return replace


def scale_heads(gate: torch.Tensor) -> HookFn:
    """Each head's output times gate[head] ([heads]) or gate[example, head] ([batch, heads]; may need grad).

    Michel et al.'s ξ_h: by 1.0 the product is the value itself, so all ones leave the forward bit for bit.
    """

    def scale(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        # On the flat [..., heads * head_dim] context with the gate repeated per column: a 4-d broadcast
        # multiply is half again as slow on the CPU, and this order of ops is the one head importance's
        # gradients (summed over tokens, then columns) were always computed in, bit for bit.
        factor = gate.to(value.dtype).repeat_interleave(value.shape[-1], dim=-1)  # [..., heads * head_dim]
        if factor.dim() == 2:
            factor = factor[:, None, :]  # the same over tokens
        return (value.flatten(-2) * factor).view_as(value)

    return scale


def zero_heads(heads: Sequence[int]) -> HookFn:
    """The given heads' outputs set to zero (exact zeros, whatever the output held)."""
    chosen = list(heads)

    def zero(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        out = value.clone()
        out[:, :, chosen] = 0.0
        return out

    return zero


def replace_heads(source: torch.Tensor, heads: Sequence[int]) -> HookFn:
    """The given heads' outputs taken from `source` (a cached head_out of the same shape): activation patching."""
    chosen = list(heads)

    def patch(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        if source.shape != value.shape:
            raise ValueError(f"{point.name}: patch source {tuple(source.shape)} for a {tuple(value.shape)} tensor")
        out = value.clone()
        out[:, :, chosen] = source[:, :, chosen].to(value.dtype)
        return out

    return patch

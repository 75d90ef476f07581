"""A randomly initialised BERT classifier of a given shape over the embedded MiniLM tokenizer: what the tests' tiny
checkpoints and the benchmarks' random models of bert-base's or the demo's shape are built from, with nothing
downloaded and nothing trained. Seeded, so one shape and seed always give the same weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.model.embedded import embedded_base_model


def random_bert(
    layers: int,
    heads: int,
    hidden: int,
    labels: Sequence[str],
    *,
    intermediate: int | None = None,
    positions: int = 512,
    seed: int = 0,
    special_tokens: Sequence[str] = (),
) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer): eager attention (attention weights are read), a feed-forward layer
    `intermediate` wide (default 4 x hidden, as in BERT), `positions` position embeddings, weights drawn after
    torch.manual_seed(seed). `special_tokens` (e.g. entity markers) join the vocabulary before it is sized."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(embedded_base_model())
    if special_tokens:
        tokenizer.add_special_tokens({"additional_special_tokens": list(special_tokens)})
    # the base config takes these at run time; BertConfig's typed signature does not name them
    untyped: dict[str, Any] = {"num_labels": len(labels), "attn_implementation": "eager"}
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden if intermediate is None else intermediate,
        max_position_embeddings=positions,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **untyped,
    )
    torch.manual_seed(seed)
    return BertForSequenceClassification(config).eval(), tokenizer

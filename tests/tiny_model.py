"""A tiny BERT for fast, exact unit tests: 2 layers x 2 heads, seeded random weights, the embedded tokenizer.

`tiny_checkpoint(task)` gives a LoadedCheckpoint like the registry's (eager attention, CPU) for an
ABSA QA-M or an RE classifier. `uniform=True` zeroes every query and key projection, so each head
attends uniformly over the real tokens: the known answer for statistics (mass(Q -> K) = |K| / n,
entropy = ln n).
"""

from __future__ import annotations

from pathlib import Path

import torch

from app.core.inputs.encoding import DEFAULT_ENTITY_MARKERS
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
from app.core.model.embedded import embedded_base_model
from app.core.training.demo_checkpoints import DEMO_RE_LABELS

ABSA_LABELS = ("positive", "neutral", "negative", "conflict", "none")


def tiny_checkpoint(task: str = "absa", seed: int = 0, uniform: bool = False) -> LoadedCheckpoint:
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(embedded_base_model())
    if task == "re":
        tokenizer.add_special_tokens({"additional_special_tokens": list(DEFAULT_ENTITY_MARKERS)})
    labels = DEMO_RE_LABELS if task == "re" else ABSA_LABELS
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        num_labels=len(labels),
        attn_implementation="eager",
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    if uniform:
        with torch.no_grad():
            for layer in model.bert.encoder.layer:
                for projection in (layer.attention.self.query, layer.attention.self.key):
                    projection.weight.zero_()
                    projection.bias.zero_()
    info = CheckpointInfo(
        id=f"tiny-{task}",
        path=Path("tiny"),
        task=task,
        format="re-markers" if task == "re" else "qa-m",
        labels=tuple(labels),
        num_layers=2,
        num_heads=2,
        max_length=128,
        model_type="bert",
    )
    return LoadedCheckpoint(info=info, model=model, tokenizer=tokenizer, device=torch.device("cpu"))

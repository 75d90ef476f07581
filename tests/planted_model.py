"""A hand-built tiny 2 x 2 BERT whose label only head (1, 0) carries: for tests that must find that head
(the knock-out map, activation patching)."""

from __future__ import annotations

import torch
from tiny_model import tiny_checkpoint  # tests/ is on sys.path (rootdir conftest)

from app.core.model.checkpoint import LoadedCheckpoint


def planted_model(value_bias: float = 3.0) -> LoadedCheckpoint:
    """A 2 x 2 tiny BERT whose label only head (1, 0) carries.

    Dimensions 8..15 of the residual stream stay 0 until layer 1, where only head (1, 0) writes there
    (dims 8 and 9: +v and -v with a value bias of +-value_bias); the pooler reads dim 8 - dim 9 and the
    classifier that one pooled feature into the first label. LayerNorm shifts dims 8 and 9 alike, so
    without the head their difference, and so every logit, is exactly 0; every other head writes nothing.
    Layer 0 writes nothing either, so each token's residual stream entering layer 1 is its own embedding's:
    the head's output at [CLS] is all that differs between two inputs where the classifier reads.
    With value_bias 0 the sign of that output, and so the label, depends on the input.
    """
    loaded = tiny_checkpoint("absa", seed=3)
    bert, hidden = loaded.model.bert, slice(8, 16)
    with torch.no_grad():
        for norm in (bert.embeddings.LayerNorm, *(m for layer in bert.encoder.layer[:1] for m in norms(layer))):
            norm.weight[hidden], norm.bias[hidden] = 0.0, 0.0
        for layer in bert.encoder.layer:
            for projection in (layer.attention.output.dense, layer.output.dense):
                projection.weight.zero_(), projection.bias.zero_()
        last = bert.encoder.layer[1]
        value = last.attention.self.value
        value.weight[:8], value.bias[:8] = 0.0, 0.0
        value.weight[0, 0], value.weight[1, 0] = 1.0, -1.0
        value.bias[0], value.bias[1] = value_bias, -value_bias
        last.attention.output.dense.weight[8, 0], last.attention.output.dense.weight[9, 1] = 1.0, 1.0
        for norm in norms(last):
            norm.weight.fill_(1.0), norm.bias.zero_()
        pooler = bert.pooler.dense
        pooler.weight.zero_(), pooler.bias.zero_()
        pooler.weight[0, 8], pooler.weight[0, 9] = 1.0, -1.0
        classifier = loaded.model.classifier
        classifier.weight.zero_(), classifier.bias.zero_()
        classifier.weight[0, 0] = 5.0
    return loaded


def norms(layer: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    return layer.attention.output.LayerNorm, layer.output.LayerNorm

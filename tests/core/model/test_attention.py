"""Attention extraction on the real model: rows, equality with transformers, word merging."""

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from app.core.inputs.encoding import encode_absa
from app.core.model.attention import (
    forward_with_attention,
    gathered_max_pooled,
    max_pooled,
    merge_word_pieces,
    quantize_uint8,
)
from app.core.model.errors import AttentionUnavailableError
from app.core.passes.inspection import InspectionInput, inspect


def test_rows_sum_to_one(absa):
    result = inspect(absa, InspectionInput("The pasta was great but the waiter was rude.", "service"))
    layers, heads, queries, keys = result.attention.shape
    assert (layers, heads) == (6, 12) and queries == keys == len(result.encoded.input_ids)
    assert torch.allclose(result.attention.sum(-1), torch.ones(layers, heads, queries), atol=1e-5)
    assert set(result.prediction.probabilities) == set(absa.info.labels)
    assert sum(result.prediction.probabilities.values()) == pytest.approx(1, abs=1e-5)


def test_equals_a_direct_transformers_forward(absa):
    """An independent load of the same folder, run the way a script would, gives the same numbers."""
    model = AutoModelForSequenceClassification.from_pretrained(absa.info.path, attn_implementation="eager").eval()
    text, aspect = "Great sushi, but the room was far too loud.", "ambience"
    encoded = encode_absa(absa.tokenizer, text, aspect, "qa-m")
    with torch.no_grad():
        direct = model(**encoded.model_inputs(), output_attentions=True)
    expected = torch.stack(direct.attentions, dim=1)[0]
    result = inspect(absa, InspectionInput(text, aspect))
    assert torch.allclose(result.attention, expected, atol=1e-6)
    assert result.prediction.label == absa.info.labels[int(direct.logits.argmax())]


def test_sdpa_attention_fails_loudly(absa):
    """transformers 5 returns attentions == () under sdpa; we raise instead of showing nothing."""
    model = AutoModelForSequenceClassification.from_pretrained(absa.info.path, attn_implementation="sdpa").eval()
    encoded = encode_absa(absa.tokenizer, "Nice place.", "food", "qa-m")
    with pytest.raises(AttentionUnavailableError, match="eager"):
        forward_with_attention(model, encoded.model_inputs())


def test_word_merge_known_answer():
    # Tokens: [CLS] play ##ing now  -> words: [CLS], playing, now
    attention = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.1, 0.1, 0.3], [0.3, 0.3, 0.2, 0.2], [0.0, 0.6, 0.4, 0.0]])
    merged = merge_word_pieces(attention, [0, 1, 1, 2])
    expected = torch.tensor([[0.1, 0.5, 0.4], [(0.5 + 0.3) / 2, (0.2 + 0.5) / 2, (0.3 + 0.2) / 2], [0.0, 1.0, 0.0]])
    assert torch.allclose(merged, expected)
    assert torch.allclose(merged.sum(-1), torch.ones(3))


def test_word_merge_on_real_attention(absa):
    result = inspect(absa, InspectionInput("The tempura was unbelievably overpriced.", "price"))
    words, merged = result.at_word_level()
    assert merged.shape[-1] == len(words.tokens) < len(result.encoded.tokens)
    assert torch.allclose(merged.sum(-1), torch.ones(merged.shape[:-1]), atol=1e-5)


def test_quantization_error_is_bounded():
    attention = torch.rand(2, 3, 7, 7).softmax(-1)
    restored = quantize_uint8(attention).float() / 255
    assert (restored - attention).abs().max() <= 1 / 510 + 1e-7


@pytest.mark.parametrize(("tokens", "size"), [(475, 42), (20, 42), (100, 84), (43, 42), (512, 84)])
def test_max_pooled_keeps_each_blocks_largest_weight(tokens, size):
    attention = torch.rand(2, 3, tokens, tokens, generator=torch.Generator().manual_seed(tokens)).softmax(-1)
    pooled = max_pooled(attention, size)
    side = min(tokens, size)
    # the torch ops that pool on other devices give the same values as the CPU's compiled pass
    starts = [-(-b * tokens // side) for b in range(side + 1)]
    assert torch.equal(gathered_max_pooled(attention, starts), pooled)
    assert pooled.shape == (2, 3, side, side)
    block = np.arange(tokens) * side // tokens  # the block of token i, as the model view's thumbnails
    expected = np.zeros((side, side), dtype=np.float32)
    np.maximum.at(expected, (block[:, None], block[None, :]), attention[1, 2].numpy())
    assert np.array_equal(pooled[1, 2].numpy(), expected)
    # a one-cell pattern (each token attending only to the one before) survives the pooling
    previous = torch.zeros(tokens, tokens)
    previous[torch.arange(1, tokens), torch.arange(tokens - 1)] = 1.0
    assert int((max_pooled(previous, size) == 1).sum()) >= side - 1

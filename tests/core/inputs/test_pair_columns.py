"""Pairs encoded as columns with each distinct text tokenised once (columns.encode_pair_columns: a review once for
all its aspects, an auxiliary sentence once for all batches, joined by the tokenizer's post-processor) equal the
tokenizer's own pair encodings, field by field, for the embedded MiniLM's WordPiece tokenizer (joined texts); a
byte-level BPE tokenizer with RoBERTa's post-processor (no type ids, offsets trimmed around the joined texts, which
joining separate encodings would get wrong) gets its pairs encoded whole, and equal too."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from app.core.inputs.columns import columns_from_encodings, encode_pair_columns

REVIEWS = [
    "The pizza was great but the service was slow.",
    "  Crème brûlée, 12$ — worth it!! ",
    "Staff: rude; décor: lovely; wine list (short) fine.",
    "The pizza was great but the service was slow.",  # the same review again, another aspect
    "ok",
]
AUXILIARIES = ["what do you think of the food of it ?", "what do you think of the service of it ?", "price"]


def roberta_like() -> PreTrainedTokenizerFast:
    """A small byte-level BPE trained on the texts above, with RoBERTa's special tokens and post-processor."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials, show_progress=False)
    backend.train_from_iterator(REVIEWS + AUXILIARIES, trainer)
    backend.post_processor = processors.RobertaProcessing(
        ("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>")), trim_offsets=True
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )


def pairs(auxiliary_first: bool) -> list[tuple[str, str]]:
    found = [(AUXILIARIES[i % len(AUXILIARIES)], review.strip()) for i, review in enumerate(REVIEWS)]
    return found if auxiliary_first else [(b, a) for a, b in found]


@pytest.mark.parametrize("auxiliary_first", [True, False])
@pytest.mark.parametrize("kind", ["wordpiece", "byte-level"])
def test_pairs_tokenised_once_per_text_equal_the_tokenizers_pairs(base_tokenizer, kind, auxiliary_first):
    tokenizer = base_tokenizer if kind == "wordpiece" else roberta_like()
    chunk = pairs(auxiliary_first)
    fixed = "a" if auxiliary_first else "b"
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    reference = backend.encode_batch(chunk, add_special_tokens=True)
    typed = "token_type_ids" in tokenizer.model_input_names
    expected = columns_from_encodings(tokenizer, reference, [{"a": a, "b": b} for a, b in chunk], typed)
    for _ in range(2):  # the second time the auxiliary sentences come from the cache
        found = encode_pair_columns(tokenizer, chunk, 512, "a", fixed)
        for name in ("ids", "starts", "ends", "segment", "special", "marker", "word", "punct", "lengths"):
            assert np.array_equal(getattr(found, name), getattr(expected, name)), name
        assert (found.type_ids is None) == (not typed)
        if typed:
            assert np.array_equal(found.type_ids, expected.type_ids)
    # every row materialised from the columns says which segment each token came from, as the tokenizer does
    for row, encoding in enumerate(reference):
        tokens = found.encoded(row).tokens
        segments = [None if t.special else "ab"[s] for t, s in zip(tokens, encoding.sequence_ids)]
        assert [None if t.special else t.segment for t in tokens] == segments

"""Pairs spliced from their texts' arrays by the tokenizer's template (pair_splice) equal the tokenizer's own pair
encodings, field by field: the template learnt from the embedded MiniLM's WordPiece tokenizer, pairs truncated on
either side (encoded again whole, spliced in among the joined rows), a text holding a special token's string,
and texts repeated across pairs on either side."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.inputs.columns import columns_from_encodings, encode_pair_columns
from app.core.inputs.pair_splice import pair_template

PAIRS = [
    ("The pizza was great but the service was slow and the wine list was short.", "what about the service ?"),
    ("Staff: rude; décor: lovely [SEP] wine (short) fine.", "what about the [CLS] staff ?"),
    ("ok", "what about the price ?"),
    ("The pizza was great but the service was slow and the wine list was short.", "what about the pizza ?"),
    ("fine", "what about the price ?"),
]
FIELDS = ("ids", "type_ids", "starts", "ends", "segment", "special", "marker", "word", "punct", "lengths")


def test_the_template_is_learnt_from_the_tokenizer(base_tokenizer):
    backend = base_tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    template = pair_template(backend)
    assert template is not None
    assert template.sides == (-1, 0, -1, 1, -1)
    cls, sep = base_tokenizer.cls_token_id, base_tokenizer.sep_token_id
    assert (template.ids[0], template.ids[2], template.ids[4]) == (cls, sep, sep)
    assert template.types == (0, 0, 0, 1, 1)


@pytest.mark.parametrize("truncate_segment", ["a", "b"])
@pytest.mark.parametrize("limit", [512, 16])
@pytest.mark.parametrize("serial", [False, True])
def test_spliced_pairs_equal_the_tokenizers_pairs(base_tokenizer, truncate_segment, limit, serial):
    """The review on the side that is truncated, the auxiliary sentence (the fixed side) on the other; the texts
    tokenised in one batch call or (serial) one by one on this thread."""
    pairs = PAIRS if truncate_segment == "a" else [(b, a) for a, b in PAIRS]
    fixed = "b" if truncate_segment == "a" else "a"
    strategy = "only_first" if truncate_segment == "a" else "only_second"
    long_rows = [row for row, (a, b) in enumerate(pairs) if len(base_tokenizer(a, b)["input_ids"]) > limit]
    reference = [
        base_tokenizer(a, b, truncation=strategy if row in long_rows else False, max_length=limit).encodings[0]
        for row, (a, b) in enumerate(pairs)
    ]
    expected = columns_from_encodings(base_tokenizer, reference, [{"a": a, "b": b} for a, b in pairs], True)
    for _ in range(2):  # the second time the fixed side's texts come from the cache
        found = encode_pair_columns(base_tokenizer, pairs, limit, truncate_segment, fixed, serial)
        for name in FIELDS:
            assert np.array_equal(getattr(found, name), getattr(expected, name)), name
    assert sorted(found.truncated) == long_rows
    assert bool(long_rows) == (limit == 16)
    for row in long_rows:
        assert found.truncated[row].segment == truncate_segment
        assert found.lengths[row] == limit

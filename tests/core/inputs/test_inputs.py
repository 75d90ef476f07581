"""Input builders and span alignment on the real MiniLM tokenizer."""

import copy
import unicodedata

import pytest

from app.core.inputs.encoding import encode_absa, to_word_level
from app.core.inputs.relations import encode_relation, parse_entity_tags
from app.core.model.checkpoint import DEFAULT_ENTITY_MARKERS
from app.core.model.errors import InputError

REVIEW = "The fish tacos were great but the waiter was rude."


def plain(text: str) -> str:
    """What an uncased BERT tokenizer does to characters: lowercase, strip accents."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def assert_offsets_match(encoded):
    for token in encoded.tokens:
        if token.special or token.text == "[UNK]":
            continue
        source = encoded.segments[token.segment][token.start : token.end]
        assert plain(source) == token.text.removeprefix("##"), (token, source)


@pytest.fixture(scope="module")
def re_tokenizer(base_tokenizer):
    tokenizer = copy.deepcopy(base_tokenizer)
    tokenizer.add_special_tokens({"additional_special_tokens": list(DEFAULT_ENTITY_MARKERS)})
    return tokenizer


def texts(encoded, indices):
    return [encoded.tokens[i].text for i in indices]


def test_qa_m_layout(base_tokenizer):
    enc = encode_absa(base_tokenizer, REVIEW, "food", "qa-m")
    tokens = [t.text for t in enc.tokens]
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    sep = tokens.index("[SEP]")
    assert " ".join(tokens[sep + 1 : -1]) == "what do you think of the food of it ?"
    assert enc.segments == {"a": REVIEW, "b": "what do you think of the food of it ?"}
    assert [t.segment for t in enc.tokens[: sep + 1]] == ["a"] * (sep + 1)
    assert {t.segment for t in enc.tokens[sep + 1 :]} == {"b"}
    assert enc.token_type_ids == [0] * (sep + 1) + [1] * (len(tokens) - sep - 1)
    assert [t.special for t in enc.tokens].count(True) == 3
    assert texts(enc, enc.spans["aspect_query"]) == ["food"]
    assert enc.spans["aspect_term"] == []  # "food" does not occur in the review: the no-op case
    assert_offsets_match(enc)


def test_nli_m_and_term_put_the_aspect_second(base_tokenizer):
    nli = encode_absa(base_tokenizer, REVIEW, "service", "nli-m")
    assert nli.segments["b"] == "service"
    term = encode_absa(base_tokenizer, REVIEW, "fish tacos", "term")
    assert texts(term, term.spans["aspect_term"]) == ["fish", "ta", "##cos"]
    assert all(term.tokens[i].segment == "a" for i in term.spans["aspect_term"])
    assert texts(term, term.spans["aspect_query"]) == ["fish", "ta", "##cos"]
    assert all(term.tokens[i].segment == "b" for i in term.spans["aspect_query"])


@pytest.mark.parametrize(
    "fmt, auxiliary",
    [("qa-b", "the polarity of the aspect fish tacos is positive"), ("nli-b", "fish tacos - positive")],
)
def test_b_formats_put_the_auxiliary_sentence_first(base_tokenizer, fmt, auxiliary):
    enc = encode_absa(base_tokenizer, REVIEW, "fish tacos", fmt, polarity="positive")
    assert enc.segments == {"a": auxiliary, "b": REVIEW}
    assert texts(enc, enc.spans["aspect_term"]) == ["fish", "ta", "##cos"]
    assert all(enc.tokens[i].segment == "b" for i in enc.spans["aspect_term"])
    assert all(enc.tokens[i].segment == "a" for i in enc.spans["aspect_query"])
    assert_offsets_match(enc)


def test_explicit_aspect_span_and_word_pieces(base_tokenizer):
    review = "Their unbelievably crunchy tempura was overpriced."
    start = review.index("tempura")
    enc = encode_absa(base_tokenizer, review, "tempura", "term", aspect_span=(start, start + 7))
    pieces = texts(enc, enc.spans["aspect_term"])
    assert "".join(p.removeprefix("##") for p in pieces) == "tempura"
    words = to_word_level(enc)
    word_texts = [t.text for t in words.tokens]
    assert "unbelievably" in word_texts and "tempura" in word_texts
    assert [words.tokens[i].text for i in words.spans["aspect_term"]] == ["tempura"]
    assert len(words.tokens) < len(enc.tokens)  # pieces were merged
    assert_offsets_match(enc)


def test_unicode_offsets(base_tokenizer):
    review = "Crème brûlée at the café was naïve 😀 but lovely."
    enc = encode_absa(base_tokenizer, review, "crème brûlée", "term")
    assert_offsets_match(enc)
    term = enc.spans["aspect_term"]
    first, last = enc.tokens[term[0]], enc.tokens[term[-1]]
    assert review[first.start : last.end] == "Crème brûlée"
    emoji = [t for t in enc.tokens if t.segment == "a" and review[t.start : t.end] == "😀"]
    assert emoji and emoji[0].text == "[UNK]"
    words = to_word_level(enc)
    assert "brûlée" in [t.text for t in words.tokens]  # word view shows the original characters


def test_long_review_is_truncated_and_says_where(base_tokenizer):
    review = "The soup was fine. " * 200
    enc = encode_absa(base_tokenizer, review, "soup", "qa-m", max_length=64)
    assert len(enc.input_ids) == 64
    assert enc.truncated is not None and enc.truncated.segment == "a"
    total = len(base_tokenizer(review, "what do you think of the soup of it ?")["input_ids"])
    assert enc.truncated.dropped_tokens == total - 64
    assert 0 < enc.truncated.kept_chars < len(review)
    assert "cut after character" in enc.truncated.message
    # The question is kept whole.
    assert (
        " ".join(t.text for t in enc.tokens if t.segment == "b" and not t.special)
        == "what do you think of the soup of it ?"
    )


@pytest.mark.parametrize("field, review, aspect", [("text", "  ", "food"), ("aspect", "Good food.", " ")])
def test_empty_fields_are_rejected(base_tokenizer, field, review, aspect):
    with pytest.raises(InputError) as error:
        encode_absa(base_tokenizer, review, aspect, "qa-m")
    assert error.value.field == field


def test_relation_with_tags(re_tokenizer):
    enc = encode_relation(re_tokenizer, "The <e1>fire alarm</e1> was set off by <e2>smoke</e2>.")
    assert texts(enc, enc.spans["e1"]) == ["fire", "alarm"]
    assert texts(enc, enc.spans["e2"]) == ["smoke"]
    assert texts(enc, enc.spans["markers"]) == ["<e1>", "</e1>", "<e2>", "</e2>"]
    assert all(enc.tokens[i].marker for i in enc.spans["markers"])
    assert enc.spans["e1"][0] == enc.spans["markers"][0] + 1
    assert_offsets_match(enc)


def test_relation_spans_equal_tags(re_tokenizer):
    text = "The fire alarm was set off by smoke."
    spans = encode_relation(re_tokenizer, text, e1_span=(4, 14), e2_span=(30, 35))
    tags = encode_relation(re_tokenizer, "The <e1>fire alarm</e1> was set off by <e2>smoke</e2>.")
    assert spans.input_ids == tags.input_ids and spans.spans == tags.spans


@pytest.mark.parametrize(
    "text",
    [
        "No entities here.",
        "Only <e1>one</e1> entity.",
        "<e1>a</e1> <e1>b</e1> <e2>c</e2>",
        "Empty <e1></e1> and <e2>b</e2>",
        "Unclosed <e1>a and <e2>b</e2>",
    ],
)
def test_relation_without_both_entities_names_the_notations(re_tokenizer, text):
    with pytest.raises(InputError) as error:
        encode_relation(re_tokenizer, text)
    assert "<e1>" in str(error.value) and "e1_span" in str(error.value)


def test_parse_entity_tags_spans():
    clean, e1, e2 = parse_entity_tags("A <e1>cup</e1> of <E2>tea</E2>.")
    assert clean == "A cup of tea."
    assert clean[e1[0] : e1[1]] == "cup" and clean[e2[0] : e2[1]] == "tea"


@pytest.mark.parametrize("pairs", ["terms", "categories"])
def test_pairs_encoded_together_equal_each_alone(absa, pairs):
    """A GPU pass tokenises each batch in one call: the same units as one pair at a time, truncation included."""
    from app.core.data.demo import demo_dataset
    from app.core.inputs.units import encode_unit, encode_units, unit_specs

    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs=pairs)
    alone = [encode_unit(absa, spec, None, 40) for spec in specs]
    together = encode_units(absa, specs, None, 40)
    assert any(unit.encoded.truncated for unit in alone)  # the fallback for long pairs is exercised
    for one, other in zip(alone, together, strict=True):
        assert one.encoded == other.encoded
        assert (one.other_aspects, one.opinion) == (other.other_aspects, other.opinion)


def test_length_sorted_batches_cover_every_input_once_and_pad_little():
    import torch

    from app.core.inputs.batching import length_sorted_batches
    from app.core.inputs.encoding import EncodedInput

    lengths = [5, 2, 9, 3, 7, 2, 4]
    encodeds = [EncodedInput(list(range(1, n + 1)), [0] * n, [], {}) for n in lengths]
    batches = list(length_sorted_batches(encodeds, 3, 0, torch.device("cpu")))
    positions = [p for ps, _ in batches for p in ps]
    assert sorted(positions) == list(range(len(lengths)))  # each input exactly once
    assert [lengths[p] for p in positions] == sorted(lengths)  # shortest first
    for ps, batch in batches:
        assert batch["input_ids"].shape == (len(ps), max(lengths[p] for p in ps))  # padded to its own longest
        assert batch["attention_mask"].sum(-1).tolist() == [lengths[p] for p in ps]

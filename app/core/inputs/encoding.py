"""Input builders: ABSA sentence pairs (Sun et al. 2019); relation-extraction instances are relations.py.

Every encoded input keeps, per token, its text, character offsets into its segment's
text, its segment (A/B), whether it is a special token or an entity marker, and the word
it belongs to; gold spans (aspect term, entities) are kept as token indices.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from app.core.model.checkpoint import ABSA_FORMATS
from app.core.model.errors import InputError

# Sun et al. 2019, "Utilizing BERT for Aspect-Based Sentiment Analysis via Constructing
# Auxiliary Sentence": M formats put the review first, B formats the auxiliary sentence first.
QA_M_TEMPLATE = "what do you think of the {aspect} of it ?"
QA_B_TEMPLATE = "the polarity of the aspect {aspect} is {polarity}"
NLI_B_TEMPLATE = "{aspect} - {polarity}"
B_FORMAT_POLARITIES = ("positive", "neutral", "negative", "conflict", "none")
REVIEW_FIRST_FORMATS = ("qa-m", "nli-m", "term")


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character offsets into the segment's text; 0/0 for special tokens
    end: int
    segment: str  # "a" or "b"
    special: bool  # [CLS], [SEP], <s>, </s> ...
    marker: bool  # entity marker token such as <e1>
    word: int  # index of the word this token belongs to

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "segment": self.segment,
            "special": self.special,
            "marker": self.marker,
            "word": self.word,
        }


@dataclass(frozen=True)
class Truncation:
    segment: str
    kept_chars: int  # the segment's text was kept up to this character offset
    dropped_tokens: int
    max_length: int

    @property
    def message(self) -> str:
        return (
            f"input longer than the model's maximum of {self.max_length} tokens: segment {self.segment.upper()} "
            f"was cut after character {self.kept_chars} ({self.dropped_tokens} tokens dropped)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "kept_chars": self.kept_chars,
            "dropped_tokens": self.dropped_tokens,
            "max_length": self.max_length,
            "message": self.message,
        }


@dataclass
class EncodedInput:
    input_ids: list[int]
    token_type_ids: list[int] | None
    tokens: list[Token]
    segments: dict[str, str]
    spans: dict[str, list[int]] = field(default_factory=dict)
    truncated: Truncation | None = None

    @property
    def word_ids(self) -> list[int]:
        return [token.word for token in self.tokens]

    @property
    def num_words(self) -> int:
        return self.tokens[-1].word + 1 if self.tokens else 0

    def model_inputs(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """A batch of one, exactly as the model sees it."""
        inputs = {
            "input_ids": torch.tensor([self.input_ids], device=device),
            "attention_mask": torch.ones(1, len(self.input_ids), dtype=torch.long, device=device),
        }
        if self.token_type_ids is not None:
            inputs["token_type_ids"] = torch.tensor([self.token_type_ids], device=device)
        return inputs

    def char_span_to_tokens(self, segment: str, start: int, end: int) -> list[int]:
        """Indices of the non-special tokens of `segment` that overlap characters [start, end)."""
        return [
            i
            for i, t in enumerate(self.tokens)
            if t.segment == segment and not t.special and not t.marker and t.start < end and t.end > start
        ]


# The server tokenises live requests on its event loop while job batches tokenise on the model thread
# (and a GPU pass on a prefetch thread); a fast tokenizer switching truncation on for a long input
# while another thread encodes raises "Already borrowed", so calls go one at a time.
TOKENIZING = threading.Lock()


def length_limit(tokenizer: Any, max_length: int) -> int:
    """The longest input: the asked length, or the tokenizer's own maximum where that is shorter."""
    return min(max_length, getattr(tokenizer, "model_max_length", max_length) or max_length)


def encode_segments(
    tokenizer: Any,
    text_a: str,
    text_b: str | None,
    max_length: int,
    truncate_segment: str = "a",
    markers: Sequence[str] = (),
) -> EncodedInput:
    """Tokenize one or two segments, keeping offsets, segments, word ids and truncation info."""
    max_length = length_limit(tokenizer, max_length)
    # One tokenizer call on the hot path; a second only for inputs longer than the model's maximum.
    with TOKENIZING:
        enc = tokenizer(text_a, text_b, add_special_tokens=True, return_offsets_mapping=True, verbose=False)
        total = len(enc["input_ids"])
        truncation: str | bool = False
        if total > max_length:
            truncation = True if text_b is None else ("only_first" if truncate_segment == "a" else "only_second")
            enc = tokenizer(
                text_a,
                text_b,
                add_special_tokens=True,
                return_offsets_mapping=True,
                truncation=truncation,
                max_length=max_length,
            )
    ids = enc["input_ids"]
    tokens = _tokens(
        ids,
        tokenizer.convert_ids_to_tokens(ids),
        enc["offset_mapping"],
        enc.sequence_ids(),
        enc.word_ids(),
        {tokenizer.convert_tokens_to_ids(m) for m in markers},
    )
    truncated = None
    if truncation:
        seg = "a" if (text_b is None or truncate_segment == "a") else "b"
        kept = max((t.end for t in tokens if t.segment == seg and not t.special), default=0)
        truncated = Truncation(seg, kept, total - len(ids), max_length)
    segments = {"a": text_a} if text_b is None else {"a": text_a, "b": text_b}
    return EncodedInput(
        list(ids), list(enc["token_type_ids"]) if "token_type_ids" in enc else None, tokens, segments, {}, truncated
    )


def encode_segment_pairs(
    tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int, truncate_segment: str = "a"
) -> list[EncodedInput]:
    """`encode_segments` of many (text_a, text_b) pairs with one tokenizer call (the fast tokenizer encodes
    the batch on its own threads, outside the GIL); pairs longer than `max_length` go through
    `encode_segments` one by one, which truncates them."""
    if not pairs:
        return []
    limit = length_limit(tokenizer, max_length)
    backend = tokenizer.backend_tokenizer
    with TOKENIZING:
        # The Rust tokenizer itself: transformers' wrapper would copy every encoding into Python lists first.
        # Truncation and padding are whatever the wrapper's last call left: off, as for `encode_segments`.
        backend.no_truncation()
        backend.no_padding()
        encodings = backend.encode_batch(list(pairs), add_special_tokens=True)
    typed = "token_type_ids" in tokenizer.model_input_names
    out = []
    for (text_a, text_b), enc in zip(pairs, encodings):
        if len(enc.ids) > limit:
            out.append(encode_segments(tokenizer, text_a, text_b, max_length, truncate_segment))
            continue
        tokens = _tokens(enc.ids, enc.tokens, enc.offsets, enc.sequence_ids, enc.word_ids, set())
        out.append(
            EncodedInput(
                list(enc.ids), list(enc.type_ids) if typed else None, tokens, {"a": text_a, "b": text_b}, {}, None
            )
        )
    return out


def _tokens(
    ids: Sequence[int],
    pieces: Sequence[str],
    offsets: Sequence[tuple[int, int]],
    sequence_ids: Sequence[int | None],
    word_ids: Sequence[int | None],
    marker_ids: set[int],
) -> list[Token]:
    """The tokens of one encoding: display text, offsets into their segment, segment, word index."""
    tokens: list[Token] = []
    word = -1
    last_key: tuple[int | None, int | None] | None = None
    seen_b = False
    for i, (piece, (start, end)) in enumerate(zip(pieces, offsets)):
        seq = sequence_ids[i]
        special = seq is None
        marker = ids[i] in marker_ids
        seen_b = seen_b or seq == 1
        segment = "b" if seen_b and (seq == 1 or special) else "a"
        # A [SEP] that closes segment A belongs to A (as BERT's token_type_ids say).
        if special:
            start = end = 0
        key = None if (special or marker) else (seq, word_ids[i])
        if key is None or key != last_key:
            word += 1
        last_key = key
        # Byte-level BPE (RoBERTa) and sentencepiece mark word starts with a symbol; drop it for display.
        tokens.append(Token(piece.lstrip("Ġ▁") or piece, start, end, segment, special, marker, word))
    return tokens


# --- ABSA -------------------------------------------------------------------------------


def auxiliary_sentence(fmt: str, aspect: str, polarity: str | None = None) -> str:
    if fmt == "qa-m":
        return QA_M_TEMPLATE.format(aspect=aspect)
    if fmt in ("nli-m", "term"):
        return aspect
    if fmt in ("qa-b", "nli-b"):
        if polarity is None:
            raise ValueError(f"format {fmt} needs a polarity for its auxiliary sentence")
        template = QA_B_TEMPLATE if fmt == "qa-b" else NLI_B_TEMPLATE
        return template.format(aspect=aspect, polarity=polarity)
    raise ValueError(f"unknown ABSA format {fmt!r}; accepted: {', '.join(ABSA_FORMATS)}")


def find_word(text: str, phrase: str) -> tuple[int, int] | None:
    """First case-insensitive whole-word occurrence of phrase in text."""
    match = re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text, flags=re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def encode_absa(
    tokenizer: Any,
    review: str,
    aspect: str,
    fmt: str,
    max_length: int = 512,
    polarity: str | None = None,
    aspect_span: tuple[int, int] | None = None,
) -> EncodedInput:
    """One review–aspect pair in Sun et al.'s format `fmt`.

    spans["aspect_query"]: the aspect's tokens in the auxiliary sentence.
    spans["aspect_term"]: the aspect term's tokens in the review: `aspect_span` when
    given, else the first whole-word occurrence of the aspect (empty when the aspect is
    absent from the review, which is valid: the no-op case).
    """
    parts = _absa_parts(review, aspect, fmt, polarity, aspect_span)
    encoded = encode_segments(tokenizer, parts.text_a, parts.text_b, max_length, truncate_segment=parts.review_segment)
    return parts.mark_spans(encoded)


def encode_absa_pairs(
    tokenizer: Any, items: Sequence[tuple[str, str, str | None]], fmt: str, max_length: int = 512
) -> list[EncodedInput | InputError]:
    """`encode_absa` of many (review, aspect, polarity) items with one tokenizer call; an item that cannot be
    encoded gets its InputError in its place."""
    parts: list[_AbsaParts | InputError] = []
    for review, aspect, polarity in items:
        try:
            parts.append(_absa_parts(review, aspect, fmt, polarity, None))
        except InputError as exc:
            parts.append(exc)
    good = [p for p in parts if isinstance(p, _AbsaParts)]
    # one format, so one review segment: every pair truncates the same side
    segment = "a" if fmt in REVIEW_FIRST_FORMATS else "b"
    pairs = encode_segment_pairs(tokenizer, [(p.text_a, p.text_b) for p in good], max_length, truncate_segment=segment)
    encoded = {id(p): p.mark_spans(enc) for p, enc in zip(good, pairs)}
    return [p if isinstance(p, InputError) else encoded[id(p)] for p in parts]


@dataclass
class _AbsaParts:
    """One review–aspect pair laid out as its format's two segments, and where its spans lie."""

    text_a: str
    text_b: str
    review_segment: str
    auxiliary: str
    aspect: str
    term_span: tuple[int, int] | None

    def mark_spans(self, encoded: EncodedInput) -> EncodedInput:
        aux_segment = "b" if self.review_segment == "a" else "a"
        aux_start = self.auxiliary.find(self.aspect)
        encoded.spans["aspect_query"] = encoded.char_span_to_tokens(
            aux_segment, aux_start, aux_start + len(self.aspect)
        )
        encoded.spans["aspect_term"] = (
            encoded.char_span_to_tokens(self.review_segment, *self.term_span) if self.term_span else []
        )
        return encoded


def _absa_parts(
    review: str, aspect: str, fmt: str, polarity: str | None, aspect_span: tuple[int, int] | None
) -> _AbsaParts:
    review, aspect = review.strip(), aspect.strip()
    if not review:
        raise InputError("text is empty: give a review sentence", field="text")
    if not aspect:
        raise InputError(
            "aspect is empty: give an aspect category (e.g. food) or a term from the review", field="aspect"
        )
    if aspect_span is not None:
        check_span("aspect_span", aspect_span, review)
    auxiliary = auxiliary_sentence(fmt, aspect, polarity)
    review_first = fmt in REVIEW_FIRST_FORMATS
    text_a, text_b = (review, auxiliary) if review_first else (auxiliary, review)
    return _AbsaParts(
        text_a, text_b, "a" if review_first else "b", auxiliary, aspect, aspect_span or find_word(review, aspect)
    )


def check_span(name: str, span: tuple[int, int], text: str) -> None:
    """InputError unless `span` is a [start, end) character range of `text` holding at least one character."""
    start, end = span
    if start >= end:
        raise InputError(f"{name} [{start}, {end}] is empty or reversed: give [start, end) with start < end", name)
    if not (0 <= start and end <= len(text)):
        raise InputError(f"{name} [{start}, {end}] is outside the text (0..{len(text)})", field=name)


# --- Relation extraction ----------------------------------------------------------------


# --- Word level ---------------------------------------------------------------------------


def to_word_level(encoded: EncodedInput) -> EncodedInput:
    """Tokens merged into words (text from the original characters); spans mapped to words."""
    groups: dict[int, list[Token]] = {}
    for token in encoded.tokens:
        groups.setdefault(token.word, []).append(token)
    words: list[Token] = []
    for index in sorted(groups):
        pieces = groups[index]
        first, last = pieces[0], pieces[-1]
        if first.special or first.marker:
            words.append(replace(first, word=index))
        else:
            text = encoded.segments[first.segment][first.start : last.end]
            words.append(Token(text, first.start, last.end, first.segment, False, False, index))
    spans = {name: sorted({encoded.tokens[i].word for i in idx}) for name, idx in encoded.spans.items()}
    return replace(encoded, tokens=words, spans=spans)


@dataclass
class LabelledInput:
    encoded: EncodedInput
    label: int
    group: str  # examples of one group (e.g. one sentence's aspects) stay on one side of the dev split

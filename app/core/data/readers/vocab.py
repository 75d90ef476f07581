"""Label vocabularies shared by the loaders, and the one place polarities are normalised."""

from __future__ import annotations

from collections.abc import Mapping

# Every loader yields these lower-case names whatever the file spells ("Positive", "POS"...),
# so training and evaluation code compares one vocabulary.
POLARITIES = ("positive", "negative", "neutral", "conflict")

# ASTE-Data-V2 abbreviates; conflicting triplets were removed from it, so there is no conflict code.
ASTE_POLARITY_CODES: Mapping[str, str] = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}

# SemEval-2010 Task 8: nine relations, each in both directions, plus Other: 19 labels.
SEMEVAL2010_RELATIONS = (
    "Cause-Effect",
    "Instrument-Agency",
    "Product-Producer",
    "Content-Container",
    "Entity-Origin",
    "Entity-Destination",
    "Component-Whole",
    "Member-Collection",
    "Message-Topic",
)
SEMEVAL2010_OTHER = "Other"
SEMEVAL2010_LABELS = tuple(
    f"{relation}({direction})" for relation in SEMEVAL2010_RELATIONS for direction in ("e1,e2", "e2,e1")
) + (SEMEVAL2010_OTHER,)


def normalize_polarity(raw: object, accepted: tuple[str, ...] = POLARITIES) -> str | None:
    """The canonical polarity for `raw` (case-insensitive), or None when it is not one of `accepted`."""
    if not isinstance(raw, str):
        return None
    polarity = raw.strip().lower()
    return polarity if polarity in accepted else None

"""SentiHood JSON: a list of {"id", "text", "opinions": [{"target_entity", "aspect", "sentiment"}]}.

Location names are masked as LOCATION1 / LOCATION2. Sentences without opinions are kept (the
published sentence counts include them). Texts keep their leading spaces so spans stay exact.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.core.data.readers.dataset_error import DatasetError, shorten
from app.core.data.readers.examples import TargetedOpinion, TargetedSentence, TargetMention, char_span
from app.core.data.readers.textio import read_text
from app.core.data.readers.vocab import normalize_polarity

SENTIHOOD_POLARITIES = ("positive", "negative")


def find_mentions(text: str, target: str) -> list[TargetMention]:
    """Every occurrence of `target` in text.

    No word boundary on the left: the masking glued some names to their neighbours
    ("LOCATION1the", "wLOCATION1dential"). No digit on the right, so LOCATION1 never matches inside LOCATION12.
    """
    pattern = re.escape(target) + r"(?!\d)"
    return [TargetMention(target, char_span(text, m.start(), m.end())) for m in re.finditer(pattern, text)]


def parse_opinion(path: Path, where: str, raw: Any) -> TargetedOpinion:
    expected = 'expected {"target_entity": "LOCATION1", "aspect": "...", "sentiment": "Positive" or "Negative"}'
    if not isinstance(raw, dict):
        raise DatasetError(path, where, f"opinion {shorten(raw)}: {expected}")
    target, aspect = raw.get("target_entity"), raw.get("aspect")
    if not isinstance(target, str) or not target or not isinstance(aspect, str) or not aspect:
        raise DatasetError(path, where, f"opinion {shorten(raw)}: {expected}")
    polarity = normalize_polarity(raw.get("sentiment"), SENTIHOOD_POLARITIES)
    if polarity is None:
        raise DatasetError(
            path, where, f"opinion sentiment {shorten(raw.get('sentiment'))}: expected Positive or Negative"
        )
    return TargetedOpinion(target, aspect, polarity)


def parse_item(path: Path, raw: Any, position: int) -> TargetedSentence:
    where = f"item #{position}" + (f" (id {raw.get('id')})" if isinstance(raw, dict) and "id" in raw else "")
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not isinstance(raw.get("opinions"), list):
        raise DatasetError(path, where, 'expected an object with "id", "text" (a string) and "opinions" (a list)')
    text = raw["text"]
    opinions = tuple(parse_opinion(path, where, opinion) for opinion in raw["opinions"])
    targets = sorted({opinion.target for opinion in opinions})
    mentions = tuple(sorted((m for t in targets for m in find_mentions(text, t)), key=lambda m: m.span.start))
    return TargetedSentence(str(raw.get("id", position)), text, opinions, mentions)


def load_sentihood(path: Path | str) -> list[TargetedSentence]:
    path = Path(path)
    try:
        items = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DatasetError(path, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(items, list):
        raise DatasetError(path, None, "expected a JSON list of sentences (SentiHood layout)")
    return [parse_item(path, item, position) for position, item in enumerate(items, 1)]

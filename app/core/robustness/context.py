"""What the offline test generators are given besides the sources, and the error a request that cannot run gets.

Generation is pure and deterministic: every random choice comes from `GenerationContext.rng(test,
source)`, seeded by (seed, test, source index), so a source's variants do not depend on which other
sources are in the suite.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.data.readers import OpinionLexicon
from app.core.inputs.units import UnitSpec


class SuiteError(ValueError):
    """A test name, test or data the request cannot use; the message says what is accepted (the web: 422).

    `accepted` lists the accepted values where there is a list (e.g. the test names for the task).
    """

    def __init__(self, message: str, accepted: Sequence[str] = ()):
        super().__init__(message)
        self.accepted = list(accepted)


@dataclass(frozen=True)
class GenerationContext:
    """seed: every random choice; wordnet: an nltk WordNet reader (robustness.wordnet.load_wordnet) or None;
    lexicon: the Hu & Liu opinion lexicon or None; training: the training examples (RE: RelationExample;
    ABSA: AbsaSentence, TripletSentence or UnitSpec) or None; inside_entities: random perturbations may edit
    the entity / aspect words too; mask_token: what masks a word (the checkpoint tokenizer's mask token);
    rules_per_relation: the selection-bias words kept per relation (DiagnoseRE: 5)."""

    seed: int = 0
    wordnet: Any = None
    lexicon: OpinionLexicon | None = None
    training: Sequence[Any] | None = None
    inside_entities: bool = False
    mask_token: str = "[MASK]"
    rules_per_relation: int = 5

    def rng(self, test: str, source: int) -> random.Random:
        # A string seed is hashed with sha512 by random.Random: stable across runs and PYTHONHASHSEED.
        return random.Random(f"{self.seed}/{test}/{source}")


def task_of(sources: Sequence[UnitSpec]) -> str:
    """ "re" when the sources are relation examples, else "absa" (mixed sources are refused)."""
    kinds = {spec.relation is not None for spec in sources}
    if len(kinds) > 1:
        raise SuiteError("the sources mix relation examples and ABSA pairs: give one task's data")
    return "re" if kinds == {True} else "absa"


class RobustnessInputError(ValueError):
    """A request the run cannot serve (the web's 422); `accepted` lists what would be accepted."""

    def __init__(self, message: str, accepted: Sequence[str] = ()):
        super().__init__(message)
        self.accepted = list(accepted)

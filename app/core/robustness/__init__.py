"""Robustness diagnosis: variants of the user's labelled pairs, scored by the checkpoint, with the heads that moved."""

from app.core.robustness.attacks import AttackOutcome, attack
from app.core.robustness.augment import augment_examples

__all__ = ["AttackOutcome", "attack", "augment_examples"]

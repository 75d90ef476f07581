"""Adversarial attacks (DiagnoseRE's Q2): PWWS and HotFlip over the model's own word pieces.

runner.py attacks every source; pwws.py and hotflip.py search for a flip; model_queries.py scores
token-id rows within a query budget; word_rows.py builds those rows without re-tokenising."""

from app.core.robustness.attacks.runner import (
    DEFAULT_BUDGET,
    METHODS,
    STATUSES,
    TEST_NAMES,
    AttackOutcome,
    attack,
    check_attack_args,
)

__all__ = ["DEFAULT_BUDGET", "METHODS", "STATUSES", "TEST_NAMES", "AttackOutcome", "attack", "check_attack_args"]

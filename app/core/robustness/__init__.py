"""Robustness diagnosis: variants of the user's labelled pairs, scored by the checkpoint, with the heads that moved."""

"""Statistics over examples: the bootstrap confidence interval (bootstrap.py), streaming accumulators
that keep no attention matrix (streaming.py) and the one place results are rounded for JSON
(rounding.py)."""

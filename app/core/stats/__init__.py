"""Statistics over examples: the bootstrap confidence interval (bootstrap.py), streaming accumulators
that keep no attention matrix (streaming.py), how far head sets of several runs agree (head_overlap.py), a
figure's spread over the seeds of a group (seed_spread.py) and the one place results are rounded for JSON
(rounding.py)."""

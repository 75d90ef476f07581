"""The benchmarks' one timing loop: a candidate against its baseline in the same run, alternated.

Each round times both back to back, who goes first alternating, each side's time the median of `repeats`
runs, so load from other processes on a shared machine hits both alike; the verdict reads the median of
the rounds' ratios, beside the mean of the ratios with its 95% percentile bootstrap CI over the rounds
(app.core.stats.bootstrap, n = rounds): on a loaded machine single rounds jump.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

Work = Callable[[], object]


def timed(work: Work) -> float:
    """Seconds of one call of `work`."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def median_time(work: Work, repeats: int) -> float:
    """The median of `repeats` timed calls of `work`, in seconds."""
    return statistics.median(timed(work) for _ in range(repeats))


@dataclass
class Rounds:
    """Per round: the candidate's and the baseline's median seconds and their ratio."""

    candidate: list[float]
    baseline: list[float]

    @property
    def ratios(self) -> list[float]:
        return [c / b for c, b in zip(self.candidate, self.baseline)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def ci(self) -> tuple[float, float]:
        """95% percentile bootstrap CI of the mean ratio over the rounds (2,000 resamples, seed 0)."""
        import torch

        from app.core.stats.bootstrap import bootstrap_ci

        low, high = bootstrap_ci(torch.tensor(self.ratios)[:, None], 2000, seed=0)
        return float(low[0]), float(high[0])


def alternated(candidate: Work, baseline: Work, rounds: int, repeats: int) -> Rounds:
    """`rounds` rounds of both sides back to back, the candidate first in even rounds."""
    found = Rounds([], [])
    for round_ in range(rounds):
        if round_ % 2:
            base, cand = median_time(baseline, repeats), median_time(candidate, repeats)
        else:
            cand, base = median_time(candidate, repeats), median_time(baseline, repeats)
        found.candidate.append(cand)
        found.baseline.append(base)
    return found


def compare(name: str, candidate: Work, baseline: Work, rounds: int, repeats: int, target: float) -> Rounds:
    """Time `candidate` against `baseline` (`alternated`) and print the line the benchmark reports: the median
    times, the median ratio against `target` (at most), the mean ratio with its CI and every round's ratio."""
    found = alternated(candidate, baseline, rounds, repeats)
    low, high = found.ci()
    verdict = "ok" if found.ratio <= target else "over target"
    print(
        f"{name}: {statistics.median(found.candidate) * 1000:.2f} ms vs baseline "
        f"{statistics.median(found.baseline) * 1000:.2f} ms -> ratio {found.ratio:.3f} (target <= {target}; "
        f"{verdict}; mean of rounds {statistics.mean(found.ratios):.3f} [95% CI {low:.3f}, {high:.3f}], "
        f"n = {rounds}; rounds {', '.join(f'{r:.3f}' for r in found.ratios)})"
    )
    return found

"""A report over seed groups: what survives another seed.

A report's entries are seed groups (`NAME@13,14,15`: one recipe fine-tuned once per seed) and single
checkpoints. Every member is reported as any checkpoint is (run.py); this module reads those per-checkpoint
results and gives, per entry and figure of the summary rows, the mean, the spread (sample SD and min–max) and the
per-seed values; per reliability bin and per point of the ROC curves the same; and for every two groups that share
seeds, a paired comparison per figure: the difference per shared seed (second group minus first), its mean, and
the 95% t-interval over those n seeds (mean ± t(0.975, n−1) · SD / √n; the seeds are the sample, the test
inputs are fixed), and whether it excludes 0. Pure functions over the result dicts: no model work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from app.core.model.checkpoint import CheckpointInfo
from app.core.model.seed_groups import SeedGroup, is_group, resolve_group
from app.core.stats.seed_spread import spread

LEVEL = 0.95
# The summary rows' figures that are summarised per entry and compared per seed.
FIGURES = (
    "in_distribution",
    "in_distribution_f1",
    "shift",
    "shift_f1",
    "adversarial",
    "ece",
    "ece_scaled",
    "auroc",
    "interpretability",
    "interpretability_random",
    "interpretability_pretrained",
)
ROC_GRID = 21  # false-positive rates 0, 0.05, ..., 1 at which the members' ROC curves are averaged
INTERVAL = (
    "95% t-interval over the n seeds both groups share: mean difference ± t(0.975, n − 1) · SD / √n, "
    "SD the sample SD of the per-seed differences (second group minus first)"
)

Entry = SeedGroup | str  # a seed group, or one checkpoint id


def t_interval(differences: Sequence[float], level: float = LEVEL) -> dict[str, Any]:
    """Mean, SD and the two-sided t-interval of the differences over n (None under two)."""
    d = np.asarray(differences, dtype=float)
    n = len(d)
    if n < 2:
        return {
            "mean": float(d.mean()) if n else None,
            "sd": None,
            "n": n,
            "low": None,
            "high": None,
            "excludes_zero": None,
            "level": level,
        }
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    half = float(student_t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    return {
        "mean": mean,
        "sd": sd,
        "n": n,
        "low": low,
        "high": high,
        "excludes_zero": bool(low > 0 or high < 0),
        "level": level,
    }


def resolve_entries(texts: Sequence[str], infos: Sequence[CheckpointInfo]) -> list[Entry]:
    """`--model` values as entries: `NAME@SEEDS` a seed group (a CheckpointError saying what is wrong and what is
    accepted), anything else a checkpoint id."""
    return [resolve_group(text, infos) if is_group(text) else text for text in texts]


def checkpoint_ids(entries: Sequence[Entry]) -> list[str]:
    """Every checkpoint the entries run, in order (a checkpoint in two entries appears twice)."""
    return [model for entry in entries for _, model in members(entry)]


def grouped(entries: Sequence[Entry]) -> bool:
    """Whether any entry is a seed group (a report of single checkpoints has no seed-group summary)."""
    return any(isinstance(entry, SeedGroup) for entry in entries)


def members(entry: Entry) -> list[tuple[int | None, str]]:
    return list(entry.members) if isinstance(entry, SeedGroup) else [(None, entry)]


def label(entry: Entry) -> str:
    return entry.label if isinstance(entry, SeedGroup) else entry


def seed_summary(result: dict[str, Any], entries: Sequence[Entry]) -> dict[str, Any]:
    """Per entry its figures' spread, reliability bins and mean ROC curves; per two groups sharing seeds the
    paired differences. `result` is run_report's, over every entry's members."""
    rows = {row["model"]: row for row in result["summary"]["rows"]}
    models = {model["id"]: model for model in result["models"]}
    summarised = [entry_summary(entry, rows, models) for entry in entries]
    groups = [entry for entry in entries if isinstance(entry, SeedGroup)]
    paired = [paired_figures(a, b, rows) for a, b in combinations(groups, 2) if set(a.seeds) & set(b.seeds)]
    return {"entries": summarised, "paired": paired, "level": LEVEL, "interval": INTERVAL}


def entry_summary(entry: Entry, rows: dict[str, dict], models: dict[str, dict]) -> dict[str, Any]:
    pairs = members(entry)
    first = rows[pairs[0][1]]
    return {
        "label": label(entry),
        "group": isinstance(entry, SeedGroup),
        "members": [{"seed": seed, "model": model} for seed, model in pairs],
        "task": first["task"],
        "method": first["method"],
        "accuracy_name": first["accuracy_name"],
        "f1_name": first["f1_name"],
        "figures": {key: spread([(s, m, rows[m][key]) for s, m in pairs]) for key in FIGURES},
        "reliability": reliability_spread([(s, m, models[m]["calibration"]) for s, m in pairs]),
        "roc": roc_spread([(s, m, models[m]["anomaly"]["sets"]) for s, m in pairs]),
    }


def _bins(
    diagrams: list[tuple[int | None, str, list[dict] | None]], key: str = "accuracy"
) -> list[dict[str, Any]] | None:
    """Per bin the spread of the members' accuracy (a member whose bin is empty gives no value there)."""
    present = [(s, m, d) for s, m, d in diagrams if d]
    if not present:
        return None
    return [
        {
            "low": bin_["low"],
            "high": bin_["high"],
            "count": spread([(s, m, d[b]["count"]) for s, m, d in present])["mean"],
            **spread([(s, m, d[b][key]) for s, m, d in present]),
        }
        for b, bin_ in enumerate(present[0][2])
    ]


def reliability_spread(calibrations: list[tuple[int | None, str, dict]]) -> dict[str, Any]:
    """The test set's reliability bins before and after scaling, and each shifted set's, over the members."""
    tests = [(s, m, c["in_distribution"]) for s, m, c in calibrations]
    shift_names = [s["name"] for s in calibrations[0][2]["shift"]]
    return {
        "name": tests[0][2]["name"],
        "bins": _bins([(s, m, c["reliability"]) for s, m, c in tests]),
        "bins_scaled": _bins([(s, m, c.get("reliability_scaled")) for s, m, c in tests]),
        "ece": spread([(s, m, c["ece"]) for s, m, c in tests]),
        "ece_scaled": spread([(s, m, c["ece_scaled"]) for s, m, c in tests]),
        "temperature": spread([(s, m, c["temperature"]) for s, m, c in calibrations]),
        "shift": [
            {
                "name": name,
                "bins": _bins([(s, m, _named(c["shift"], name).get("reliability")) for s, m, c in calibrations]),
                "ece": spread([(s, m, _named(c["shift"], name).get("ece")) for s, m, c in calibrations]),
            }
            for name in shift_names
        ],
    }


def _named(sets: list[dict], name: str) -> dict:
    return next((s for s in sets if s["name"] == name), {})


def tpr_at(fpr: Sequence[float], tpr: Sequence[float], grid: np.ndarray) -> np.ndarray:
    """The ROC curve's true-positive rate at each false-positive rate of the grid, linear between its points
    (vertical averaging, Fawcett 2006); where the curve rises at one false-positive rate, the top of the rise."""
    f, r = np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)
    after = np.clip(np.searchsorted(f, grid, side="right"), 1, len(f) - 1)  # the first point right of each rate
    before = after - 1  # the last point at or left of it: at a rise, its top
    width = f[after] - f[before]
    share = np.where(width > 0, (grid - f[before]) / np.where(width > 0, width, 1.0), 1.0)
    return r[before] + np.clip(share, 0.0, 1.0) * (r[after] - r[before])


def roc_spread(anomaly: list[tuple[int | None, str, list[dict]]]) -> list[dict[str, Any]]:
    """Per out-of-domain set the members have: the mean ROC curve on a fixed FPR grid with its spread, and AUROC."""
    grid = np.linspace(0.0, 1.0, ROC_GRID)
    out = []
    for name in [s["name"] for s in anomaly[0][2]]:
        curves = [(s, m, _named(sets, name)) for s, m, sets in anomaly]
        curves = [(s, m, c) for s, m, c in curves if c]
        at = [(s, m, tpr_at(c["roc"]["fpr"], c["roc"]["tpr"], grid)) for s, m, c in curves]
        out.append(
            {
                "name": name,
                "fpr": grid.tolist(),
                "tpr": [spread([(s, m, float(r[k])) for s, m, r in at]) for k in range(len(grid))],
                "auroc": spread([(s, m, c["auroc"]) for s, m, c in curves]),
            }
        )
    return out


def paired_figures(a: SeedGroup, b: SeedGroup, rows: dict[str, dict]) -> dict[str, Any]:
    """Per figure, on the seeds both groups have: b − a per seed and its t-interval over those seeds."""
    ids_a, ids_b = dict(a.members), dict(b.members)
    shared = [seed for seed in a.seeds if seed in ids_b]
    figures = {}
    for key in FIGURES:
        per_seed = []
        for seed in shared:
            va, vb = rows[ids_a[seed]][key], rows[ids_b[seed]][key]
            if va is not None and vb is not None:
                per_seed.append({"seed": seed, "a": va, "b": vb, "difference": vb - va})
        figures[key] = {"per_seed": per_seed, **t_interval([d["difference"] for d in per_seed])}
    return {"a": a.label, "b": b.label, "seeds": shared, "figures": figures}

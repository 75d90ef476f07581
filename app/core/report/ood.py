"""Anomaly (out-of-domain) detection by the maximum softmax probability (Hendrycks & Gimpel 2017).

Score: each input's top-1 softmax probability. Positives: the in-distribution test inputs; negatives:
the out-of-domain inputs. scikit-learn computes AUROC (`roc_auc_score`), AUPR with the in-distribution
inputs as positives ("AUPR-In", `average_precision_score`) and the ROC curve (`roc_curve`); FPR at 95%
TPR is the smallest false-positive rate among the curve's points whose true-positive rate is >= 0.95:
the share of out-of-domain inputs still accepted when 95% of in-distribution ones are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

TPR_LEVEL = 0.95


class EmptySetError(ValueError):
    """An anomaly set with no inputs on one side."""


def max_softmax(probabilities: np.ndarray) -> np.ndarray:
    return np.asarray(probabilities).max(axis=-1)


def fpr_at_tpr(fpr: np.ndarray, tpr: np.ndarray, level: float = TPR_LEVEL) -> float:
    reached = tpr >= level
    return float(fpr[reached].min()) if reached.any() else 1.0


def thin(fpr: np.ndarray, tpr: np.ndarray, points: int) -> tuple[list[float], list[float]]:
    """At most `points` points of the curve, evenly spaced along it, both ends kept."""
    if len(fpr) <= points:
        return fpr.tolist(), tpr.tolist()
    keep = np.unique(np.linspace(0, len(fpr) - 1, points).round().astype(int))
    return fpr[keep].tolist(), tpr[keep].tolist()


def anomaly_scores(inside: np.ndarray, outside: np.ndarray, roc_points: int = 101) -> dict[str, Any]:
    """AUROC, AUPR-In, FPR at 95% TPR and the ROC curve for in-distribution vs out-of-domain scores."""
    inside, outside = np.asarray(inside, dtype=float), np.asarray(outside, dtype=float)
    if len(inside) == 0 or len(outside) == 0:
        raise EmptySetError(
            f"anomaly detection needs inputs on both sides: {len(inside)} in-distribution, {len(outside)} out-of-domain"
        )
    y = np.concatenate([np.ones(len(inside)), np.zeros(len(outside))])
    s = np.concatenate([inside, outside])
    fpr, tpr, _ = roc_curve(y, s)
    curve_fpr, curve_tpr = thin(fpr, tpr, roc_points)
    return {
        "auroc": float(roc_auc_score(y, s)),
        "aupr": float(average_precision_score(y, s)),
        "fpr_at_95_tpr": fpr_at_tpr(fpr, tpr),
        "n_in": int(len(inside)),
        "n_out": int(len(outside)),
        "mean_score_in": float(inside.mean()),
        "mean_score_out": float(outside.mean()),
        "roc": {"fpr": curve_fpr, "tpr": curve_tpr},
    }

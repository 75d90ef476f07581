"""Calibration of top-1 confidence: ECE before and after temperature scaling, and reliability diagrams.

ECE (Naeini et al. 2015; Guo et al. 2017): the confidences c_i = max_k p_ik fall into `bins` equal-width
bins of [0, 1]; ECE = sum over bins of (n_b / n) |acc_b - conf_b|, acc_b the share of the bin's top-1
predictions that are right, conf_b their mean confidence. Computed by torchmetrics
(`binary_calibration_error` on (confidence, correct), which is exactly this top-1 definition and also
counts as wrong an input whose gold label the model does not have). The diagram's bins are torchmetrics'
own: the same edges (linspace(0, 1, B + 1) in float64) and the same rule (`bucketize(right=True)`), so a
confidence on an edge falls in the same bin in both; only a confidence of exactly 1.0, which torchmetrics
gives a bin of its own, is drawn in the last one (the two agree unless some confidence is exactly 1.0).

Temperature scaling (Guo et al. 2017): one T > 0 for all logits, fitted on a held-out dev split by
minimising the negative log-likelihood of softmax(z / T) (scipy's bounded scalar search on log T),
then applied to the test (and shifted) logits; accuracy does not change, confidence does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from scipy.optimize import minimize_scalar
from torchmetrics.functional.classification import binary_calibration_error

MIN_DEV = 10  # fewer dev inputs with a known label: no temperature is fitted


def top1(probabilities: torch.Tensor, gold: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(confidence [N], correct [N] as 0/1) of the top-1 prediction; gold -1 (a label the model lacks) is wrong."""
    confidence, predicted = probabilities.max(-1)
    return confidence, (predicted == gold).to(probabilities.dtype)


def expected_calibration_error(probabilities: torch.Tensor, gold: torch.Tensor, bins: int = 10) -> float | None:
    """ECE of the top-1 confidence in `bins` equal-width bins (torchmetrics); None for no inputs."""
    if probabilities.shape[0] == 0:
        return None
    confidence, correct = top1(probabilities.double(), gold)
    return float(binary_calibration_error(confidence, correct.long(), n_bins=bins, norm="l1"))


def reliability(probabilities: torch.Tensor, gold: torch.Tensor, bins: int = 10) -> list[dict[str, Any]]:
    """Per bin [low, high): inputs, their accuracy and mean confidence (null when the bin is empty)."""
    confidences, correctness = top1(probabilities.double(), gold)
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)  # torchmetrics' edges and binning rule
    index = (torch.bucketize(confidences, edges, right=True) - 1).clamp(max=bins - 1).numpy()
    confidence, correct = confidences.numpy(), correctness.numpy()
    out = []
    for b in range(bins):
        inside = index == b
        count = int(inside.sum())
        out.append(
            {
                "low": b / bins,
                "high": (b + 1) / bins,
                "count": count,
                "accuracy": float(correct[inside].mean()) if count else None,
                "confidence": float(confidence[inside].mean()) if count else None,
            }
        )
    return out


def negative_log_likelihood(logits: torch.Tensor, gold: torch.Tensor, temperature: float) -> float:
    return float(torch.nn.functional.cross_entropy(logits.double() / temperature, gold))


def fit_temperature(logits: torch.Tensor, gold: torch.Tensor) -> float | None:
    """The T > 0 minimising the dev NLL of softmax(logits / T) (inputs with gold -1 left out); None below MIN_DEV."""
    known = gold >= 0
    logits, gold = logits[known].double(), gold[known]
    if logits.shape[0] < MIN_DEV:
        return None
    found = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, gold, math.exp(log_t)),
        bounds=(-4.0, 4.0),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(math.exp(found.x))


@dataclass
class Calibration:
    """One set's calibration: ECE and the diagram before and after scaling by `temperature`."""

    n: int
    ece: float | None
    ece_scaled: float | None
    reliability: list[dict[str, Any]]
    reliability_scaled: list[dict[str, Any]] | None
    accuracy: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "ece": self.ece,
            "ece_scaled": self.ece_scaled,
            "accuracy": self.accuracy,
            "reliability": self.reliability,
            "reliability_scaled": self.reliability_scaled,
        }


def calibration(logits: torch.Tensor, gold: torch.Tensor, temperature: float | None, bins: int) -> Calibration:
    """ECE and reliability of one set's logits, before and (with a temperature) after scaling."""
    probabilities = logits.double().softmax(-1)
    scaled = (logits.double() / temperature).softmax(-1) if temperature else None
    _, correct = top1(probabilities, gold)
    return Calibration(
        n=int(logits.shape[0]),
        ece=expected_calibration_error(probabilities, gold, bins),
        ece_scaled=expected_calibration_error(scaled, gold, bins) if scaled is not None else None,
        reliability=reliability(probabilities, gold, bins),
        reliability_scaled=reliability(scaled, gold, bins) if scaled is not None else None,
        accuracy=float(correct.mean()) if len(correct) else None,
    )

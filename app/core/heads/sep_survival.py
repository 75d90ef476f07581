"""[SEP] survival: how much of the no-op heads' [SEP] attention remains under norm-based weighting.

In an analysis with attention="norm" every statistic and label reads norm-based attention
(app.core.model.norm_attention, each row divided by its sum). This section answers the question the
labels on the attention weights raise (Kobayashi et al. 2020: BERT "pays poor attention to special
tokens" once the size of the transformed value vectors is counted). The no-op heads here are those the
labelling rule (labels.py) gives "no-op" on the attention *weights*: the no-op contrast of the weights'
[SEP] mass against the uniform and positional baselines and, with a pretrained model, the pretrained
same head's weights. For each, with [SEP] mass the statistic query_sep_mass (from the query to [SEP]):

    share = mean over pairs of the norm-based [SEP] mass / mean over pairs of the weights' [SEP] mass

over all pairs and over the pairs whose aspect is absent (where a no-op head parks on [SEP]), each with a
paired percentile bootstrap 95% CI (app.core.stats.bootstrap.bootstrap_ratio_ci). 1: the head's [SEP]
attention is all still there; near 0: it falls on short value vectors and moves little of the output. Above 1: the rows
gained [SEP] mass, e.g. where the weights sat on a token whose transformed vector is shorter still ([CLS] in
MiniLM) and dividing by the row sum hands that share to the rest.
Beside the no-op heads (`no_op` true) the section lists the TOP heads with the largest no-op contrast on
the weights (`no_op` false when unlabelled), so a checkpoint without no-op heads still shows where its
[SEP] contrast lives. ABSA pairs only (the no-op contrast needs the aspect's presence).

With the selection "top_sep" (the analysis setting sep_heads) the section lists instead the TOP heads with
the most [SEP] attention on the weights, Clark et al. (2019)'s broad [SEP] heads, with [SEP] mass the
statistic to_sep (every real token -> [SEP], averaged over the tokens, as Clark et al. measure it): it needs
no aspect-absent pair, so it applies to term data and relations (ABSA and RE), where the no-op contrast is
undefined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.core.heads import probes
from app.core.heads.batched import batch_statistics
from app.core.heads.labels import LabelRule, beats_baselines
from app.core.passes.attention_pass import PassBatch
from app.core.stats.bootstrap import bootstrap_ratio_ci
from app.core.stats.streaming import NoOpContrast, StatisticAccumulator

SELECTIONS = ("no_op", "top_sep")  # which heads the section follows (module docstring)
TO_SEP = "to_sep"  # the top-[SEP] selection's statistic: every real token -> [SEP]
TOP = 5  # heads with the largest no-op contrast on the weights, listed even when unlabelled
DEFINITION = (
    "share of a head's [SEP] mass (query -> [SEP], query_sep_mass) that remains under norm-based attention "
    "(Kobayashi et al. 2020, rows divided by their sums): mean norm-based / mean weights over the pairs, "
    "paired percentile bootstrap 95% CI; no-op heads as labelled on the attention weights"
)
TOP_SEP_DEFINITION = (
    "share of a head's [SEP] mass (every real token -> [SEP], to_sep) that remains under norm-based attention "
    "(Kobayashi et al. 2020, rows divided by their sums): mean norm-based / mean weights over the pairs, "
    "paired percentile bootstrap 95% CI; the heads with the most [SEP] mass on the weights (Clark et al. 2019)"
)


class SepSurvivalProbe:
    """Per pair and head, the [SEP] mass on the weights and on the norm-based attention (with attention="norm")."""

    timing = "sep_survival"

    def __init__(self, task: str, selection: str = "no_op") -> None:
        self.task, self.selection = task, selection
        self.weights, self.norm = NoOpContrast(), NoOpContrast()  # per-pair [SEP] mass, split by aspect presence
        self.pretrained = probes.StatisticMeans()  # the pretrained model's weights, for the no-op label's baseline
        self.to_sep = StatisticAccumulator()  # "top_sep": per-pair to_sep, as "weights" and "norm"

    def observe(self, batch: PassBatch) -> None:
        assert batch.weights is not None, "the [SEP] survival probe runs in a pass with attention='norm'"
        if self.selection == "top_sep":
            masks = probes.token_masks(batch, self.task)
            self.to_sep.add("weights", batch_statistics(self.task, batch.weights, masks)[TO_SEP])
            self.to_sep.add("norm", probes.host_statistics(batch, self.task)[TO_SEP])
            return
        rows = probes.presence_rows(batch, self.task)
        known = sorted(rows[True] + rows[False])
        if not known:
            return
        masks = probes.token_masks(batch, self.task)
        present = torch.tensor([row in rows[True] for row in known])
        on_weights = batch_statistics(self.task, batch.weights, masks)[probes.SEP]
        self.weights.add(on_weights[known].cpu(), present)
        self.norm.add(probes.host_statistics(batch, self.task)[probes.SEP][known], present)
        if batch.reference_weights is not None:
            reference = batch_statistics(self.task, batch.reference_weights, masks)[probes.SEP].cpu()
            self.pretrained.add({probes.SEP: reference}, rows)

    def merge(self, other: SepSurvivalProbe) -> None:
        self.weights.merge(other.weights)
        self.norm.merge(other.norm)
        self.pretrained.merge(other.pretrained)
        self.to_sep.merge(other.to_sep)


@dataclass
class SepSurvival:
    definition: str
    pairs: int
    absent: int  # pairs whose aspect is absent
    heads: list[dict[str, Any]]  # the no-op heads (on the weights) and the TOP contrasts, with shares and CIs
    share_all_heads: torch.Tensor  # [L, H]: the share over all pairs for every head, for comparison
    labelled_by: str
    selection: str = "no_op"


def _share(norm: torch.Tensor, weights: torch.Tensor, iterations: int, seed: int) -> tuple[torch.Tensor, ...]:
    """(share, low, high), each [L, H], of mean(norm) / mean(weights) over the pairs [N, L, H]."""
    low, high = bootstrap_ratio_ci(norm, weights, iterations, seed)
    return norm.double().mean(0).div(weights.double().mean(0)).float(), low, high


def _listed(noop: torch.Tensor, contrast: torch.Tensor) -> list[tuple[int, int]]:
    """The no-op heads, then the TOP largest contrasts not among them, each by decreasing contrast."""
    order = torch.nan_to_num(contrast, nan=float("-inf")).flatten().argsort(descending=True).tolist()
    width = contrast.shape[1]
    heads = [(i // width, i % width) for i in order]
    labelled = [h for h in heads if noop[h]]
    return labelled + [h for h in heads if not noop[h]][:TOP]


def sep_survival(
    probe: SepSurvivalProbe, rules: probes.Means, with_pretrained: bool, rule: LabelRule, iterations: int, seed: int
) -> SepSurvival | None:
    """The section, or None when the pairs do not have the aspect both absent and present."""
    absent, present = probe.weights.counts
    if not (absent and present):
        return None
    contrast = probe.weights.summary(iterations, seed)  # the no-op statistic on the weights
    baselines = probes.baseline_table([probes.NOOP], rules, probe.pretrained if with_pretrained else None)
    noop = beats_baselines(contrast.low, baselines[probes.NOOP], rule) & (contrast.count >= rule.min_examples)
    on_weights = torch.cat([probe.weights.absent.values("sep"), probe.weights.present.values("sep")])
    on_norm = torch.cat([probe.norm.absent.values("sep"), probe.norm.present.values("sep")])
    share, low, high = _share(on_norm, on_weights, iterations, seed)
    share_absent, low_absent, high_absent = _share(
        probe.norm.absent.values("sep"), probe.weights.absent.values("sep"), iterations, seed
    )
    heads = [
        {
            "layer": layer,
            "head": head,
            "noop_contrast": {"score": float(contrast.mean[layer, head]), "low": float(contrast.low[layer, head])},
            "weights_sep_mass": float(on_weights[:, layer, head].mean()),
            "norm_sep_mass": float(on_norm[:, layer, head].mean()),
            "no_op": bool(noop[layer, head]),
            "share": float(share[layer, head]),
            "ci": [float(low[layer, head]), float(high[layer, head])],
            "share_absent": float(share_absent[layer, head]),
            "ci_absent": [float(low_absent[layer, head]), float(high_absent[layer, head])],
        }
        for layer, head in _listed(noop, contrast.mean)
    ]
    labelled_by = "uniform, positional" + (" and pretrained (its weights)" if with_pretrained else "") + " baselines"
    return SepSurvival(
        DEFINITION, absent + present, absent, heads, share, f"no-op on the weights against {labelled_by}"
    )


def top_sep_survival(probe: SepSurvivalProbe, iterations: int, seed: int) -> SepSurvival | None:
    """The section for the TOP heads with the most [SEP] mass on the weights (selection "top_sep"), or None."""
    on_weights, on_norm = probe.to_sep.values("weights"), probe.to_sep.values("norm")
    if on_weights.shape[0] == 0:
        return None
    share, low, high = _share(on_norm, on_weights, iterations, seed)
    mass, norm_mass = on_weights.double().mean(0), on_norm.double().mean(0)
    width = mass.shape[1]
    top = [divmod(i, width) for i in mass.flatten().argsort(descending=True)[:TOP].tolist()]
    heads = [
        {
            "layer": layer,
            "head": head,
            "noop_contrast": None,  # undefined without aspect-absent pairs
            "weights_sep_mass": float(mass[layer, head]),
            "norm_sep_mass": float(norm_mass[layer, head]),
            "no_op": False,
            "share": float(share[layer, head]),
            "ci": [float(low[layer, head]), float(high[layer, head])],
            "share_absent": None,
            "ci_absent": None,
        }
        for layer, head in top
    ]
    selected = f"the {TOP} heads with the most [SEP] mass (to_sep) on the weights"
    return SepSurvival(TOP_SEP_DEFINITION, on_weights.shape[0], 0, heads, share, selected, "top_sep")

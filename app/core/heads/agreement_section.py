"""The analysis result's `attribution` section: what the agreement statistics rest on, IG's figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.core.attribution import BASELINE
from app.core.heads.agreement_probe import IG, ROLLOUT, AgreementProbe

DEFINITIONS = {
    ROLLOUT: "per pair, the Spearman rank correlation between the head's attention row from the readout token ([CLS]; "
    "relation classifiers with entity-start pooling: the mean of the <e1>/<e2> start markers' rows) and the "
    "attention rollout from the same token (Abnar & Zuidema 2020; 0.5 * head mean + 0.5 * identity per layer), "
    "over the pair's content tokens (not [CLS]/[SEP]/entity markers); 0 where either is constant",
    IG: "the same with |integrated gradients| of the predicted label's logit on the word embeddings in place of the "
    "rollout",
}
IG_INTERPRETABILITY_DEFINITION = (
    "Stevens & Su's interpretability rate with |integrated gradients| (summed over a word's "
    "pieces) in place of the last layer's [CLS] attention summed over heads: share of pairs "
    "whose gold words lie in the top-3 words by attribution ([CLS]/[SEP] excluded)"
)


@dataclass
class IGSummary:
    steps: int
    examples: int
    baseline: str
    mean_abs_gap: float  # |sum of attributions - (logit(x) - logit(baseline))|
    mean_relative_gap: float  # the same over |logit(x) - logit(baseline)|
    max_relative_gap: float
    seconds: float
    pairs_per_s: float | None


@dataclass
class IGInterpretability:
    rate: float
    random: float
    attention_rate: float  # the attention-based rate of the same analysis (result.interpretability.rate)
    examples: int
    k: int
    definition: str


@dataclass
class AttributionSection:
    query: str
    metric: str
    definitions: dict[str, str]
    examples: dict[str, int]  # statistic -> pairs that carried it
    ig: IGSummary | None
    interpretability: IGInterpretability | None
    not_computed: dict[str, str]


def attribution_section(
    probe: AgreementProbe | None, attention_rate: float, ig_reason: str
) -> AttributionSection | None:
    """The section of a finished pass (None when the agreement probe did not run)."""
    if probe is None:
        return None
    examples = {name: probe.scores.count(name) for name in probe.scores.names}
    readout = "entity-start markers <e1>, <e2>" if probe.start_ids else "[CLS]"
    record, missing = (probe.ig.record if probe.ig is not None else None), {}
    ig = interpretability = None
    if probe.ig is not None and record is not None and record.examples:  # record: probe.ig's
        relative = torch.cat(record.relative_gaps)
        ig = IGSummary(
            steps=probe.ig.steps,
            examples=record.examples,
            baseline=BASELINE,
            mean_abs_gap=float(torch.cat(record.absolute_gaps).mean()),
            mean_relative_gap=float(relative.mean()),
            max_relative_gap=float(relative.max()),
            seconds=record.seconds,
            pairs_per_s=record.examples / record.seconds if record.seconds else None,
        )
        rate: dict[str, Any] = record.rate.to_json()
        if rate["examples"]:
            interpretability = IGInterpretability(
                rate=rate["rate"],
                random=rate["random"],
                attention_rate=attention_rate,
                examples=rate["examples"],
                k=rate["k"],
                definition=IG_INTERPRETABILITY_DEFINITION,
            )
        else:
            missing["interpretability"] = "no pair has gold words (aspect term / entities) to look for"
    else:
        missing["ig"] = ig_reason
    return AttributionSection(
        query=f"readout: {readout}",
        metric="spearman",
        definitions={name: DEFINITIONS[name] for name in examples},
        examples=examples,
        ig=ig,
        interpretability=interpretability,
        not_computed=missing,
    )

"""The dataset agreement as `headscope analyze` runs it: the probes to add to the pass, and what they add
to the result (per-head statistics with their baselines, support, the `attribution` section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.heads.agreement_probe import IG, AgreementProbe, IGProbe
from app.core.heads.agreement_section import AttributionSection, attribution_section
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.stats.streaming import Summary, TopExamples

IG_NOT_REQUESTED = "not requested (ig=False / --no-ig)"


@dataclass
class DatasetAgreement:
    agreement: AgreementProbe
    ig: IGProbe | None

    @property
    def probes(self) -> list[Any]:
        return [probe for probe in (self.agreement, self.ig) if probe is not None]

    def merge(
        self, summaries: dict[str, Summary], baselines: dict[str, dict[str, Any]], bootstrap: int, seed: int
    ) -> None:
        """Add the agreement statistics and their baselines to the analysis's own (before labelling)."""
        summaries.update(self.agreement.summaries(bootstrap, seed))
        baselines.update(self.agreement.baselines())

    def support(self) -> dict[str, Any]:
        """The support entry of the "attribution" label (result.support)."""
        count = self.agreement.scores.count(IG)
        source = (
            f"integrated gradients ({self.ig.steps} steps) of the predicted label on {count} pairs"
            if self.ig is not None and count
            else "absent: integrated gradients not run (ig=False / --no-ig)"
        )
        return {"examples": count, "source": source}

    def section(self, attention_rate: float) -> AttributionSection | None:
        return attribution_section(self.agreement, attention_rate, IG_NOT_REQUESTED)


def dataset_agreement(
    checkpoint: LoadedCheckpoint, settings: Any, typical: TopExamples | None
) -> DatasetAgreement | None:
    """The agreement probes for `settings` (AnalysisSettings: agreement, ig, ig_steps, ig_limit), or None when off."""
    if not settings.agreement:
        return None
    agreement = AgreementProbe(checkpoint, typical)
    ig = IGProbe(agreement, settings.ig_steps, settings.ig_limit) if settings.ig else None
    return DatasetAgreement(agreement, ig)


def settings_record(settings: Any) -> dict[str, Any]:
    """The agreement settings as the result file records them."""
    return {
        "agreement": settings.agreement,
        "ig": settings.ig,
        "ig_steps": settings.ig_steps,
        "ig_limit": settings.ig_limit,
    }


def summary_lines(section: AttributionSection | None) -> list[str]:
    """What `headscope analyze` prints about the agreement (IG's own pairs/s and completeness among it)."""
    if section is None:
        return []
    lines = [
        f"agreement with attribution ({section.metric}, from the {section.query}): "
        + ", ".join(f"{name} on {n} pairs" for name, n in section.examples.items())
    ]
    ig = section.ig
    if ig is None:
        lines.append(f"integrated gradients: {section.not_computed.get('ig', 'not computed')}")
        return lines
    speed = f"{ig.pairs_per_s:.2f} pairs/s" if ig.pairs_per_s else "–"
    lines.append(
        f"integrated gradients: {ig.examples} pairs x {ig.steps} steps, {speed}, completeness gap "
        f"mean {100 * ig.mean_relative_gap:.1f}% (max {100 * ig.max_relative_gap:.1f}%) of logit(x) - logit(x')"
    )
    rate = section.interpretability
    if rate is not None:
        lines.append(
            f"interpretability rate with IG instead of attention: {rate.rate:.3f} "
            f"(attention {rate.attention_rate:.3f}, random {rate.random:.3f}, {rate.examples} pairs)"
        )
    return lines

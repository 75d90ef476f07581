"""The analysis's probes (probes.py, the agreement with attribution) and the one attention pass that feeds them:
what `analyze` runs in one process, and what every shard runs (shards.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.data.readers import OpinionLexicon
from app.core.heads import agreement_dataset as attribution
from app.core.heads import probes
from app.core.heads.sep_survival import SepSurvivalProbe
from app.core.heads.settings import AnalysisSettings
from app.core.inputs.unit_batch import encode_unit_batch
from app.core.inputs.units import UnitSpec, encode_unit
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import PassSummary, Progress, Runner, Stopwatch, attention_pass, run_here
from app.core.passes.batch_size import batch_size_of
from app.core.passes.pipeline import idle_cores
from app.core.stats.streaming import Summary


def build_probes(
    checkpoint: LoadedCheckpoint, settings: AnalysisSettings, with_pretrained: bool, shard: bool = False
) -> AnalysisProbes:
    """The analysis's probes; `shard`: those of one shard of the data, made to be merged (`AnalysisProbes.merge`)."""
    found = AnalysisProbes.build(checkpoint.info.task, settings, with_pretrained)
    found.agreement = attribution.dataset_agreement(checkpoint, settings, found.typical.top)
    if shard:
        found.head_map = probes.HeadMapProbe(settings.js_sample, keep=True)
    return found


def statistics_pass(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    found: AnalysisProbes,
    settings: AnalysisSettings,
    pretrained: LoadedCheckpoint | None,
    lexicon: OpinionLexicon | None,
    max_length: int,
    *,
    runner: Runner = run_here,
    progress: Progress | None = None,
    stopwatch: Stopwatch | None = None,
    offset: int = 0,
    helpers: int | None = None,
) -> PassSummary:
    """The one attention pass of the analysis over `specs` (a shard's: pairs offset.. of the data); the next
    batch is tokenised, and the probes observe the last one, on helper threads while this one runs where cores are
    idle beside torch's threads (`idle_cores`, passes/pipeline.py). The fast
    tokenizer fans a batch out over every core, the busy ones included; with a single idle core it tokenises on
    the helper thread alone instead, leaving torch's core to torch (measured in docs/results/benchmarks.md),
    except the first batch, which torch waits for.
    helpers: the idle cores to use (default `idle_cores`; a shard among several workers on one machine: 0)."""
    idle = idle_cores(checkpoint.device) if helpers is None else helpers
    serial = 0 < idle <= 2  # a helper tokenises beside torch on the one or two idle cores: not fanned out over the rest
    return attention_pass(
        checkpoint,
        specs,
        lambda spec: encode_unit(checkpoint, spec, lexicon, max_length),
        found.active(),
        reference=pretrained,
        batch_size=batch_size_of(settings),
        runner=runner,
        progress=progress,
        phase="statistics",
        stopwatch=stopwatch,
        offset=offset,
        helpers=idle,
        attention_kind=settings.attention,
        encode_batch=lambda chunk, alone=False: encode_unit_batch(
            checkpoint, chunk, lexicon, max_length, serial=serial and not alone
        ),
    )


@dataclass
class AnalysisProbes:
    """The probes of one analysis by role (None: not run), and what they finished into."""

    statistics: probes.StatisticsProbe
    interpretability: probes.InterpretabilityProbe
    head_map: probes.HeadMapProbe
    rules: probes.RuleBaselinesProbe
    typical: probes.TypicalExamplesProbe
    pretrained: probes.PretrainedBaselineProbe | None = None
    pretrained_interpretability: probes.InterpretabilityProbe | None = None
    change: probes.FinetuneChangeProbe | None = None
    agreement: attribution.DatasetAgreement | None = None  # agreement with rollout / IG (app.core.attribution)
    sep_survival: SepSurvivalProbe | None = None  # attention="norm": the no-op (or top [SEP]) heads' [SEP] under norms
    summaries: dict[str, Summary] = field(default_factory=dict)
    change_summary: Summary | None = None

    @classmethod
    def build(cls, task: str, settings: AnalysisSettings, with_pretrained: bool) -> AnalysisProbes:
        return cls(
            statistics=probes.StatisticsProbe(task),
            interpretability=probes.InterpretabilityProbe(task),
            head_map=probes.HeadMapProbe(settings.js_sample),
            rules=probes.RuleBaselinesProbe(task),
            typical=probes.TypicalExamplesProbe(task, settings.typical_k, finetune=with_pretrained),
            pretrained=probes.PretrainedBaselineProbe(task) if with_pretrained else None,
            pretrained_interpretability=probes.InterpretabilityProbe(task, reference=True) if with_pretrained else None,
            change=probes.FinetuneChangeProbe(task) if with_pretrained else None,
            sep_survival=SepSurvivalProbe(task, settings.sep_heads) if _sep_survival(task, settings) else None,
        )

    def active(self) -> list[Any]:
        """The probes that observe the pass, in the order their timings are reported."""
        order = (
            self.statistics,
            self.interpretability,
            self.head_map,
            self.rules,
            self.pretrained,
            self.pretrained_interpretability,
            self.change,
            self.typical,
            self.sep_survival,
        )
        extra = self.agreement.probes if self.agreement is not None else []
        return [probe for probe in order if probe is not None] + extra

    def merge(self, other: AnalysisProbes) -> None:
        """Take in the probes of the next shard of the data (`build_probes(..., shard=True)`), in data order."""
        mine, theirs = self.active(), other.active()
        if [type(p) for p in mine] != [type(p) for p in theirs]:
            raise ValueError("a shard ran other probes (settings or the pretrained baseline differ)")
        for probe, shard in zip(mine, theirs):
            probe.merge(shard)


def _sep_survival(task: str, settings: AnalysisSettings) -> bool:
    """Norm-based attention has a [SEP] survival section: the no-op heads' on ABSA, the top [SEP] heads' on any task."""
    return settings.attention == "norm" and (task == "absa" or settings.sep_heads == "top_sep")

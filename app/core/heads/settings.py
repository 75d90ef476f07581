"""What an analysis computes, declared once: defaults and bounds for the CLI, the web and the cache key.

`headscope analyze` builds its options from these fields (their defaults and bounds), the web request
body validates `settings` against this model, and the job's cache key hashes `model_dump()`: a setting
added here reaches all three. Inputs that are not settings (the checkpoint, the data, the lexicon file,
progress display, torch threads) stay outside.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.heads.labels import LABEL_STATISTICS
from app.core.inputs.units import PAIRINGS
from app.core.passes.batch_size import batch_size_field

AblationLabel = Literal[tuple(LABEL_STATISTICS)]  # type: ignore[valid-type]


CPU_BATCH_SIZE = 16  # the batch size left open runs this on a CPU (passes/batch_size.py)


class AnalysisSettings(BaseModel):
    """What the analysis computes; every field is part of the cache key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_examples: int | None = Field(
        default=None, ge=1, le=1_000_000, description="analyse only the first N pairs (default: all)"
    )
    batch_size: int | None = batch_size_field("pairs", CPU_BATCH_SIZE)
    importance: bool = Field(
        default=True,
        description="head importance (Michel et al. 2019) and the ablation of the "
        "aspect (RE: entity) heads against random heads",
    )
    importance_limit: int | None = Field(
        default=None, ge=1, le=1_000_000, description="pairs used for importance and ablation (default: all)"
    )
    ablation_draws: int = Field(
        default=5, ge=1, le=100, description="random head sets masked for the ablation baseline"
    )
    # AblationLabel and Literal[PAIRINGS]: pydantic's Literal[tuple] idiom (the values live in one tuple); mypy
    # wants the literal values written out
    ablate_labels: tuple[AblationLabel, ...] = Field(  # type: ignore[valid-type]
        default=(),
        max_length=len(LABEL_STATISTICS),
        description="with importance: also ablate the heads of these labels (the task's own label always is)",
    )
    pretrained: bool = Field(default=True, description="pretrained-model baseline and the fine-tune change")
    bootstrap: int = Field(default=1000, ge=10, le=20_000, description="bootstrap resamples for the 95% CIs")
    js_sample: int = Field(default=64, ge=0, le=5_000, description="pairs for the heads x heads JS map (0: none)")
    pairs: Literal[PAIRINGS] = Field(  # type: ignore[valid-type]  # the Literal[tuple] idiom, as above
        default="auto",
        description="ABSA: auto, terms or categories (data with both)",
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="bootstrap and random-head seed")
    typical_k: int = Field(default=3, ge=0, le=20, description="typical examples kept per head and statistic")
    lexicon: bool = Field(
        default=True,
        description="aspect-sentiment from the Hu & Liu opinion lexicon "
        "(HEADSCOPE_SHARED_DATA/opinion_lexicon, or --lexicon) "
        "where the data has no gold opinions",
    )
    agreement: bool = Field(
        default=True,
        description="per head, rank agreement of the readout token's attention with "
        "attention rollout (and, with ig, integrated gradients)",
    )
    ig: bool = Field(
        default=False,
        description="integrated gradients for the agreement statistic, the attribution "
        "label and the IG interpretability rate (ig_steps forward and backward "
        "rows per pair)",
    )
    ig_steps: int = Field(default=32, ge=1, le=256, description="integrated-gradients steps per pair")
    ig_limit: int | None = Field(
        default=None, ge=1, le=1_000_000, description="pairs with integrated gradients (default: all)"
    )
    attention: Literal["weights", "norm"] = Field(
        default="weights",
        description="what every head statistic and label reads: the attention weights, or norm-based attention "
        "(Kobayashi et al. 2020, each row divided by its sum); norm adds the [SEP] survival of the no-op heads",
    )
    sep_heads: Literal["no_op", "top_sep"] = Field(
        default="no_op",
        description="with attention norm, the heads whose [SEP] survival is reported: no_op (the no-op heads on the "
        "weights and the largest no-op contrasts; ABSA data with the aspect absent and present) or top_sep (the 5 "
        "heads with the most [SEP] attention on the weights, Clark et al. 2019; any data, relations too)",
    )

    @model_validator(mode="after")
    def ig_needs_agreement(self) -> AnalysisSettings:
        if self.ig and not self.agreement:
            raise ValueError("ig feeds the agreement statistics: turn agreement on too (agreement=true / --agreement)")
        return self

"""The seed-group answers as pydantic models (/openapi.json): the groups of the models folder, the comparison of
head labels across seeds (fields as app.core.heads.seed_stability builds them) and the robustness suite over a
group (app.core.robustness.seed_moved). Both comparisons describe each row of head sets with the same fields
(`HeadSetsAcrossSeeds`), so that one drawing serves both (static/js/seed-groups.js)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.web.responses import Answer


class SeedGroupInfo(Answer):
    label: str = Field(
        description="NAME@SEEDS, what POST /api/analysis-groups and /api/robustness-groups take as `group`"
    )
    name: str
    task: str = Field(description="absa or re: what data the group takes")
    seeds: list[int]
    models: list[str] = Field(description="the checkpoint of each seed, in the seeds' order")


class SeedGroups(Answer):
    groups: list[SeedGroupInfo]


class PairOverlap(Answer):
    seeds: tuple[int, int]
    sizes: tuple[int, int] = Field(description="heads with the label in each seed")
    shared: int = Field(description="heads with the label in both")
    jaccard: float | None = Field(description="shared / heads in either; null when neither seed has the label")
    chance: float | None = Field(description="the expected Jaccard of random head sets of the same sizes")


class HeadSetsAcrossSeeds(Answer):
    """A set of heads per seed (one label's, one test's moved heads) and how far the seeds agree."""

    heads: list[list[list[int]]] = Field(description="per seed: [[layer, head], ...]")
    counts: list[list[int]] = Field(description="[layer][head]: in how many seeds' sets the head is (k of n)")
    pairs: list[PairOverlap]
    mean_jaccard: float | None
    mean_chance: float | None
    in_all: list[list[int]] = Field(description="heads in every seed's set")
    in_all_by_chance: float = Field(description="heads expected in every seed's set if each set were random")
    stable: list[list[int]] = Field(description="[layer, head, k] for heads in two or more seeds' sets")


class LabelStability(HeadSetsAcrossSeeds):
    label: str


class SeedStability(Answer):
    seeds: list[int]
    models: list[str]
    layers: int
    heads: int
    labels: list[LabelStability] = Field(description="every label some seed assigned")
    chance: str = Field(description="how the chance reference is computed")


class GroupMember(Answer):
    seed: int
    model: str
    analysis_id: str | None = Field(description="the member's own analysis (GET /api/analyses/{id}); null from the CLI")
    data: dict[str, Any]
    labelled: dict[str, list[list[int]]]


class SeedGroupResult(Answer):
    group: str
    name: str
    members: list[GroupMember]
    stability: SeedStability


class RobustnessGroupMember(Answer):
    seed: int
    model: str
    robustness_id: str | None = Field(description="the member's own run (GET /api/robustness/{id}); null from the CLI")
    data: dict[str, Any]
    tests: list[dict[str, Any]] = Field(description="per test: sources, variants, accuracies, flip rate, broken, held")


class SeedValue(Answer):
    seed: int | None
    model: str
    value: int | float | None = Field(description="a rate, or a count (broken, held pairs) kept as an integer")


class SeedSpread(Answer):
    mean: float | None
    sd: float | None = Field(description="sample SD over the seeds (n - 1); null under two values")
    min: float | None
    max: float | None
    n: int = Field(description="seeds with a value")
    values: list[SeedValue]


class FiguresOverSeeds(Answer):
    test: str
    source_accuracy: SeedSpread
    variant_accuracy: SeedSpread
    flip_rate: SeedSpread
    broken: SeedSpread
    held: SeedSpread


class MovedHeadsOverSeeds(HeadSetsAcrossSeeds):
    test: str
    query_set: str = Field(description="focus (aspect / entity rows) or cls")
    broken_held: list[list[int]] = Field(description="per seed: [broken pairs, held pairs]")
    unranked: list[int] = Field(description="seeds whose test ranked no head (no broken or no held pair)")


class MovedAcrossSeeds(Answer):
    seeds: list[int]
    models: list[str]
    layers: int
    heads: int
    top_heads: int
    tests: list[MovedHeadsOverSeeds] = Field(description="per test every seed ran and query set")
    not_in_every_seed: list[str]
    rule: str = Field(description="which of a seed's ranked heads count as moved")
    chance: str


class RobustnessGroupResult(Answer):
    group: str
    name: str
    members: list[RobustnessGroupMember]
    settings: dict[str, Any]
    figures: list[FiguresOverSeeds] = Field(description="per test every seed ran: its figures over the seeds")
    moved: MovedAcrossSeeds

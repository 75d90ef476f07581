"""The seed-group answers as pydantic models (/openapi.json): the groups of the models folder and the comparison of
head labels across seeds (fields as app.core.heads.seed_stability builds them)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.web.responses import Answer


class SeedGroupInfo(Answer):
    label: str = Field(description="NAME@SEEDS, what POST /api/analysis-groups takes as `group`")
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


class LabelStability(Answer):
    label: str
    heads: list[list[list[int]]] = Field(description="per seed: [[layer, head], ...]")
    counts: list[list[int]] = Field(description="[layer][head]: in how many seeds the head has the label (k of n)")
    pairs: list[PairOverlap]
    mean_jaccard: float | None
    mean_chance: float | None
    in_all: list[list[int]] = Field(description="heads labelled in every seed")
    in_all_by_chance: float = Field(description="heads expected in every seed if each seed's set were random")
    stable: list[list[int]] = Field(description="[layer, head, k] for heads labelled in two or more seeds")


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

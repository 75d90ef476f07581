"""Seed groups: one recipe fine-tuned once per seed (`headscope train --recipe R --seeds 13,14,15`).

A group is written `NAME@13,14,15`: NAME is the group (by default the recipe's checkpoint name) and each seed names
the checkpoint `NAME-seed13`, ... A checkpoint trained before seeds were a setting (`NAME` itself, its model card
recording seed 13) stands in for its seed, so an existing single-seed checkpoint need not be retrained.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.core.model.checkpoint import CheckpointInfo
from app.core.model.errors import CheckpointError

GROUP_SEPARATOR = "@"
_SEED_SUFFIX = re.compile(r"-seed\d+$")


@dataclass(frozen=True)
class SeedGroup:
    name: str
    members: tuple[tuple[int, str], ...]  # (seed, checkpoint id), in the order the seeds were given

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(seed for seed, _ in self.members)

    @property
    def checkpoint_ids(self) -> tuple[str, ...]:
        return tuple(model_id for _, model_id in self.members)

    @property
    def label(self) -> str:
        return f"{self.name}{GROUP_SEPARATOR}{','.join(str(s) for s in self.seeds)}"


def seed_checkpoint_name(group: str, seed: int) -> str:
    """The checkpoint one seed of a group trains into."""
    return f"{group}-seed{seed}"


def is_group(text: str) -> bool:
    return GROUP_SEPARATOR in text


def checkpoint_seed(info: CheckpointInfo) -> int | None:
    """The seed a checkpoint was fine-tuned with, from its model card (None: not recorded)."""
    seed = info.metadata.get("seed")
    if seed is None:
        seed = ((info.metadata.get("training") or {}).get("spec") or {}).get("seed")
    return seed if isinstance(seed, int) else None


def seed_list(text: str) -> list[int]:
    """`13,14,15` as distinct non-negative seeds; [] when the text is not such a list."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return []
    return seeds if len(set(seeds)) == len(seeds) and all(seed >= 0 for seed in seeds) else []


def parse_group(text: str) -> tuple[str, list[int]]:
    """`NAME@13,14,15` as (NAME, seeds); a CheckpointError names the accepted form."""
    name, _, seed_text = text.partition(GROUP_SEPARATOR)
    seeds = seed_list(seed_text)
    if not name or len(seeds) < 2:
        raise CheckpointError(
            f"{text!r}: a seed group is NAME@SEEDS with two or more distinct seeds, e.g. "
            "semeval14-restaurants-terms@13,14,15 (the checkpoints NAME-seed13, NAME-seed14, ...)"
        )
    return name, seeds


def resolve_group(text: str, infos: Iterable[CheckpointInfo]) -> SeedGroup:
    """The checkpoints of `NAME@SEEDS`; a missing seed is a CheckpointError naming the seeds that exist, and so are
    checkpoints that differ in task or shape (no comparison across seeds takes them: refused before any seed runs)."""
    name, seeds = parse_group(text)
    by_id = {info.id: info for info in infos}
    members = []
    for seed in seeds:
        model_id = _member_id(name, seed, by_id)
        if model_id is None:
            found = ", ".join(str(s) for s, _ in group_members(name, by_id.values())) or "none"
            raise CheckpointError(
                f"{text!r}: no checkpoint for seed {seed} (looked for {seed_checkpoint_name(name, seed)!r}, or "
                f"{name!r} trained with seed {seed}); seeds of {name!r} here: {found}. Train them with "
                f"`headscope train --recipe <recipe> --out {name} --seeds {','.join(str(s) for s in seeds)}`"
            )
        members.append((seed, model_id))
    chosen = [by_id[model_id] for _, model_id in members]
    if len({(info.task, info.num_layers, info.num_heads) for info in chosen}) > 1:
        found = "; ".join(f"{i.id}: {i.task}, {i.num_layers} layers x {i.num_heads} heads" for i in chosen)
        raise CheckpointError(
            f"{text!r}: its checkpoints differ in task or shape ({found}); a seed group is one recipe trained with "
            "different seeds"
        )
    return SeedGroup(name=name, members=tuple(members))


def group_members(name: str, infos: Iterable[CheckpointInfo]) -> list[tuple[int, str]]:
    """Every (seed, checkpoint id) of group `name` among `infos`, by seed."""
    found: dict[int, str] = {}
    for info in infos:
        seed = checkpoint_seed(info)
        if seed is None:
            continue
        if info.id == seed_checkpoint_name(name, seed) or (info.id == name and seed not in found):
            found[seed] = info.id
    return sorted(found.items())


def _member_id(name: str, seed: int, by_id: dict[str, CheckpointInfo]) -> str | None:
    named = seed_checkpoint_name(name, seed)
    if named in by_id:
        return named
    base = by_id.get(name)
    if base is not None and checkpoint_seed(base) == seed:
        return name
    return None


def list_groups(infos: Iterable[CheckpointInfo]) -> list[SeedGroup]:
    """Every group with two or more seeds among `infos` (named by a card's `seed_group` or a `NAME-seedN` id),
    by name, each with all its seeds."""
    infos = list(infos)
    names = {info.metadata.get("seed_group") for info in infos} | {
        info.id.rsplit("-seed", 1)[0] for info in infos if _SEED_SUFFIX.search(info.id)
    }
    groups = []
    for name in sorted(n for n in names if isinstance(n, str) and n):
        members = group_members(name, infos)
        if len(members) >= 2:
            groups.append(SeedGroup(name=name, members=tuple(members)))
    return groups

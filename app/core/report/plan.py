"""Which data a report evaluates a checkpoint on: test, dev, shifted and out-of-domain sets.

* Held out: the checkpoint's own dev split, rebuilt from its training record (headscope.json
  training.data: the file, found again by its sha256 in the demo data or under HEADSCOPE_SHARED_DATA;
  training.args: dev_fraction and seed) with the trainer's own split (app.core.training.loop.split_dev over
  the same groups app.core.data.prepared.prepare gives). No part of it was trained on.
* Test (in distribution): the test file the checkpoint was trained with (its recipe's), else the task's
  shared test file (SemEval-2014 restaurants for restaurant categories and for terms, SemEval-2010 Task 8
  for its labels), else the second half of the held-out split (the demo data without shared data).
* Dev (temperature scaling): the held-out split, or its first half when the other half is the test; a
  checkpoint without a training record gets a seeded 20% of the test sentences instead.
* Shift (same labels, another domain; shared data only): ABSA terms: SemEval-2014 restaurants, laptops
  and MAMS-ATSA, whichever is not the test; ABSA categories: SemEval-2014 restaurants and MAMS-ACSA on the
  categories both the model and the data have; relation extraction: none in the shared data (the report
  says so). Plus the user's own sets (`settings.shift`), whose labels must be the model's.
* Out of domain (anomaly detection): the other task's text (relation sentences for ABSA, reviews for
  relation extraction: shared test files, else the demo data) and SentiHood; plus `settings.ood`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.data.benchmark_metrics import is_semeval2010_labels
from app.core.data.demo import DEMO_DATASETS, RESTAURANT_CATEGORIES, demo_dataset
from app.core.data.prepared import ExampleError, prepare
from app.core.data.readers import Dataset, DatasetError, TargetedSentence, load_dataset
from app.core.data.sources import data_fingerprint
from app.core.inputs.units import (
    CATEGORY_FORMATS,
    AnalysisError,
    UnitSpec,
    _category_pairs,
    sentihood_aspects,
    unit_specs,
)
from app.core.model.checkpoint import CheckpointInfo, file_sha256
from app.core.report.foreign import foreign_units
from app.core.report.metrics import gold_names
from app.core.report.settings import ReportSettings
from app.core.training import split_dev

RESTAURANTS = "semeval2014_task4/xml/Restaurants_Test_Gold.xml"
LAPTOPS = "semeval2014_task4/xml/Laptops_Test_Gold.xml"
MAMS_ATSA = "mams/atsa/val.xml"
MAMS_ACSA = "mams/acsa/val.xml"
SEMEVAL2010 = "semeval2010_task8/TEST_FILE_FULL.TXT"
SENTIHOOD = "sentihood/sentihood-test.json"
FORMATS = {MAMS_ATSA: "mams-atsa", MAMS_ACSA: "mams-acsa"}
TERM_SETS = {RESTAURANTS: "SemEval-2014 restaurants", LAPTOPS: "SemEval-2014 laptops", MAMS_ATSA: "MAMS-ATSA (val)"}
CATEGORY_SETS = {RESTAURANTS: "SemEval-2014 restaurants", MAMS_ACSA: "MAMS-ACSA (val)"}
TITLES = {**TERM_SETS, **CATEGORY_SETS, SEMEVAL2010: "SemEval-2010 Task 8 (test)", SENTIHOOD: "SentiHood (test)"}
Loader = Callable[[str], Dataset]  # a user's data name -> the dataset (the CLI's or the web's rules)


class ReportInputError(ValueError):
    """Data the report cannot use for a model (the web's 422); `field` and `accepted` say what would do."""

    def __init__(self, message: str, field: str = "models", accepted: Sequence[str] = ()):
        super().__init__(message)
        self.field, self.accepted = field, list(accepted)


@dataclass
class EvalSet:
    role: str  # test, dev, shift, ood
    name: str  # what the report calls it
    data: str  # the data as named (demo-absa, a path under HEADSCOPE_SHARED_DATA, the user's name)
    specs: list[UnitSpec]
    sha256: str | None = None
    note: str = ""
    categories: list[str] | None = None  # shift sets of category models: the categories compared


@dataclass
class ReportPlan:
    model: str
    sets: list[EvalSet] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # perspective -> why it has no data

    def of(self, role: str) -> list[EvalSet]:
        return [s for s in self.sets if s.role == role]

    def describe(self) -> dict[str, Any]:
        return {
            "sets": [
                {
                    "role": s.role,
                    "name": s.name,
                    "data": s.data,
                    "inputs": len(s.specs),
                    "note": s.note,
                    **({"categories": s.categories} if s.categories else {}),
                }
                for s in self.sets
            ],
            "missing": self.missing,
        }

    def key(self) -> list[tuple[str, str, str | None, int]]:
        return [(s.role, s.data, s.sha256, len(s.specs)) for s in self.sets]


def plan_report(info: CheckpointInfo, settings: ReportSettings, shared: Path | None, load: Loader) -> ReportPlan:
    plan = ReportPlan(info.id)
    held = held_out(info, shared)
    test = recorded_test(info, shared) or default_test(info, shared)
    cap = settings.max_examples
    if test is not None:
        name, dataset = test
        specs = _specs(info, dataset, name)[:cap]
        plan.sets.append(EvalSet("test", _title(name), name, specs, data_fingerprint(dataset)))
        dev = _dev_from(held, info, cap) or _split_test(plan.sets[-1], settings.seed)
        plan.sets.append(dev)
    elif held is not None:
        plan.sets += _halves(info, held, cap)
    else:
        raise ReportInputError(
            f"{info.id}: no test data: its training record names no data found here and "
            "HEADSCOPE_SHARED_DATA has no test file for its task and labels",
            accepted=[
                "a checkpoint trained by headscope (demo data or a recipe)",
                "HEADSCOPE_SHARED_DATA with the task's test file",
            ],
        )
    add_shift(plan, info, shared, settings, load)
    add_ood(plan, info, shared, settings, load)
    return plan


# --- held out, test, dev ------------------------------------------------------------------------


def training_record(info: CheckpointInfo, role: str = "train") -> dict[str, Any] | None:
    records = (info.metadata.get("training") or {}).get("data") or []
    found = [r for r in records if r.get("role", "train") == role]
    return found[0] if found else None


def find_data(record: dict[str, Any] | None, shared: Path | None) -> tuple[str, Dataset] | None:
    """The recorded file found again (demo data by name; a file, or its tail under the shared data, by sha256)."""
    if not record or not record.get("path"):
        return None
    path, sha = Path(record["path"]), record.get("sha256")
    for demo in DEMO_DATASETS.values():
        if path.name == demo.file and (path.parts[:2] == ("app", "demo_data") or not path.is_absolute()):
            return demo.name, demo_dataset(demo.name)
    tails = [Path(*path.parts[-k:]) for k in range(1, min(len(path.parts), 5))]
    candidates = [(path.name, path)] + [(t.as_posix(), Path(shared) / t) for t in tails if shared is not None]
    if shared is not None and path.is_absolute() and path.is_relative_to(Path(shared).resolve()):
        candidates[0] = (path.relative_to(Path(shared).resolve()).as_posix(), path)
    for name, candidate in candidates:
        if candidate.is_file() and (sha is None or file_sha256(candidate) == sha):
            try:
                return name, load_dataset(candidate, record.get("format"))
            except DatasetError:
                return None
    return None


def held_out(info: CheckpointInfo, shared: Path | None) -> tuple[str, list[Any]] | None:
    """(data name, the examples of the checkpoint's own dev split), or None when it cannot be rebuilt."""
    found = find_data(training_record(info), shared)
    args = (info.metadata.get("training") or {}).get("args") or {}
    fraction, seed = float(args.get("dev_fraction") or 0.0), int(args.get("seed", 13))
    if found is None or fraction <= 0:
        return None
    name, dataset = found
    try:
        prepared = prepare(
            info.task,
            info.format,
            dataset.examples,
            labels=info.labels,
            categories=info.metadata.get("categories"),
            source=name,
        )
    except ExampleError:
        return None
    # split_dev reads only each input's .group (app.core.training.loop.Grouped)
    groups = [_Group(g) for g in trainer_groups(dataset.examples, prepared.groups)]
    _, dev = split_dev(groups, fraction, seed)
    chosen = {d.group for d in dev}
    return name, [e for e in dataset.examples if str(getattr(e, "id", "")) in chosen]


def trainer_groups(examples: Sequence[Any], prepared_groups: Sequence[str]) -> list[str]:
    """The groups the trainer split on (training.split_dev over its inputs' groups: each input's sentence id).
    SentiHood's prepared groups are (sentence, target) pairs, for its metrics; its inputs' groups are the
    sentences that have a target."""
    if examples and all(isinstance(e, TargetedSentence) for e in examples):
        return [e.id for e in examples if e.mentions or e.opinions]
    return list(dict.fromkeys(prepared_groups))


@dataclass
class _Group:
    group: str


def recorded_test(info: CheckpointInfo, shared: Path | None) -> tuple[str, Dataset] | None:
    return find_data(training_record(info, "test"), shared)


def default_test(info: CheckpointInfo, shared: Path | None) -> tuple[str, Dataset] | None:
    """The task's shared test file for this checkpoint's labels, if the shared data has it."""
    if shared is None:
        return None
    name = None
    if info.task == "re" and is_semeval2010_labels(info.labels):
        name = SEMEVAL2010
    elif info.task == "absa" and info.format == "term":
        name = RESTAURANTS
    elif info.task == "absa" and set(info.metadata.get("categories") or ()) <= set(RESTAURANT_CATEGORIES):
        name = RESTAURANTS
    if not name:
        return None
    path = Path(shared) / name
    return (name, load_dataset(path, FORMATS.get(name))) if path.is_file() else None


def _specs(info: CheckpointInfo, dataset: Dataset, name: str) -> list[UnitSpec]:
    try:
        return unit_specs(info, list(dataset.examples), name)[0]
    except AnalysisError as exc:
        raise ReportInputError(f"{name} does not fit {info.id} ({info.task}, {info.format}): {exc}") from exc


def _dev_from(held: tuple[str, list[Any]] | None, info: CheckpointInfo, cap: int | None) -> EvalSet | None:
    if held is None or not held[1]:
        return None
    name, examples = held
    specs = unit_specs(info, examples, name)[0][:cap]
    return EvalSet("dev", f"{_title(name)}: the checkpoint's held-out dev split", name, specs, note="never trained on")


def _halves(info: CheckpointInfo, held: tuple[str, list[Any]], cap: int | None) -> list[EvalSet]:
    """The held-out split's second half as the test, its first half as the dev split (whole sentences each)."""
    name, examples = held
    middle = len(examples) // 2
    dev, test = unit_specs(info, examples[:middle], name)[0], unit_specs(info, examples[middle:], name)[0]
    note = "the checkpoint's held-out dev split, halved: the test half"
    return [
        EvalSet("test", f"{_title(name)} (held out)", name, test[:cap], note=note),
        EvalSet("dev", f"{_title(name)} (held out, other half)", name, dev[:cap], note="for temperature scaling"),
    ]


def _split_test(test: EvalSet, seed: int) -> EvalSet:
    """No held-out data: 20% of the test sentences (seeded) become the dev split, the rest stay the test."""
    sentences = sorted({s.sentence_id for s in test.specs})
    random.Random(seed).shuffle(sentences)
    dev_ids = set(sentences[: max(1, round(len(sentences) * 0.2))])
    dev = [s for s in test.specs if s.sentence_id in dev_ids]
    test.specs = [s for s in test.specs if s.sentence_id not in dev_ids]
    test.note = "80% of the test sentences (20% fit the temperature)"
    return EvalSet(
        "dev",
        f"{test.name}: 20% of the sentences",
        test.data,
        dev,
        test.sha256,
        note="no held-out data recorded for this checkpoint",
    )


def _title(name: str) -> str:
    return TITLES.get(name, name)


def model_categories(info: CheckpointInfo, plan: ReportPlan) -> list[str]:
    """A category checkpoint's categories: recorded in headscope.json, else the aspects of its test pairs."""
    recorded = info.metadata.get("categories")
    return list(recorded) if recorded else list(dict.fromkeys(s.aspect for s in plan.of("test")[0].specs if s.aspect))


# --- shift and out of domain --------------------------------------------------------------------


def add_shift(
    plan: ReportPlan, info: CheckpointInfo, shared: Path | None, settings: ReportSettings, load: Loader
) -> None:
    test, categories = plan.of("test")[0], model_categories(info, plan)
    for name in settings.shift:
        plan.sets.append(
            shift_set(info, name, _load(load, name, "settings.shift"), settings.max_examples, categories, strict=True)
        )
    if info.task == "re":
        plan.missing["shift"] = (
            "no relation test set from another domain with SemEval-2010's labels (the shared "
            "data's Wiki80 sample has other relations): give one with settings.shift"
        )
    elif shared is None:
        plan.missing["shift"] = (
            "no shifted test set without HEADSCOPE_SHARED_DATA (with it: SemEval-2014 laptops "
            "and MAMS-ATSA for aspect terms, MAMS-ACSA for categories)"
        )
    else:
        table = TERM_SETS if info.format == "term" else CATEGORY_SETS if info.format in CATEGORY_FORMATS else {}
        for name in table:
            path = Path(shared) / name
            if name == test.data or not path.is_file():
                continue
            found = shift_set(
                info, name, load_dataset(path, FORMATS.get(name)), settings.max_examples, categories, strict=False
            )
            if found.specs:
                plan.sets.append(found)
            else:
                plan.missing[f"shift: {_title(name)}"] = found.note
    if plan.of("shift"):
        plan.missing.pop("shift", None)


def shift_set(
    info: CheckpointInfo, name: str, dataset: Dataset, cap: int | None, model_categories: Sequence[str], strict: bool
) -> EvalSet:
    """A labelled set of another domain, restricted to what the model can be scored on; with strict, data
    whose labels do not fit the model is a ReportInputError, otherwise an empty set with the reason."""
    examples = list(dataset.examples)
    categories = None
    try:
        if info.task == "absa" and info.format in CATEGORY_FORMATS:
            theirs = list(dict.fromkeys(c.category for s in examples for c in getattr(s, "categories", ())))
            categories = [c for c in model_categories if c in theirs]
            if not categories:
                raise AnalysisError(
                    f"no aspect category in common (the model's: {', '.join(model_categories)}; "
                    f"the data's: {', '.join(theirs) or 'none'})"
                )
            specs = _category_pairs(examples, categories)
        else:
            specs = unit_specs(info, examples, name)[0]
        _check_labels(info, specs, name)
    except (AnalysisError, ReportInputError) as exc:
        if strict:
            raise ReportInputError(
                f"shift set {name} cannot be scored by {info.id}: {exc}", "settings.shift", list(info.labels)
            ) from None
        return EvalSet("shift", _title(name), name, [], note=str(exc))
    note = f"the categories both have: {', '.join(categories)}" if categories else ""
    return EvalSet("shift", _title(name), name, specs[:cap], data_fingerprint(dataset), note, categories)


def _load(load: Loader, name: str, field: str) -> Dataset:
    """The user's data by name; a name that cannot be read is a ReportInputError for `field`."""
    try:
        return load(name)
    except (ValueError, OSError) as exc:  # DataSourceError, DatasetError: the message names the data as given
        raise ReportInputError(str(exc), field, getattr(exc, "accepted", ())) from exc


def _check_labels(info: CheckpointInfo, specs: Sequence[UnitSpec], name: str) -> None:
    """Every gold label must be one of the model's (conflict terms aside: the ATSA metrics leave them out)."""
    golds = set(gold_names(info, specs)) - ({"conflict"} if info.format == "term" else set())
    unknown = sorted(golds - set(info.labels))
    if unknown:
        raise ReportInputError(
            f"{name} has labels the model does not: {', '.join(unknown)}; the model's labels: {', '.join(info.labels)}"
        )


def add_ood(
    plan: ReportPlan, info: CheckpointInfo, shared: Path | None, settings: ReportSettings, load: Loader
) -> None:
    automatic: list[tuple[str, str, Dataset]] = []
    other = (
        (RESTAURANTS, "reviews", "demo-absa") if info.task == "re" else (SEMEVAL2010, "relation sentences", "demo-re")
    )
    if shared is not None and (Path(shared) / other[0]).is_file():
        automatic.append((other[0], f"{other[1]}: {_title(other[0])}", load_dataset(Path(shared) / other[0])))
    else:
        automatic.append((other[2], f"{other[1]} (demo data)", demo_dataset(other[2])))
    if shared is not None and (Path(shared) / SENTIHOOD).is_file() and not sentihood_aspects(info):
        automatic.append((SENTIHOOD, "neighbourhood posts: SentiHood (test)", load_dataset(Path(shared) / SENTIHOOD)))
    aspects = model_categories(info, plan) if info.format in CATEGORY_FORMATS else []
    for name, title, dataset in automatic:
        specs = foreign_units(info, dataset.examples, name, aspects)[: settings.max_examples]
        if specs:
            plan.sets.append(EvalSet("ood", title, name, specs, data_fingerprint(dataset)))
    for name in settings.ood:
        dataset = _load(load, name, "settings.ood")
        specs = foreign_units(info, dataset.examples, name, aspects)[: settings.max_examples]
        if not specs:
            raise ReportInputError(
                f"out-of-domain set {name} gives {info.id} no inputs (an empty set, or text "
                "without what its inputs need)",
                "settings.ood",
                ["a non-empty data file of either task"],
            )
        plan.sets.append(EvalSet("ood", name, name, specs, data_fingerprint(dataset)))

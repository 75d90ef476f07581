"""A minimal fine-tuning loop for sequence classification (the fine-tuning issue extends it).

Dynamic padding with length bucketing, AdamW with linear warm-up/decay, a tqdm progress
bar, a dev split for metrics, and an atomic write: the checkpoint folder appears under
its final name only once it is complete, so an interrupted run lists nothing.
"""

from __future__ import annotations

import json
import platform
import random
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import torch

from app.core.data.benchmark_metrics import label_metrics
from app.core.data.files import replace_folder
from app.core.inputs.batching import pad_batch
from app.core.inputs.encoding import LabelledInput
from app.core.model.checkpoint import LOAD_DTYPE, METADATA_FILE, pick_device, quiet_transformers
from app.core.training.predictions import predict_labels
from app.core.training.steps import EarlyStopping, Precision, optimiser, train_step


@dataclass
class TrainingArgs:
    epochs: int = 4
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    seed: int = 13
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    dev_fraction: float = 0.15
    # "sqrt-inverse": weight each class's loss by 1/sqrt(its share of the training labels),
    # so a majority label (ABSA's "none" is about 70% of category pairs) does not swamp the rest.
    class_weighting: str = "none"


@dataclass
class TrainOptions:
    """Options that are not part of a recipe's fingerprint (kept out of TrainingArgs on purpose:
    the demo checkpoints' fingerprint is asdict(TrainingArgs), so a new field there retrains them).

    patience: early stopping on the dev split: after each epoch the dev split is scored; training
      stops once `patience` epochs in a row did not beat the best dev macro-F1 (then accuracy),
      and the best epoch's weights are the ones saved. None: train every epoch, keep the last.
    mixed_precision: torch.autocast on CUDA (bfloat16 where supported, else float16 with a grad
      scaler); ignored on CPU.
    on_step(step, loss): called after every optimizer step (progress hooks, tests).
    evaluate(model, tokenizer, device): run on the final weights before the checkpoint is
      written; its dict is stored as metrics["test"].
    method: a fine-tuning method other than vanilla (app.core.training.roast.TrainingMethod: RoAST and its
      ablations): it does each batch's forward and backward, masks gradients before the optimizer
      step, and its record() goes into headscope.json as training.method. None: vanilla.
    """

    patience: int | None = None
    mixed_precision: bool = True
    on_step: Callable[[int, float], None] | None = None
    evaluate: Callable[[Any, Any, torch.device], dict[str, Any]] | None = None
    method: Any = None


@dataclass
class TrainingResult:
    path: Path
    metrics: dict[str, Any]
    train_time_s: float
    examples: dict[str, int] = field(default_factory=dict)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Grouped(Protocol):
    """What split_dev reads of an example: the group it splits on (read-only)."""

    @property
    def group(self) -> str: ...


GroupedT = TypeVar("GroupedT", bound=Grouped)


def split_dev(examples: Sequence[GroupedT], fraction: float, seed: int) -> tuple[list[GroupedT], list[GroupedT]]:
    """(train, dev): a seeded share `fraction` of the groups goes to dev, with every example of those groups."""
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    dev_groups = set(groups[: int(round(len(groups) * fraction))])
    train = [e for e in examples if e.group not in dev_groups]
    dev = [e for e in examples if e.group in dev_groups]
    return train, dev


def length_bucketed_batches(
    examples: Sequence[LabelledInput], batch_size: int, rng: random.Random
) -> list[list[LabelledInput]]:
    """Shuffle, then sort within windows of 50 batches so each batch pads little."""
    order = list(examples)
    rng.shuffle(order)
    window = batch_size * 50
    batches: list[list[LabelledInput]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda e: len(e.encoded.input_ids))
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def loss_weights(labels: Sequence[int], num_labels: int, scheme: str) -> torch.Tensor:
    if scheme == "none":
        return torch.ones(num_labels)
    if scheme != "sqrt-inverse":
        raise ValueError(f"class_weighting must be 'none' or 'sqrt-inverse', got {scheme!r}")
    counts = torch.bincount(torch.tensor(labels), minlength=num_labels).float().clamp(min=1)
    weights = (counts.max() / counts).sqrt()  # the majority class keeps weight 1
    # Capped: a label seen a handful of times (ABSA's "conflict") would otherwise be over-predicted.
    return weights.clamp(max=2.0)


def library_versions() -> dict[str, str]:
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__}


def classifier_class(pooling: str, tokenizer: Any, added_tokens: Sequence[str]) -> tuple[Any, dict[str, Any]]:
    """The model class for a pooling choice and the config entries it needs."""
    from transformers import AutoModelForSequenceClassification

    if pooling == "cls":
        return AutoModelForSequenceClassification, {}
    if pooling != "entity-start":
        raise ValueError(f"pooling must be 'cls' or 'entity-start', got {pooling!r}")
    if len(added_tokens) < 4:
        raise ValueError("entity-start pooling needs the entity markers (<e1>, </e1>, <e2>, </e2>) as added tokens")
    from app.core.model.entity_pooling import BertForEntityStartClassification

    starts = [tokenizer.convert_tokens_to_ids(added_tokens[0]), tokenizer.convert_tokens_to_ids(added_tokens[2])]
    return BertForEntityStartClassification, {"entity_start_token_ids": starts}


def load_for_training(
    base_model: str, labels: Sequence[str], added_tokens: Sequence[str], pooling: str, device: torch.device
) -> tuple[Any, Any]:
    """(model, tokenizer): `base_model` with a classification head for `labels`, its vocabulary grown by
    `added_tokens`, in float32 on `device` with eager attention."""
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if added_tokens:
        tokenizer.add_special_tokens({"additional_special_tokens": list(added_tokens)})
    model_class, extra_config = classifier_class(pooling, tokenizer, added_tokens)
    config = AutoConfig.from_pretrained(
        base_model,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    config.update(extra_config)
    model = model_class.from_pretrained(base_model, config=config, attn_implementation="eager", dtype=LOAD_DTYPE)
    if added_tokens:
        model.resize_token_embeddings(len(tokenizer))
    return model.to(device), tokenizer


def progress_bar(total: int, name: str, shown: bool) -> Any:
    with warnings.catch_warnings():  # in a notebook without ipywidgets tqdm.auto warns, then draws text bars
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    # Redraw often on a terminal; in a log (CI, docker build) a line every 10 s is enough.
    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=f"training {name}",
        unit="batch",
        disable=not shown,
        dynamic_ncols=True,
        mininterval=0.1 if interactive else 10.0,
    )


def train_classifier(
    base_model: str,
    labels: Sequence[str],
    build_examples: Callable[[Any], list[LabelledInput]],
    out_dir: Path,
    metadata: dict[str, Any],
    args: TrainingArgs | None = None,
    added_tokens: Sequence[str] = (),
    progress: bool = True,
    device: torch.device | None = None,
    options: TrainOptions | None = None,
    pooling: str = "cls",
) -> TrainingResult:
    """Fine-tune `base_model` for sequence classification and write a headscope checkpoint.

    `build_examples(tokenizer)` encodes the data with the tokenizer the model will keep
    (after `added_tokens`, e.g. entity markers, are added to it). pooling: "cls" (a Hugging Face
    sequence classifier) or "entity-start" (classify from the hidden states of the first and third
    added tokens, the <e1> and <e2> markers: app.core.model.entity_pooling).
    """
    from transformers import get_linear_schedule_with_warmup

    quiet_transformers()
    args = args or TrainingArgs()
    options = options or TrainOptions()
    device = device or pick_device()
    set_seed(args.seed)
    model, tokenizer = load_for_training(base_model, labels, added_tokens, pooling, device)
    examples = build_examples(tokenizer)
    train, dev = split_dev(examples, args.dev_fraction, args.seed)
    rng = random.Random(args.seed)
    steps = args.epochs * ((len(train) + args.batch_size - 1) // args.batch_size)
    method = options.method
    optimizer = optimiser(model, args.learning_rate, args.weight_decay, method)
    class_weights = loss_weights([e.label for e in train], len(labels), args.class_weighting).to(device)
    schedule = get_linear_schedule_with_warmup(optimizer, int(steps * args.warmup_ratio), steps)
    pad_id = tokenizer.pad_token_id
    precision = Precision.on(device, options.mixed_precision)
    if method is not None:
        method.attach(model, optimizer, class_weights, pad_id, device, precision.autocast, precision.scaler)
    stopping = EarlyStopping(options.patience) if options.patience is not None and dev else None
    epochs_run, step = 0, 0
    started = time.perf_counter()
    bar = progress_bar(steps, out_dir.name, progress)
    try:
        for epoch in range(args.epochs):
            batches = length_bucketed_batches(train, args.batch_size, rng)
            if method is not None:
                method.start_epoch(epoch, batches)  # RoAST: the epoch's gradient mask
            model.train()
            for batch_examples in batches:
                batch = pad_batch([e.encoded for e in batch_examples], pad_id, device)
                target = torch.tensor([e.label for e in batch_examples], device=device)
                loss = train_step(model, batch, target, optimizer, schedule, precision, class_weights, method)
                step += 1
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)  # redrawn at its own pace
                bar.update(1)
                if options.on_step is not None:
                    options.on_step(step, loss.item())
            epochs_run = epoch + 1
            if stopping is not None and stopping.after_epoch(epochs_run, model, dev, pad_id, device):
                break
    finally:
        bar.close()
    if stopping is not None:
        stopping.restore_best(model, epochs_run)
    train_time = time.perf_counter() - started

    metrics: dict[str, Any] = {}
    if dev:
        metrics = {"dev": label_metrics([e.label for e in dev], predict_labels(model, dev, pad_id, device))}
    if options.evaluate is not None:
        metrics["test"] = options.evaluate(model, tokenizer, device)
    run = {
        "args": asdict(args),
        "train_time_s": round(train_time, 1),
        "examples": {"train": len(train), "dev": len(dev)},
        "versions": library_versions(),
        "device": str(device),
        "mixed_precision": precision.enabled,
        **({"method": method.record()} if method is not None else {}),
        **({"early_stopping": stopping.record(epochs_run)} if stopping is not None else {}),
    }
    meta = checkpoint_metadata(metadata, base_model, labels, metrics, run, added_tokens, pooling)

    def write(folder: Path) -> None:
        model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    path = replace_folder(out_dir, write)
    return TrainingResult(path, metrics, train_time, {"train": len(train), "dev": len(dev)})


def checkpoint_metadata(
    metadata: dict[str, Any],
    base_model: str,
    labels: Sequence[str],
    metrics: dict[str, Any],
    run: dict[str, Any],
    added_tokens: Sequence[str],
    pooling: str,
) -> dict[str, Any]:
    """headscope.json of a trained checkpoint: the recipe's `metadata`, the labels, the metrics and the run's record
    (added to the recipe's own training entry)."""
    meta = dict(metadata)
    meta.update(
        {
            "labels": list(labels),
            "base_model": meta.get("base_model", base_model),
            "metrics": metrics,
            "training": {**meta.get("training", {}), **run},
        }
    )
    if added_tokens:
        meta["entity_markers"] = list(added_tokens)
    if pooling != "cls":
        meta["pooling"] = pooling
    return meta

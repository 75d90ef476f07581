"""RoAST training speed: training examples/s with --method roast (and, on request, its ablations) against
vanilla fine-tuning on the same model (the embedded MiniLM), data (demo ABSA QA-M pairs), batch size, batches
and epochs, in one run. Target: roast / vanilla >= 0.45.

Each method trains its own copy of the model through the steps of `train_classifier`'s loop (app/core/training/loop.py):
vanilla pads, forwards, takes the cross-entropy, backpropagates, clips, steps AdamW and the linear schedule;
RoAST runs `TrainingMethod` exactly as the loop does (`start_epoch`: the first mask's Fisher pass and each
epoch's redraw; `train_step`: the clean and the perturbed forward and backward and the Fisher accumulation;
clipping; `before_step`: the mask and the masked weight decay; the optimizer). Both see the same batches in the
same order. The methods take turns batch by batch (ABBA order), so the load of other processes on a shared
machine hits them alike; examples/s is training examples x epochs / each method's summed time (its epoch
starts included). `--whole-runs` instead alternates complete `train_classifier` runs (noisier on a busy machine).

    .venv/bin/python bench/roast_speed.py [--examples 256] [--epochs 2] [--batch-size 16]
        [--methods roast,adv-only,selective-only] [--threads N] [--whole-runs --rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository root on sys.path)

SEED = 13
LEARNING_RATE = 5e-5


def demo_pairs(tokenizer, n: int):
    from app.core.training.demo_checkpoints import absa_category_examples

    pairs = absa_category_examples("qa-m", 128, with_terms=True)(tokenizer)
    return random.Random(SEED).sample(pairs, min(n, len(pairs)))


class Trainer:
    """One method's model, optimizer and schedule, stepped like train_classifier's loop."""

    def __init__(self, method_name: str, train, epochs: int, batch_size: int) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

        from app.core.data.demo import ABSA_LABELS
        from app.core.model.embedded import embedded_base_model
        from app.core.training.loop import loss_weights
        from app.core.training.roast import method_settings, training_method

        torch.manual_seed(SEED)
        self.torch, self.device = torch, torch.device("cpu")
        self.model = AutoModelForSequenceClassification.from_pretrained(
            embedded_base_model(), num_labels=len(ABSA_LABELS), attn_implementation="eager"
        )
        no_decay = ("bias", "LayerNorm.weight")
        named = list(self.model.named_parameters())
        groups = [
            {"params": [p for n, p in named if not any(k in n for k in no_decay)], "weight_decay": 0.01},
            {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
        ]
        self.method = training_method(method_settings(method_name), SEED)
        if self.method is not None:
            groups = self.method.param_groups(self.model, groups)
        self.optimizer = torch.optim.AdamW(groups, lr=LEARNING_RATE)
        steps = epochs * ((len(train) + batch_size - 1) // batch_size)
        self.schedule = get_linear_schedule_with_warmup(self.optimizer, int(steps * 0.1), steps)
        self.weights = loss_weights([e.label for e in train], len(ABSA_LABELS), "none")
        if self.method is not None:
            self.method.attach(self.model, self.optimizer, self.weights, 0, self.device)
        self.seconds = 0.0

    def start_epoch(self, epoch: int, batches) -> None:
        started = time.perf_counter()
        if self.method is not None:
            self.method.start_epoch(epoch, batches)
        self.model.train()
        self.seconds += time.perf_counter() - started

    def step(self, examples) -> None:
        from app.core.inputs.batching import pad_batch

        torch, started = self.torch, time.perf_counter()
        batch = pad_batch([e.encoded for e in examples], 0, self.device)
        target = torch.tensor([e.label for e in examples])
        if self.method is not None:
            self.method.train_step(batch, target)
        else:
            logits = self.model(**batch).logits
            torch.nn.functional.cross_entropy(logits.float(), target, weight=self.weights).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        if self.method is not None:
            self.method.before_step(self.optimizer)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.seconds += time.perf_counter() - started


def interleaved(methods: list[str], examples: int, epochs: int, batch_size: int) -> dict[str, float]:
    """examples/s per method, the methods taking turns batch by batch."""
    from transformers import AutoTokenizer

    from app.core.model.embedded import embedded_base_model
    from app.core.training.loop import length_bucketed_batches

    train = demo_pairs(AutoTokenizer.from_pretrained(embedded_base_model()), examples)
    trainers = {m: Trainer(m, train, epochs, batch_size) for m in methods}
    rng = random.Random(SEED)
    turn = 0
    for epoch in range(epochs):
        batches = length_bucketed_batches(train, batch_size, rng)
        for trainer in trainers.values():
            trainer.start_epoch(epoch, batches)
        for examples_ in batches:
            order = list(trainers.values()) if turn % 2 == 0 else list(trainers.values())[::-1]
            for trainer in order:
                trainer.step(examples_)
            turn += 1
    return {m: len(train) * epochs / t.seconds for m, t in trainers.items()}


def whole_run(method: str, examples: int, epochs: int, batch_size: int) -> float:
    from app.core.data.demo import ABSA_LABELS
    from app.core.model.embedded import embedded_base_model
    from app.core.training.loop import TrainingArgs, TrainOptions, train_classifier
    from app.core.training.roast import method_settings, training_method

    args = TrainingArgs(epochs=epochs, learning_rate=LEARNING_RATE, batch_size=batch_size, seed=SEED, dev_fraction=0.0)
    options = TrainOptions(method=training_method(method_settings(method), SEED))
    with tempfile.TemporaryDirectory() as tmp:
        result = train_classifier(
            embedded_base_model(),
            ABSA_LABELS,
            lambda tok: demo_pairs(tok, examples),
            Path(tmp) / f"bench-{method}",
            {"task": "absa", "format": "qa-m"},
            args,
            progress=False,
            options=options,
        )
    return result.examples["train"] * epochs / result.train_time_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--methods", default="roast", help="comma-separated, measured against vanilla")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--whole-runs", action="store_true", help="alternate complete train_classifier runs")
    parser.add_argument("--rounds", type=int, default=3, help="with --whole-runs")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    methods = ["vanilla"] + [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.whole_runs:
        rates = {m: [] for m in methods}
        for _ in range(args.rounds):
            for method in methods:
                rates[method].append(whole_run(method, args.examples, args.epochs, args.batch_size))
        ratios = {m: statistics.median(r / v for r, v in zip(rates[m], rates["vanilla"])) for m in methods[1:]}
        shown = {m: [round(x, 2) for x in r] for m, r in rates.items()}
    else:
        rates_once = interleaved(methods, args.examples, args.epochs, args.batch_size)
        ratios = {m: rates_once[m] / rates_once["vanilla"] for m in methods[1:]}
        shown = {m: round(r, 2) for m, r in rates_once.items()}
    print(
        json.dumps(
            {
                "examples": args.examples,
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "threads": torch.get_num_threads(),
                "mode": "whole runs" if args.whole_runs else "interleaved",
                "examples_per_s": shown,
                "ratio_to_vanilla": {m: round(r, 3) for m, r in ratios.items()},
                "target": ">= 0.45 (roast)",
            },
            indent=2,
        )
    )
    for method, ratio in ratios.items():
        print(f"RESULT {method.replace('-', '_')}_speed_ratio={ratio:.3f}")


if __name__ == "__main__":
    main()

"""Adversarial attack speed: candidate scoring pairs/s vs a bare batched forward over the same inputs, one run.

Candidates: the PWWS rows of the first sources of the demo RE data (each editable content word
replaced by [UNK] and by each of its WordNet synonyms, spliced into the source's ids), the rows
an attack scores. Attack side = building those rows (splicing) + Scorer.probabilities (padding,
the forward without attentions, softmax, to the CPU), batch_size rows per runner call. Bare side =
the same rows already padded into the same batches, `model(**inputs)` under inference_mode and
nothing else. Within a round the two sides alternate batch by batch (load from other processes on
a shared machine hits both alike); ROUNDS rounds after a warm-up, the ratio is the median over
rounds of (attack rows/s / bare rows/s). Target: ratio >= 0.80.

Also timed (information, not the target): whole attacks, as queries/s, for PWWS and HotFlip
(HotFlip's queries include its gradients: a backward pass each).

    .venv/bin/python bench/robustness_attack_speed.py [--rows 512] [--batch-size 32] [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import common

MODEL_ID = "demo-re"


def load():
    from app.core.data.demo import demo_dataset
    from app.core.inputs.units import unit_specs
    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry

    if not (common.MODELS_DIR / MODEL_ID / "headscope.json").exists():
        raise SystemExit(f"{common.MODELS_DIR / MODEL_ID} is missing: run `make prepare` first")
    registry = ModelRegistry(Path(common.MODELS_DIR), pick_device("auto"))
    registry.refresh()
    loaded = registry.get(MODEL_ID)
    specs, _ = unit_specs(loaded, list(demo_dataset("demo-re").examples))
    return loaded, specs


def candidate_plan(loaded, specs, rows: int):
    """[(source input, {word: piece ids})] for `rows` PWWS candidates, in source order."""
    from app.core.robustness.attacks.pwws import substitutes, wordnet_synonyms
    from app.core.robustness.attacks.word_rows import Pieces, lowercases, source_input

    synonyms, pieces, lowercase = wordnet_synonyms(), Pieces(loaded.tokenizer), lowercases(loaded)
    unk = loaded.tokenizer.unk_token_id
    plan = []
    for spec in specs:
        source = source_input(loaded, spec)
        for word in (w for w in (source.editable if source else []) if not w.stopword):
            plan.append((source, {word.index: [unk]}))
            plan += [(source, {word.index: pieces(text)}) for text in substitutes(word, synonyms, lowercase)]
        if len(plan) >= rows:
            return plan[:rows]
    return plan


def one_round(torch, scorer, loaded, plan, batches, batch_size: int) -> tuple[float, float]:
    """(attack seconds, bare seconds) over all rows, the two sides alternated batch by batch."""
    sync = torch.cuda.synchronize if loaded.device.type == "cuda" else (lambda: None)
    attack_s = bare_s = 0.0
    for b, inputs in enumerate(batches):
        started = time.perf_counter()
        rows = [source.splice(replacements) for source, replacements in plan[b * batch_size : (b + 1) * batch_size]]
        scorer.probabilities(rows)
        sync()
        middle = time.perf_counter()
        with torch.inference_mode():
            loaded.model(**inputs)
        sync()
        attack_s, bare_s = attack_s + middle - started, bare_s + time.perf_counter() - middle
    return attack_s, bare_s


def whole_attacks(loaded, specs, method: str, budget: int, batch_size: int) -> dict:
    from app.core.robustness.attacks.runner import attack

    started = time.perf_counter()
    outcomes = list(attack(loaded, specs, method, budget=budget, batch_size=batch_size))
    seconds = time.perf_counter() - started
    queries = sum(o.queries for o in outcomes)
    attacked = [o for o in outcomes if o.status != "skipped"]
    return {
        "method": method,
        "examples": len(specs),
        "attacked": len(attacked),
        "successes": sum(o.success for o in attacked),
        "queries": queries,
        "seconds": seconds,
        "queries_per_s": queries / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=512, help="candidate rows scored per round")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--attack-examples", type=int, default=8, help="sources per whole-attack timing (0: skip)")
    args = parser.parse_args()
    import torch

    from app.core.robustness.attacks.model_queries import Scorer, pad_rows

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded, specs = load()
    plan = candidate_plan(loaded, specs, args.rows)
    rows = [source.splice(replacements) for source, replacements in plan]
    scorer = Scorer(loaded, args.batch_size)
    pad_id = loaded.tokenizer.pad_token_id or 0
    batches = [
        pad_rows(rows[i : i + args.batch_size], pad_id, loaded.device) for i in range(0, len(rows), args.batch_size)
    ]
    one_round(torch, scorer, loaded, plan, batches[:2], args.batch_size)  # warm-up
    attack_rates, bare_rates = [], []
    for _ in range(args.rounds):
        attack_s, bare_s = one_round(torch, scorer, loaded, plan, batches, args.batch_size)
        attack_rates.append(len(rows) / attack_s)
        bare_rates.append(len(rows) / bare_s)
    ratios = [a / b for a, b in zip(attack_rates, bare_rates)]
    ratio = statistics.median(ratios)
    lengths = [len(ids) for ids, _ in rows]
    print(
        f"{MODEL_ID}: {len(rows)} PWWS candidate rows from {len({id(s) for s, _ in plan})} sources "
        f"({min(lengths)}-{max(lengths)} tokens), batch {args.batch_size}, {loaded.device}, "
        f"{torch.get_num_threads()} threads, median of {args.rounds} alternated rounds"
    )
    print(
        f"  bare batched forward      : {statistics.median(bare_rates):8.1f} rows/s   "
        f"{[round(x, 1) for x in bare_rates]}"
    )
    print(
        f"  attack candidate scoring  : {statistics.median(attack_rates):8.1f} rows/s   "
        f"{[round(x, 1) for x in attack_rates]}"
    )
    print(
        f"  ratio {ratio:.3f}, rounds {[round(r, 3) for r in ratios]} (target >= 0.80: "
        f"{'met' if ratio >= 0.8 else 'NOT met'})"
    )
    if args.attack_examples:
        for method in ("pwws", "hotflip"):
            run = whole_attacks(loaded, specs[: args.attack_examples], method, 500, args.batch_size)
            print(
                f"  whole {method:8s} attacks: {run['examples']} sources, {run['attacked']} attacked, "
                f"{run['successes']} successes, {run['queries']} queries in {run['seconds']:.1f} s = "
                f"{run['queries_per_s']:.1f} queries/s ({run['queries_per_s'] / statistics.median(bare_rates):.2f}x "
                "bare rows/s)"
            )


if __name__ == "__main__":
    main()

"""Faithfulness speed on the demo checkpoint (demo-absa-qa-m, 6 x 12 heads) and the 40-token demo pair.

(a) the faithfulness of every source on one input (app.core.faithfulness.evaluate_input: all 72 heads,
    the head mean, rollout, flow, integrated gradients (32 steps), gradient x input, 4 random rankings and
    the occlusion bounds, at k = 1, 5, 10, 20, 50%, comprehensiveness and sufficiency) vs a bare batched
    forward of the same erased rows (built here the same way, every row run, logits only, in the same
    row chunks). Target <= 1.5x. The figure is the median ratio over alternating rounds, as in
    intervention_speed.py; identical erasures run once in (a), which the baseline does not get to do.
(b) the dataset pass with the faithfulness probe (app.core.faithfulness.dataset_faithfulness, every dataset
    source: 72 heads, the head mean, norm-based attention, rollout, flow, gradient x input, IG with 16 steps,
    random) on the first --pairs pairs of the demo ABSA data: pairs/s, beside the same pass without the probe,
    and what each source's scores cost per pair (flow's share: whether its bound, flow_limit, is needed).

    .venv/bin/python bench/faithfulness_speed.py [--rounds 5] [--repeats 1] [--threads 1] [--pairs 4]
"""

from __future__ import annotations

import argparse
import time

import common
from timing import compare


def erased_rows(loaded, inspection, request):
    """Every erased row evaluate_input asks for (before deduplication), bool [R, T]."""
    import torch

    from app.core.attribution import content_mask, query_tokens
    from app.core.faithfulness import erasable_mask, metrics
    from app.core.faithfulness.evaluate import explained_label
    from app.core.faithfulness.sources import source_scores

    encoded = inspection.encoded
    erasable = erasable_mask(encoded, loaded.info.task, loaded.info.format)
    _, target = explained_label(loaded, inspection)
    query = query_tokens(encoded, "readout", loaded.info.task)
    found = source_scores(
        loaded,
        encoded.model_inputs(loaded.device),
        inspection.attention,
        query,
        ~content_mask(encoded),
        target,
        request.methods,
    )
    counts = metrics.token_counts(request.k_percents, int(erasable.sum()))
    scores = torch.cat([found.scores, torch.rand(2, erasable.shape[0])])  # + the occlusion ranking and its reverse
    rows = metrics.erasures(metrics.top_sets(scores, erasable, counts), erasable).reshape(-1, erasable.shape[0])
    single = torch.diag(erasable)[erasable]  # the occlusion rows
    return torch.cat([torch.zeros(1, erasable.shape[0], dtype=torch.bool), rows, single])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=4, help="(b): pairs of the demo ABSA data (0: skip (b))")
    args = parser.parse_args()

    import torch

    from app.core.faithfulness import FaithfulnessRequest, erased_inputs, evaluate_input
    from app.core.faithfulness.forwards import MAX_ROW_TOKENS, MAX_ROWS
    from app.core.passes.inspection import InspectionInput, inspect

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = common.load_demo()
    inspection = inspect(loaded, InspectionInput(common.REVIEW, common.ASPECT))
    tokens = len(inspection.encoded.input_ids)
    assert tokens == common.PAIR_TOKENS, f"the demo pair is {tokens} tokens, not {common.PAIR_TOKENS}"
    request = FaithfulnessRequest()
    rows = erased_rows(loaded, inspection, request)
    inputs = inspection.encoded.model_inputs(loaded.device)
    per_forward = max(1, min(MAX_ROWS, MAX_ROW_TOKENS // tokens))
    batches = [
        erased_inputs(inputs, rows[start : start + per_forward], None, loaded.tokenizer.pad_token_id)
        for start in range(0, rows.shape[0], per_forward)
    ]

    @torch.inference_mode()
    def bare_rows():
        for batch in batches:
            loaded.model(**batch).logits.softmax(-1)

    report = evaluate_input(loaded, inspection, request)
    print(
        f"{loaded.info.id} on {loaded.device}, {torch.get_num_threads()} thread(s), {tokens}-token pair, "
        f"{rows.shape[0]} erased rows ({report.rows['run']} distinct)"
    )
    print("parts of one run (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in report.timings_ms.items()))
    compare(
        "(a) faithfulness, all sources and heads",
        lambda: evaluate_input(loaded, inspection, request),
        bare_rows,
        args.rounds,
        args.repeats,
        1.5,
    )
    if args.pairs:
        dataset_pass(loaded, args.pairs)


def dataset_pass(loaded, pairs: int) -> None:
    """(b): pairs/s of the dataset pass with the faithfulness probe, and of the same pass alone."""
    from app.core.data.demo import demo_dataset
    from app.core.faithfulness import FaithfulnessProbe, dataset_faithfulness
    from app.core.inputs.units import encode_unit, unit_specs
    from app.core.passes.attention_pass import attention_pass

    specs, _ = unit_specs(loaded, list(demo_dataset("demo-absa").examples))
    started = time.perf_counter()
    attention_pass(loaded, specs[:pairs], lambda spec: encode_unit(loaded, spec, None, 128), [], batch_size=16)
    bare = pairs / (time.perf_counter() - started)
    section = dataset_faithfulness(loaded, specs, FaithfulnessProbe(loaded, pairs), max_length=128, bootstrap=100)
    print(
        f"(b) dataset pass with faithfulness: {section.pairs_per_s:.3f} pairs/s on {section.pairs} pairs "
        f"(the same pass without the probe: {bare:.1f} pairs/s)"
    )
    costs = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(section.source_ms.items(), key=lambda kv: -kv[1]))
    print(f"    scores per pair (ms, erasure forwards not included): {costs}")


if __name__ == "__main__":
    main()

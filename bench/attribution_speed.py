"""Attribution speed: integrated gradients, rollout / flow in a live inspection, and the dataset agreement.

Each figure is a ratio against a baseline measured in the same process, alternated over ROUNDS rounds
after a warm-up (the median of the rounds' ratios, so load from other processes hits both alike):

1. IG with 32 steps on the 40-token demo pair (app.core.attribution.gradients: the 32 interpolated
   rows in one forward + backward, plus the 2-row forward of input and baseline for the completeness
   gap) vs a bare forward + backward of a 32-row batch of that pair (word embeddings in, gradient of
   the target logit back to them). Target: <= 3x.
2. A live inspection as the server runs it (InspectService.run: forward with attentions, compact
   attention of every layer; its inspection cache off) with "attribution": ["rollout"], ["flow"] and
   both (each with its per-head agreement maps) vs the same request without, the two back to back in
   alternating order (the median of the pairs' ratios). Target: <= 1.10x.
   Then flow's max-flows alone against scipy's maximum_flow per token on the same network, and, for
   scale, Abnar & Zuidema's own way to get flow (networkx's maximum flow per token) once.
3. The analysis pass (`analyze`'s statistics pass: encoding, forward with attentions, every statistic)
   with the dataset agreement on and integrated gradients off vs a bare batched forward with
   attentions over the same pairs (bench/analysis_speed.py's baseline). Target: >= 0.80x. Then one
   run with integrated gradients on, which prints its own pairs/s.

    .venv/bin/python bench/attribution_speed.py [--rounds 5] [--pairs 160] [--ig-pairs 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import common
from timing import timed

IG_STEPS = 32


def load():
    import torch

    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry

    common.require_checkpoint()
    registry = ModelRegistry(common.MODELS_DIR, pick_device("auto"))
    registry.refresh()
    return torch, registry, registry.get(common.MODEL_ID)


def ig_against_bare(torch, loaded, rounds: int) -> dict:
    from app.core.attribution.gradients import integrated_gradients
    from app.core.attribution.tokens import content_mask
    from app.core.passes.inspection import InspectionInput, encode_for_checkpoint

    encoded = encode_for_checkpoint(loaded, InspectionInput(common.REVIEW, common.ASPECT))
    assert len(encoded.input_ids) == common.PAIR_TOKENS, len(encoded.input_ids)
    inputs = encoded.model_inputs(loaded.device)
    keep = (~content_mask(encoded)).unsqueeze(0).to(loaded.device)
    target = torch.tensor([0])
    model = loaded.model
    rows = {name: value.repeat(IG_STEPS, 1) for name, value in inputs.items()}

    def bare() -> None:
        embeds = model.get_input_embeddings()(rows["input_ids"]).detach().requires_grad_()
        logits = model(
            inputs_embeds=embeds, attention_mask=rows["attention_mask"], token_type_ids=rows["token_type_ids"]
        ).logits
        torch.autograd.grad(logits[:, 0].sum(), embeds)

    def ig() -> None:
        integrated_gradients(model, inputs, keep, target, loaded.tokenizer.pad_token_id, IG_STEPS)

    bare(), ig()  # warm-up
    pairs = [(timed(ig), timed(bare)) for _ in range(rounds)]
    return {
        "ig_s": [a for a, _ in pairs],
        "bare_s": [b for _, b in pairs],
        "ratio": statistics.median(a / b for a, b in pairs),
    }


def live_inspection(registry, rounds: int, repeats: int = 20) -> dict:
    """Per variant: requests with and without attribution back to back, `repeats` pairs a round; the
    ratio is the median over every pair of (with / without), the added time the median difference."""
    from app.web.inspect_service import InspectService
    from app.web.request_bodies import InspectRequest

    service = InspectService(registry, cache_size=0)  # every request runs the model again
    plain = InspectRequest(model=common.MODEL_ID, text=common.REVIEW, aspect=common.ASPECT)
    variants = {"rollout": ["rollout"], "flow": ["flow"], "rollout+flow": ["rollout", "flow"]}
    requests = {name: plain.model_copy(update={"attribution": methods}) for name, methods in variants.items()}
    for request in [plain, *requests.values()]:
        service.run(request)  # warm-up
    pairs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}

    def pair(request, first_plain: bool) -> tuple[float, float]:
        """(without, with), run in the given order: the order alternates (ABBA), as the second of two
        back-to-back requests is measurably slower or faster than the first on a busy machine."""
        if first_plain:
            without = timed(lambda: service.run(plain))
            return without, timed(lambda: service.run(request))
        with_ = timed(lambda: service.run(request))
        return timed(lambda: service.run(plain)), with_

    for _ in range(rounds):
        for name, request in requests.items():
            pairs[name] += [pair(request, i % 2 == 0) for i in range(repeats)]
    base = [a for found in pairs.values() for a, _ in found]
    return {
        "plain_s": statistics.median(base),
        "ratios": {name: statistics.median(b / a for a, b in found) for name, found in pairs.items()},
        "added_ms": {name: 1000 * statistics.median(b - a for a, b in found) for name, found in pairs.items()},
    }


def networkx_flow_seconds(loaded) -> float:
    """Abnar & Zuidema's construction (their attention_graph_util) with networkx's maximum flow, once."""
    import itertools

    import networkx as nx

    from app.core.attribution.graph import residual_attention
    from app.core.passes.inspection import InspectionInput, inspect

    mixing = residual_attention(inspect(loaded, InspectionInput(common.REVIEW, common.ASPECT)).attention).double()
    layers, length, _ = mixing.shape
    started = time.perf_counter()
    graph = nx.DiGraph()
    for layer, i, j in itertools.product(range(layers), range(length), range(length)):
        graph.add_edge((layer, j), (layer + 1, i), capacity=float(mixing[layer, i, j]))
    for j in range(length):
        nx.maximum_flow_value(graph, (0, j), (layers, 0))
    return time.perf_counter() - started


def flow_solver_against_scipy(torch, loaded, rounds: int, repeats: int = 20) -> dict:
    """The max-flows of one input's attention flow (every token of the 40-token pair to [CLS]): the
    compiled layered solver (app/core/attribution/maxflow.py, torch's thread count) vs scipy's
    maximum_flow once per token on the same integer network, alternated; the values must be equal."""
    from app.core.attribution.flow_network import scipy_max_flows
    from app.core.attribution.flow_solver import layered_max_flows
    from app.core.attribution.graph import flow_capacities
    from app.core.passes.inspection import InspectionInput, inspect

    capacity, to_sink = flow_capacities(inspect(loaded, InspectionInput(common.REVIEW, common.ASPECT)).attention, [0])

    def scipy_flows() -> list[int]:  # its CSR matrix built per input, as it would have to be
        return scipy_max_flows(capacity, to_sink)

    threads = torch.get_num_threads()
    assert layered_max_flows(capacity, to_sink, threads=threads).tolist() == scipy_flows()
    pairs = [
        (timed(lambda: layered_max_flows(capacity, to_sink, threads=threads)), timed(scipy_flows))
        for _ in range(rounds * repeats)
    ]
    return {
        "ours_ms": 1000 * statistics.median(a for a, _ in pairs),
        "scipy_ms": 1000 * statistics.median(b for _, b in pairs),
        "ratio": statistics.median(b / a for a, b in pairs),
        "threads": threads,
        "tokens": len(to_sink),
    }


def analysis_pass(torch, loaded, pairs: int, ig_pairs: int, rounds: int, batch_size: int = 16) -> dict:
    from analysis_speed import bare_pass

    from app.core.data.demo import demo_dataset
    from app.core.heads.analysis import analyze
    from app.core.heads.settings import AnalysisSettings
    from app.core.inputs.units import unit_specs

    dataset = demo_dataset("demo-absa")
    specs = unit_specs(loaded, list(dataset.examples))[0][:pairs]
    plain = AnalysisSettings(
        max_examples=pairs, batch_size=batch_size, bootstrap=200, js_sample=0, importance=False, agreement=True
    )
    bare_pass(torch, loaded, specs[: batch_size * 2], batch_size)  # warm-up
    analyze(loaded, dataset, plain.model_copy(update={"max_examples": batch_size * 2}))
    bare, agreed, without = [], [], []
    for _ in range(rounds):
        bare.append(len(specs) / bare_pass(torch, loaded, specs, batch_size))
        agreed.append(analyze(loaded, dataset, plain).pairs_per_s)
        without.append(analyze(loaded, dataset, plain.model_copy(update={"agreement": False})).pairs_per_s)
    with_ig = analyze(
        loaded, dataset, plain.model_copy(update={"ig": True, "ig_steps": IG_STEPS, "max_examples": ig_pairs})
    )
    return {
        "pairs": len(specs),
        "bare": bare,
        "agreement": agreed,
        "no_agreement": without,
        "ratio": statistics.median(a / b for a, b in zip(agreed, bare)),
        "ratio_without": statistics.median(a / b for a, b in zip(without, bare)),
        "ig": with_ig.to_json()["attribution"]["ig"],
        "ig_pass_pairs_per_s": with_ig.pairs_per_s,
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=160, help="demo-absa pairs for the analysis pass")
    parser.add_argument("--ig-pairs", type=int, default=32, help="pairs for the run with integrated gradients")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--skip-networkx", action="store_true", help="leave out the networkx flow timing")
    args = parser.parse_args()
    torch, registry, loaded = load()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"{common.MODEL_ID}, {loaded.device}, {torch.get_num_threads()} threads, "
        f"median of {args.rounds} alternated rounds"
    )

    ig = ig_against_bare(torch, loaded, args.rounds)
    print(
        f"1. IG {IG_STEPS} steps, {common.PAIR_TOKENS}-token pair: {1000 * statistics.median(ig['ig_s']):.1f} ms "
        f"vs bare forward+backward of a {IG_STEPS}-row batch {1000 * statistics.median(ig['bare_s']):.1f} ms: "
        f"ratio {ig['ratio']:.2f} (target <= 3: {verdict(ig['ratio'] <= 3)})"
    )

    live = live_inspection(registry, args.rounds)
    print(f"2. live inspection (all layers, compact): p50 {1000 * live['plain_s']:.1f} ms without attribution")
    for name, ratio in live["ratios"].items():
        print(
            f"   + {name:<13} ratio {ratio:.3f}, +{live['added_ms'][name]:.1f} ms "
            f"(target <= 1.10: {verdict(ratio <= 1.10)})"
        )
    solver = flow_solver_against_scipy(torch, loaded, args.rounds)
    print(
        f"   flow's {solver['tokens']} max-flows alone: {solver['ours_ms']:.2f} ms (compiled layered Dinic, "
        f"{solver['threads']} threads) vs scipy's maximum_flow per token {solver['scipy_ms']:.2f} ms: "
        f"{solver['ratio']:.1f}x faster, the same values"
    )
    if not args.skip_networkx:
        print(
            f"   for scale: flow with networkx's maximum flow per token (Abnar & Zuidema's way): "
            f"{networkx_flow_seconds(loaded):.2f} s"
        )

    run = analysis_pass(torch, loaded, args.pairs, args.ig_pairs, args.rounds)
    print(
        f"3. analysis pass over {run['pairs']} demo-absa pairs, batch 16: bare forward with attentions "
        f"{statistics.median(run['bare']):.1f} pairs/s; with the agreement (IG off) "
        f"{statistics.median(run['agreement']):.1f} pairs/s: ratio {run['ratio']:.3f} "
        f"(target >= 0.80: {verdict(run['ratio'] >= 0.8)}); without it "
        f"{statistics.median(run['no_agreement']):.1f} pairs/s, ratio {run['ratio_without']:.3f}"
    )
    ig_run = run["ig"]
    print(
        f"   with integrated gradients ({ig_run['steps']} steps, {ig_run['examples']} pairs): "
        f"{ig_run['pairs_per_s']:.2f} pairs/s for IG itself "
        f"(statistics pass {run['ig_pass_pairs_per_s']:.1f} pairs/s); "
        "completeness gap mean "
        f"{100 * ig_run['mean_relative_gap']:.1f}%, max {100 * ig_run['max_relative_gap']:.1f}%"
    )


if __name__ == "__main__":
    main()

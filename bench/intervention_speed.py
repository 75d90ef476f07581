"""Intervention speed on the demo checkpoint (demo-absa-qa-m, 6 x 12 heads) and the 40-token demo pair.

Each figure is a ratio against a baseline measured in the same process, the two back to back in
alternating order over ROUNDS rounds after a warm-up (the median of the rounds' ratios, each round's
time the median of REPEATS runs), so load from other processes hits both alike:

(a) one intervened inspection (app.core.passes.intervention.inspect_intervened, PyTorch path, head
    (2, 5) zeroed: the intervened forward with attentions and the inspection built from it) vs a bare
    PyTorch forward with attentions of the same input. Target <= 1.2x. Measured with the plain
    outcome already known ("warm": what the server does for a second intervention on one input, its
    plain outcome kept) and for a new input ("new", the plain outcome computed too): one forward forked
    at the intervened layer (the layers before it run once, the rest as two rows, plain and intervened),
    with head 5 zeroed in the first, a middle and the last layer; beside it the two separate forwards a
    new input cost before the fork (plain without attentions, then intervened). Mean ablation on a warm
    reference costs the same as zeroing (one hook per layer).
(b) the knock-out map (app.core.passes.knockout.knockout_map: 72 heads + 6 layers + the plain row, in one
    batched forward of 79 rows) vs a bare batched forward of 72 rows of that pair (logits only).
    Target <= 1.5x.

Each line also gives the mean of the rounds' ratios with its 95% percentile bootstrap CI over the rounds
(app.core.stats.bootstrap, n = rounds): on a loaded machine single rounds jump.

    .venv/bin/python bench/intervention_speed.py [--rounds 7] [--repeats 5] [--threads 1] [--no-knockout]
"""

from __future__ import annotations

import common
from timing import compare


def main() -> None:
    parser = common.timing_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--no-knockout", action="store_true", help="measure (a) only")
    args = parser.parse_args()

    import torch

    from app.core.model.attention import forward_with_attention
    from app.core.model.interventions import Intervention
    from app.core.passes.inspection import batch_inputs
    from app.core.passes.intervention import inspect_intervened, plain_outcome
    from app.core.passes.knockout import knockout_map

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = common.load_demo()
    prepared, tokens = common.prepared_demo_pair(loaded)
    inputs = batch_inputs(loaded, [prepared])
    rows = {name: value.repeat(72, 1) for name, value in inputs.items()}
    zeroed = Intervention(((2, 5),))
    before = plain_outcome(loaded, prepared)

    def bare_with_attention():
        forward_with_attention(loaded.model, inputs)

    @torch.inference_mode()
    def bare_72_rows():
        loaded.model(**rows)

    print(f"{loaded.info.id} on {loaded.device}, {torch.get_num_threads()} thread(s), {tokens}-token pair")
    for _ in range(3):  # warm-up: allocator, kernels, the first hooks
        bare_with_attention(), inspect_intervened(loaded, prepared, zeroed, before), knockout_map(loaded, prepared)
    compare(
        "(a) intervened inspection, warm",
        lambda: inspect_intervened(loaded, prepared, zeroed, before),
        bare_with_attention,
        args.rounds,
        args.repeats,
        1.2,
    )
    layers = loaded.info.num_layers
    for layer in (0, layers // 2, layers - 1):  # the first, a middle and the last layer
        one = Intervention(((layer, 5),))
        compare(
            f"(a) intervened inspection, new input, head {layer}.5 zeroed (forked)",
            lambda one=one: inspect_intervened(loaded, prepared, one),
            bare_with_attention,
            args.rounds,
            args.repeats,
            1.2,
        )
    compare(
        "(a) intervened inspection, new input, two separate forwards (before the fork)",
        lambda: inspect_intervened(loaded, prepared, zeroed, plain_outcome(loaded, prepared)),
        bare_with_attention,
        args.rounds,
        args.repeats,
        1.2,
    )
    if args.no_knockout:
        return
    compare(
        "(b) knock-out map, 79 rows",
        lambda: knockout_map(loaded, prepared),
        bare_72_rows,
        args.rounds,
        max(1, args.repeats // 2),
        1.5,
    )


if __name__ == "__main__":
    main()

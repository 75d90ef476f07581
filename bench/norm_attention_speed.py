"""Norm-based attention speed on the demo checkpoint (demo-absa-qa-m, 6 x 12 heads) and the 40-token demo pair.

Ratios against a baseline measured in the same process, back to back in alternating order over ROUNDS
rounds after a warm-up (the median of the rounds' ratios, each round's time the median of REPEATS runs;
beside it the mean of the rounds' ratios with its 95% percentile bootstrap CI, n = ROUNDS):

(a) a live inspection with attention_kind=norm (app.core.passes.inspection.inspect_batch with
    app.core.model.norm_attention.norm_forward: the value vectors read by hooks in the forward with
    attentions, ||f_h(x_j)|| through each head's W_O Gram matrix, the product with the weights, rows divided by
    their sums) vs the plain inspection of the same input (inspect_batch, PyTorch eager). Target <= 1.10.
(b) the same with the web service's whole answer (InspectService.run: cache off, no batcher, compact payload
    of all layers) for both kinds: what a request costs end to end on the model side. Target <= 1.10.
(c) the analysis pass's forward of a 16-row batch of that pair (app.core.passes.attention_pass.forward_pass,
    attention_kind norm vs weights): what --attention norm adds to the pass's forward (for information).

Not measured: against the ONNX Runtime fast path, which answers plain inspections on the server when it is
built; norm-based attention always runs the PyTorch forward (it needs the value hooks).

    .venv/bin/python bench/norm_attention_speed.py [--rounds 7] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import common
from timing import compare


def main() -> None:
    parser = common.timing_parser(__doc__.split("\n\n")[0])
    args = parser.parse_args()

    import torch

    from app.core.model.norm_attention import norm_forward
    from app.core.model.registry import ModelRegistry
    from app.core.passes.attention_pass import forward_pass
    from app.core.passes.inspection import batch_inputs, inspect_batch
    from app.web.inspect_service import InspectService
    from app.web.request_bodies import InspectRequest

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = common.load_demo()
    prepared, tokens = common.prepared_demo_pair(loaded)
    rows = {name: value.repeat(16, 1) for name, value in batch_inputs(loaded, [prepared]).items()}
    norm = norm_forward(loaded.model)

    registry = ModelRegistry(common.MODELS_DIR, loaded.device)
    registry.refresh()
    service = InspectService(registry, cache_size=0)
    ask = {"model": common.MODEL_ID, "text": common.REVIEW, "aspect": common.ASPECT}
    plain_request, norm_request = InspectRequest(**ask), InspectRequest(**ask, attention_kind="norm")

    def plain_inspection():
        inspect_batch(loaded, [prepared])

    def norm_inspection():
        inspect_batch(loaded, [prepared], norm)

    print(f"{loaded.info.id} on {loaded.device}, {torch.get_num_threads()} thread(s), {tokens}-token pair")
    for _ in range(3):  # warm-up: allocator, kernels, the first hooks, the Gram matrices
        plain_inspection(), norm_inspection(), service.run(plain_request), service.run(norm_request)
        forward_pass(loaded.model, rows, "norm"), forward_pass(loaded.model, rows, "weights")
    compare("(a) norm-based inspection vs plain", norm_inspection, plain_inspection, args.rounds, args.repeats, 1.10)
    compare(
        "(b) InspectService.run, norm vs weights",
        lambda: service.run(norm_request),
        lambda: service.run(plain_request),
        args.rounds,
        args.repeats,
        1.10,
    )
    compare(
        "(c) analysis pass forward, 16 rows, norm vs weights",
        lambda: forward_pass(loaded.model, rows, "norm"),
        lambda: forward_pass(loaded.model, rows, "weights"),
        args.rounds,
        max(1, args.repeats // 2),
        float("inf"),
    )


if __name__ == "__main__":
    main()

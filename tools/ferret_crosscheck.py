"""ferret's side of the faithfulness cross-check: gradient x input and ERASER comprehensiveness / sufficiency
of one single-sentence input, computed by ferret (ferret-xai 0.4.2), as JSON on stdout.

Runs in .venv-ferret (`make ferret-venv`), never in the project's venv: it imports nothing of headscope.
tests/core/faithfulness/test_ferret_crosscheck.py runs it on a saved Hugging Face folder and compares it with
headscope's own figures; docs/how-to/faithfulness.md says how the two definitions are mapped.

    .venv-ferret/bin/python tools/ferret_crosscheck.py --model FOLDER --text "the pasta was great" --k 1 2 3

--k are token counts (ferret's based_on="k"), not percentages: headscope's n_k = ceil(k% x erasable tokens)
is computed by the caller and handed over, so both sides erase the same number of tokens.
"""

from __future__ import annotations

import argparse
import json
import warnings


def evaluate(model_dir: str, text: str, target: int | None, counts: list[int]) -> dict:
    import torch
    from ferret import AOPC_Comprehensiveness_Evaluation, AOPC_Sufficiency_Evaluation, GradientExplainer
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        probabilities = model(**tokenizer(text, return_tensors="pt")).logits.softmax(-1)[0]
    target = int(probabilities.argmax()) if target is None else target
    explanation = GradientExplainer(model, tokenizer, multiply_by_inputs=True)(text, target=target)
    # the mapping to headscope's definitions (docs/how-to/faithfulness.md): [CLS] and [SEP] never erased,
    # tokens removed (not masked), n_k tokens per bin; only_pos: ferret 0.4.2 fails on only_pos=False under numpy 1.25+
    # (an array compared with []), so only positive scores are ranked and the caller keeps n_k within them
    common = {"remove_first_last": True, "only_pos": True}

    def removal(thresholds: list[int]) -> dict:
        return {"removal_args": {"remove_tokens": True, "based_on": "k", "thresholds": thresholds}}

    found: dict = {
        "target": target,
        "probability": float(probabilities[target]),
        "tokens": list(explanation.tokens),
        "scores": [float(s) for s in explanation.scores],
        "counts": counts,
    }
    for name, evaluator in (
        ("comprehensiveness", AOPC_Comprehensiveness_Evaluation(model, tokenizer)),
        ("sufficiency", AOPC_Sufficiency_Evaluation(model, tokenizer)),
    ):
        # one bin at a time gives the per-k figures; all bins at once ferret's own AOPC (its mean over the bins)
        found[name] = [
            float(evaluator.compute_evaluation(explanation, target, **common, **removal([n])).score) for n in counts
        ]
        found[f"aopc_{name}"] = float(
            evaluator.compute_evaluation(explanation, target, **common, **removal(counts)).score
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a Hugging Face folder (config, weights, tokenizer)")
    parser.add_argument("--text", required=True, help="one sentence")
    parser.add_argument("--target", type=int, default=None, help="label index explained (default: the predicted)")
    parser.add_argument("--k", type=int, nargs="+", required=True, help="tokens per bin, distinct, increasing")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # ferret's and numpy's deprecation notes would go to stderr only
    print(json.dumps(evaluate(args.model, args.text, args.target, args.k)))


if __name__ == "__main__":
    main()

"""headscope's comprehensiveness and sufficiency against ferret's (ferret-xai 0.4.2) on one single-sentence input.

ferret cannot live in the project's venv (it needs transformers < 5, numpy < 2), so it runs in .venv-ferret,
built by `make ferret-venv` when absent, through tools/ferret_crosscheck.py (JSON out). The model is the tiny
test BERT (seeded random weights) saved as a Hugging Face folder, its encoder's, pooler's and classifier's
weights scaled up so that erasing tokens moves the predicted label's probability by tenths, not thousandths.
Both sides explain the predicted label with gradient x input on the word embeddings and erase the same n_k
tokens per bin by removal, [CLS] and [SEP] never; the mapping is in docs/how-to/faithfulness.md. A missing
registry skips; a registry that answers while the install fails is a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_model import tiny_checkpoint

from app.core.attribution import gradient_x_input
from app.core.faithfulness import erasable_mask, metrics
from app.core.faithfulness.erasure import replacement_id
from app.core.faithfulness.evaluate import per_k_scores
from app.core.faithfulness.forwards import ErasedProbabilities
from app.core.inputs.encoding import encode_segments

pytestmark = pytest.mark.ferret

ROOT = Path(__file__).resolve().parents[3]
FERRET_PYTHON = ROOT / ".venv-ferret" / "bin" / "python"
SENTENCE = "the pasta was great but the waiter was rude and slow"  # whole-word tokens: decoding round-trips
K_PERCENTS = (10.0, 20.0, 30.0, 50.0)  # 11 erasable tokens -> n_k = 2, 3, 4, 6 (distinct, as ferret needs)


def pypi_answers() -> bool:
    found = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "ferret-xai"], capture_output=True, text=True, timeout=120
    )
    return found.returncode == 0 and "ferret-xai" in found.stdout


@pytest.fixture(scope="module")
def ferret_python() -> Path:
    if (FERRET_PYTHON.parent.parent / ".installed").exists():
        return FERRET_PYTHON
    if not pypi_answers():
        pytest.skip("the package registry is unreachable: .venv-ferret cannot be built")
    built = subprocess.run(["make", "ferret-venv"], cwd=ROOT, capture_output=True, text=True, timeout=3000)
    if built.returncode != 0:
        pytest.fail(f"make ferret-venv failed while the registry answers:\n{(built.stdout + built.stderr)[-4000:]}")
    return FERRET_PYTHON


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory):
    loaded = tiny_checkpoint("absa", seed=0)
    with torch.no_grad():  # larger weights: the seeded init's (std 0.02) barely lets a token move the output
        for module in loaded.model.bert.encoder.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.mul_(25)
        loaded.model.bert.pooler.dense.weight.mul_(20)
        loaded.model.classifier.weight.mul_(20)
    folder = tmp_path_factory.mktemp("tiny-hf")
    loaded.model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return loaded, folder


def headscope_side(loaded) -> dict:
    encoded = encode_segments(loaded.tokenizer, SENTENCE, None, 128)
    erasable = erasable_mask(encoded, "absa", "qa-m")  # one segment: every token but [CLS] and [SEP]
    inputs = encoded.model_inputs(loaded.device)
    with torch.no_grad():
        target = int(loaded.model(**inputs).logits.argmax(-1))
    scores = gradient_x_input(loaded.model, inputs, torch.tensor([target]))[0]
    probability = ErasedProbabilities(loaded, inputs, target, replacement_id(loaded.tokenizer, "remove"))
    full = float(probability(torch.zeros(1, erasable.shape[0], dtype=torch.bool))[0])
    counts = metrics.token_counts(K_PERCENTS, int(erasable.sum()))
    per_k = per_k_scores(scores.unsqueeze(0), erasable, counts, probability, full)
    return {
        "target": target,
        "probability": full,
        "tokens": [token.text for token in encoded.tokens],
        "scores": scores.tolist(),
        "counts": counts,
        **{name: values[0].tolist() for name, values in per_k.items()},
        **{f"aopc_{name}": float(metrics.aopc(values[0])) for name, values in per_k.items()},
    }


def test_comprehensiveness_and_sufficiency_match_ferret(ferret_python: Path, saved) -> None:
    loaded, folder = saved
    ours = headscope_side(loaded)
    # ferret ranks only positive scores (see tools/ferret_crosscheck.py): every bin must fit within them
    assert ours["counts"] == [2, 3, 4, 6] and sum(s > 0 for s in ours["scores"][1:-1]) >= max(ours["counts"])
    command = [str(ferret_python), str(ROOT / "tools" / "ferret_crosscheck.py"), "--model", str(folder)]
    command += ["--text", SENTENCE, "--target", str(ours["target"]), "--k", *map(str, ours["counts"])]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stderr[-4000:]
    theirs = json.loads(ran.stdout)
    assert theirs["tokens"] == ours["tokens"]
    assert theirs["probability"] == pytest.approx(ours["probability"], abs=1e-6)
    assert theirs["scores"] == pytest.approx(ours["scores"], rel=1e-4, abs=1e-6)
    for name in metrics.METRICS:
        assert theirs[name] == pytest.approx(ours[name], abs=1e-5), name
        assert theirs[f"aopc_{name}"] == pytest.approx(ours[f"aopc_{name}"], abs=1e-5), name
    # the comparison has something to compare: erasing the top tokens moves the label's probability
    assert max(abs(v) for v in ours["comprehensiveness"] + ours["sufficiency"]) > 0.1

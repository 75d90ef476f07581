"""The minimal trainer on a tiny slice of the demo data gives a loadable checkpoint; QA-B inspection."""

import json

import pytest
import torch

from app.core.data.demo import read_review_sentences
from app.core.inputs.encoding import B_FORMAT_POLARITIES, LabelledInput, encode_absa
from app.core.model.checkpoint import load_checkpoint, read_checkpoint_info
from app.core.model.embedded import embedded_base_model
from app.core.passes.inspection import InspectionInput, inspect
from app.core.training.loop import TrainingArgs, loss_weights, train_classifier


@pytest.fixture(scope="module")
def qa_b_checkpoint(tmp_path_factory):
    """QA-B (Sun et al.): one yes/no pair per polarity; trained for one epoch on 24 sentences."""
    sentences = [s for s in read_review_sentences() if "food" in s.category_polarities()][:24]

    def build(tokenizer):
        return [
            LabelledInput(
                encode_absa(tokenizer, s.text, "food", "qa-b", polarity=p),
                int(s.category_polarities()["food"] == p),
                s.id,
            )
            for s in sentences
            for p in B_FORMAT_POLARITIES
        ]

    out = tmp_path_factory.mktemp("models") / "tiny-qa-b"
    result = train_classifier(
        embedded_base_model(),
        ["no", "yes"],
        build,
        out,
        {"task": "absa", "format": "qa-b"},
        TrainingArgs(epochs=1, batch_size=16, dev_fraction=0.25),
        progress=False,
    )
    return result


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_one_epoch_gives_a_loadable_checkpoint_with_metrics(qa_b_checkpoint):
    meta = json.loads((qa_b_checkpoint.path / "headscope.json").read_text())
    assert meta["metrics"]["dev"]["n"] == 6 * len(B_FORMAT_POLARITIES)
    assert meta["training"]["args"]["epochs"] == 1 and meta["labels"] == ["no", "yes"]
    assert (qa_b_checkpoint.path / "model.safetensors").exists()
    assert not list(qa_b_checkpoint.path.parent.glob(".tmp-*"))


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_qa_b_inspection_scores_every_polarity(qa_b_checkpoint):
    loaded = load_checkpoint(read_checkpoint_info(qa_b_checkpoint.path), torch.device("cpu"))
    result = inspect(loaded, InspectionInput("The pasta was great but the waiter was rude.", "food"))
    probabilities = result.prediction.probabilities
    assert list(probabilities) == list(B_FORMAT_POLARITIES)
    assert sum(probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert result.prediction.label == max(probabilities, key=probabilities.get)
    # The attention shown is the winning auxiliary sentence's pair, auxiliary first.
    assert result.encoded.segments["a"] == f"the polarity of the aspect food is {result.prediction.label}"
    n = len(result.encoded.input_ids)
    assert result.attention.shape == (6, 12, n, n)
    assert torch.allclose(result.attention.sum(-1), torch.ones(6, 12, n), atol=1e-5)


def test_class_weights_are_capped():
    weights = loss_weights([0] * 100 + [1] * 25 + [2], 3, "sqrt-inverse")
    assert weights.tolist() == pytest.approx([1.0, 2.0, 2.0])
    assert loss_weights([0, 1], 2, "none").tolist() == [1.0, 1.0]


def test_a_base_stored_in_half_precision_trains_in_float32(tmp_path):
    """A base model shared in float16 (weights and config) is fine-tuned in float32: transformers 5 would keep its
    stored dtype, and half precision on a CPU collapsed training (dev macro-F1 0.08 where float32 gave 0.84)."""
    from safetensors import safe_open
    from tiny_model import tiny_checkpoint

    base = tmp_path / "half-base"
    tiny = tiny_checkpoint("absa")
    tiny.model.half().save_pretrained(base, safe_serialization=True)
    tiny.tokenizer.save_pretrained(base)
    sentences = [s for s in read_review_sentences() if "food" in s.category_polarities()][:16]

    def build(tokenizer):
        return [LabelledInput(encode_absa(tokenizer, s.text, "food", "qa-m"), 0, s.id) for s in sentences]

    result = train_classifier(
        str(base),
        list(tiny.info.labels),
        build,
        tmp_path / "tuned",
        {"task": "absa", "format": "qa-m"},
        TrainingArgs(epochs=1, batch_size=8, dev_fraction=0.25),
        progress=False,
    )
    with safe_open(result.path / "model.safetensors", "pt") as weights:
        assert {weights.get_tensor(name).dtype for name in weights.keys()} == {torch.float32}

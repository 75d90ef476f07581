"""RoAST fine-tuning (app/core/training/roast.py, app/core/training/selective.py) on the tiny 2x2 BERT and the
demo reviews: one epoch changes only the encoder weights its mask keeps (checked on the saved weights), the
Fisher ranking keeps the expected share, the perturbation and the consistency loss by their definitions, bad
settings refused naming what is accepted, and the method recorded in the model card."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from tiny_model import ABSA_LABELS, tiny_checkpoint  # tests/ is on sys.path (rootdir conftest)
from typer.testing import CliRunner

from app.core.training.demo_checkpoints import absa_category_examples
from app.core.training.loop import TrainingArgs, TrainOptions, train_classifier
from app.core.training.recipes import Recipe, TrainSpec, recipe_spec, train_on_data
from app.core.training.roast import MethodError, TrainingMethod, method_settings, perturbation, symmetric_kl
from app.core.training.selective import ENCODER_PARAMETER, SelectiveMask, expected_keep_share, keep_probability


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """The tiny BERT saved as a Hugging Face folder, so train_classifier can start from it."""
    loaded = tiny_checkpoint("absa", seed=3)
    folder = tmp_path_factory.mktemp("tiny-base")
    loaded.model.save_pretrained(folder, safe_serialization=True)
    loaded.tokenizer.save_pretrained(folder)
    return folder


def demo_pairs(n: int):
    build = absa_category_examples("qa-m", 64)
    return lambda tokenizer: build(tokenizer)[:n]


class Watched(TrainingMethod):
    """Keeps a copy of the weights and of the mask at the start of every epoch."""

    def start_epoch(self, epoch, batches):
        super().start_epoch(epoch, batches)
        self.snapshots = getattr(self, "snapshots", [])
        self.snapshots.append(
            (
                {n: p.detach().clone() for n, p in self.model.named_parameters()},
                [k.clone() for k in self.mask.keep] if self.mask is not None else None,
            )
        )


def train_tiny(base, out, method, epochs=1, n=48, lr=2e-3):
    args = TrainingArgs(epochs=epochs, learning_rate=lr, batch_size=16, dev_fraction=0.0, warmup_ratio=0.0, seed=5)
    return train_classifier(
        str(base),
        ABSA_LABELS,
        demo_pairs(n),
        out,
        {"task": "absa", "format": "qa-m"},
        args,
        progress=False,
        options=TrainOptions(method=method),
    )


def changed_outside_and_inside(before, after, keep):
    changed = before != after
    return int((changed & (keep == 0)).sum()), int((changed & (keep > 0)).sum()), int((keep > 0).sum())


@pytest.mark.parametrize("name", ["roast", "selective-only"])
def test_one_epoch_changes_only_the_weights_its_mask_keeps(tiny_base, tmp_path, name):
    method = Watched(method_settings(name, {"alpha": 0.5, "beta": 5, "fisher_fraction": 0.5}), seed=5)
    result = train_tiny(tiny_base, tmp_path / name, method)
    before, keep = method.snapshots[0]
    after = load_file(str(result.path / "model.safetensors"))
    mask = method.mask
    outside = inside = kept = 0
    for param_name, k in zip(mask.names, keep):
        o, i, n = changed_outside_and_inside(before[param_name], after[param_name], k)
        outside, inside, kept = outside + o, inside + i, kept + n
    assert outside == 0  # a masked-out entry never moves
    assert kept > 0 and inside / kept > 0.9  # the kept ones do
    # embeddings and the classifier are not masked: they learn in full
    for always in ("bert.embeddings.word_embeddings.weight", "classifier.weight", "bert.pooler.dense.weight"):
        assert not ENCODER_PARAMETER.search(always)
        assert (before[always] != after[always]).float().mean() > 0.5 or always.endswith("word_embeddings.weight")
    meta = json.loads((result.path / "headscope.json").read_text())
    record = meta["training"]["method"]
    assert record["name"] == name and record["alpha"] == 0.5 and record["beta"] == 5
    epoch = record["selective"]["epochs"][0]
    assert record["selective"]["first_fisher_batches"] == 2  # half of the 3 batches, rounded up
    assert 0 < epoch["kept_share"] < 1 and epoch["expected_share"] == pytest.approx(
        expected_keep_share(mask.size, 0.5, 5), abs=1e-6
    )
    assert ("adv_eps" in record) == (name == "roast")


def test_the_second_epoch_draws_a_new_mask_and_keeps_to_it(tiny_base, tmp_path):
    method = Watched(method_settings("selective-only", {"alpha": 0.5, "beta": 5}), seed=7)
    result = train_tiny(tiny_base, tmp_path / "two-epochs", method, epochs=2)
    (_, first), (start, second) = method.snapshots
    assert any(not torch.equal(a, b) for a, b in zip(first, second))  # redrawn from the first epoch's Fisher
    after = load_file(str(result.path / "model.safetensors"))
    moved_outside = sum(changed_outside_and_inside(start[n], after[n], k)[0] for n, k in zip(method.mask.names, second))
    assert moved_outside == 0  # Adam's momentum from epoch 1 does not move entries epoch 2 masks out
    assert (
        len(json.loads((result.path / "headscope.json").read_text())["training"]["method"]["selective"]["epochs"]) == 2
    )


class Layers(torch.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.encoder = torch.nn.Module()
        self.encoder.layer = torch.nn.ModuleList(torch.nn.Linear(a, b, bias=False) for a, b in sizes)
        self.classifier = torch.nn.Linear(4, 2)


@pytest.mark.parametrize("alpha,beta", [(0.9, 10.0), (0.6, 1.0), (0.3, 4.0)])
def test_fisher_ranking_keeps_the_expected_share(alpha, beta):
    model = Layers([(100, 120), (80, 50)])
    mask = SelectiveMask.for_model(model, alpha, beta, unbiased=True, seed=0, decay={})
    assert mask.names == ["encoder.layer.0.weight", "encoder.layer.1.weight"]  # not the classifier
    generator = torch.Generator().manual_seed(1)
    importance = torch.rand(mask.size, generator=generator)
    sizes = [p.numel() for p in mask.params]
    for f, chunk in zip(mask.fisher, importance.split(sizes)):
        f.copy_(chunk.view_as(f))
    mask.batches = 1
    record = mask.resample()
    n = mask.size
    expected = sum(keep_probability(torch.tensor(r / (n - 1)), alpha, beta).item() for r in range(n)) / n
    assert record["expected_share"] == pytest.approx(expected, abs=1e-6)
    assert record["kept_share"] == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / n) + 1e-9)
    keep = torch.cat([k.reshape(-1) for k in mask.keep])
    order = importance.argsort()
    top, bottom = keep[order[-n // 10 :]].mean().item(), keep[order[: n // 10]].mean().item()
    assert top > bottom  # the more important, the more often kept
    assert top == pytest.approx(keep_probability(torch.tensor(0.95), alpha, beta).item(), abs=0.1)
    # the unbiased scale: kept gradients divided by their keep probability, masked ones zero
    scale = torch.cat([s.reshape(-1) for s in mask.scale])
    assert (scale[keep == 0] == 0).all() and (scale[keep == 1] >= 1).all()
    assert mask.batches == 0 and all(not f.any() for f in mask.fisher)  # gathering starts again


def test_alpha_nine_beta_ten_keeps_about_a_tenth():
    # the paper's sentiment setting: integral of sigmoid(20 (u - 0.9)) over [0, 1] = ln((1 + e^2) / (1 + e^-18)) / 20
    assert expected_keep_share(100_001, 0.9, 10) == pytest.approx(
        math.log((1 + math.e**2) / (1 + math.e**-18)) / 20, abs=1e-4
    )


def test_perturbation_is_normalised_per_token():
    grad = torch.tensor([[[3.0, -4.0, 0.0], [0.0, 0.0, 0.0]]])
    linf = perturbation(grad, 0.1, "linf")
    assert torch.allclose(linf[0, 0], torch.tensor([0.075, -0.1, 0.0]), atol=1e-6)
    assert torch.equal(linf[0, 1], torch.zeros(3))  # a padded token's zero gradient stays zero
    l2 = perturbation(grad, 0.1, "l2")
    assert l2[0, 0].norm().item() == pytest.approx(0.1, abs=1e-6)
    assert not perturbation(torch.tensor([[[float("nan"), 1.0]]]), 0.1, "linf").any()


def test_symmetric_kl_by_its_definition():
    clean, perturbed = (
        torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]]),
        torch.tensor([[1.0, 1.0, 0.0], [0.0, 2.0, 0.0]]),
    )
    p, q = clean.softmax(-1), perturbed.softmax(-1)
    kl_pq = (p * (p.log() - q.log())).sum()
    kl_qp = (q * (q.log() - p.log())).sum()
    assert symmetric_kl(clean, perturbed).item() == pytest.approx(((kl_pq + kl_qp) / 2).item(), rel=1e-5)
    assert symmetric_kl(clean, clean).item() == pytest.approx(0.0, abs=1e-6)


def test_a_tiny_perturbation_leaves_the_two_cross_entropies():
    loaded = tiny_checkpoint("absa", seed=2)
    model = loaded.model.train()
    torch.manual_seed(0)
    for module in model.modules():  # no dropout: the clean and perturbed passes differ only by delta
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    examples = demo_pairs(8)(loaded.tokenizer)
    losses = {}
    for eps in (1e-6, 5.0):
        method = TrainingMethod(method_settings("adv-only", {"adv_eps": eps, "kl_coeff": 1.0}))
        method.attach(model, torch.optim.SGD(model.parameters(), lr=0.0), torch.ones(5), 0, torch.device("cpu"))
        inputs, target = method.tensors(examples)
        losses[eps] = method.train_step(inputs, target)
        model.zero_grad()
    with torch.no_grad():
        clean = torch.nn.functional.cross_entropy(model(**inputs).logits, target).item()
    assert losses[1e-6] == pytest.approx(clean, rel=1e-3)  # 1/2 CE + 1/2 CE(almost the same input) + KL of ~0
    assert losses[5.0] > losses[1e-6]  # a large step along the gradient raises the perturbed loss and the KL


@pytest.mark.parametrize(
    "method,given,message",
    [
        ("nope", {}, "method 'nope': accepted vanilla, roast, adv-only, selective-only"),
        ("roast", {"alpha": 1.5}, "alpha 1.5: accepted a relative importance in [0, 1]"),
        ("roast", {"alpha": -0.1}, "alpha -0.1: accepted a relative importance in [0, 1]"),
        ("roast", {"adv_eps": 0.0}, "adv_eps 0.0: accepted a perturbation size > 0"),
        ("adv-only", {"adv_eps": -1.0}, "adv_eps -1.0: accepted a perturbation size > 0"),
        ("roast", {"beta": 0}, "beta 0.0: accepted a sharpness > 0"),
        ("roast", {"adv_norm": "l3"}, "adv_norm 'l3': accepted linf, l2"),
        ("adv-only", {"alpha": 0.5}, "alpha applies to method roast, selective-only, not to 'adv-only'"),
        ("selective-only", {"kl_coeff": 0.1}, "kl_coeff applies to method roast, adv-only, not to 'selective-only'"),
        ("vanilla", {"adv_eps": 0.2}, "adv_eps applies to method roast, adv-only, not to 'vanilla'"),
        ("roast", {"gamma": 1}, "unknown setting 'gamma'; accepted: adv_eps"),
    ],
)
def test_bad_settings_are_refused_naming_what_is_accepted(method, given, message):
    with pytest.raises(MethodError) as caught:
        method_settings(method, given)
    assert message in str(caught.value)


def test_the_cli_refuses_an_unknown_method_before_reading_data(tmp_path):
    from app.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "train",
            "absa",
            "--data",
            str(tmp_path / "none.jsonl"),
            "--format",
            "qa-m",
            "--out",
            "x",
            "--method",
            "fancy",
        ],
    )
    assert result.exit_code == 2 and "accepted vanilla, roast, adv-only, selective-only" in result.output
    result = CliRunner().invoke(
        cli, ["train", "re", "--data", str(tmp_path / "none.jsonl"), "--out", "x", "--method", "roast", "--alpha", "2"]
    )
    assert result.exit_code == 2 and "alpha 2.0: accepted a relative importance in [0, 1]" in result.output


def test_recipes_and_model_cards_record_the_method(tiny_base, tmp_path):
    data = tmp_path / "reviews.jsonl"
    rows = [
        {"id": f"r{i}", "text": t, "aspects": [{"aspect": c, "polarity": p}]}
        for i, (t, c, p) in enumerate(
            [
                ("The pasta was great.", "food", "positive"),
                ("The waiter was rude.", "service", "negative"),
                ("Too expensive.", "price", "negative"),
                ("Lovely staff.", "service", "positive"),
            ]
            * 3
        )
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    spec = TrainSpec(
        task="absa",
        format="qa-m",
        train=str(data),
        out="tiny-roast",
        base=str(tiny_base),
        epochs=1,
        batch_size=8,
        dev_fraction=0.0,
        method="roast",
        method_settings={"kl_coeff": 0.05},
    )
    result = train_on_data(spec, tmp_path / "models", progress=False)
    training = json.loads((result.path / "headscope.json").read_text())["training"]
    assert training["spec"]["method"] == "roast" and training["spec"]["method_settings"] == {"kl_coeff": 0.05}
    record = training["method"]
    assert record["name"] == "roast" and record["kl_coeff"] == 0.05 and record["adv_eps"] == 0.1
    assert record["alpha"] == 0.9 and record["beta"] == 10.0 and record["unbiased_scale"] is True
    assert "Kim et al. 2023" in record["reference"] and record["selective"]["epochs"][0]["epoch"] == 1
    # a recipe's own method settings, overridden from the command line
    shared = tmp_path / "shared"
    (shared / "d").mkdir(parents=True)
    (shared / "d" / "train.jsonl").write_text("x")
    recipe = Recipe(
        "r",
        tmp_path / "r.json",
        {
            "task": "absa",
            "format": "term",
            "train": "d/train.jsonl",
            "method": "roast",
            "method_settings": {"alpha": 0.6, "beta": 1.0},
        },
    )
    assert recipe_spec(recipe, shared).method_settings == {"alpha": 0.6, "beta": 1.0}
    merged = recipe_spec(recipe, shared, {"method_settings": {"adv_eps": 0.2}})
    assert merged.method == "roast" and merged.method_settings == {"alpha": 0.6, "beta": 1.0, "adv_eps": 0.2}
    other = recipe_spec(recipe, shared, {"method": "adv-only", "method_settings": {"kl_coeff": 0.1}})
    assert other.method == "adv-only" and other.method_settings == {"kl_coeff": 0.1}
    with pytest.raises(MethodError, match="alpha applies to method roast, selective-only"):
        method_settings(other.method, {"alpha": 0.5})

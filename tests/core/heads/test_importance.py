"""Head mask, head importance (Michel et al. 2019) and ablation with the real demo checkpoints."""

import json

import pytest
import torch
from analysis_support import run_analysis
from locations import FIXTURES_DIR  # tests/ is on sys.path (rootdir conftest)

from app.core.data.readers import load_dataset
from app.core.heads.ablations import importance_and_ablation, importance_batches
from app.core.heads.importance import ablate, accuracy, head_importance
from app.core.inputs.units import gold_label, unit_specs
from app.core.model.head_mask import masked_logits
from app.core.stats.rounding import to_json

FIXTURES = FIXTURES_DIR / "datasets"
RESTAURANTS, SEMEVAL2010 = FIXTURES / "restaurants.xml", FIXTURES / "semeval2010_train.txt"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: these tests are many small passes, which extra threads only slow on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def absa_data(absa):
    specs, _ = unit_specs(absa, list(load_dataset(RESTAURANTS).examples))
    batches, labels, skipped = importance_batches(absa, specs[:16], absa.info.max_length, 8)
    return batches, labels


def test_transformers_has_no_head_mask_argument_so_the_hook_does_it(absa):
    import inspect

    # transformers 5.x: BertForSequenceClassification.forward takes no head_mask; app.core.model.head_mask hooks it
    assert "head_mask" not in inspect.signature(type(absa.model).forward).parameters


def test_mask_of_ones_reproduces_the_logits_and_a_masked_layer_changes_them(absa, absa_data):
    batch = absa_data[0][0]
    layers, heads = absa.info.num_layers, absa.info.num_heads
    with torch.inference_mode():
        plain = absa.model(**batch).logits
        ones = masked_logits(absa.model, batch, torch.ones(layers, heads))
        per_example = masked_logits(absa.model, batch, torch.ones(batch["input_ids"].shape[0], layers, heads))
        mask = torch.ones(layers, heads)
        mask[3] = 0.0
        layer_off = masked_logits(absa.model, batch, mask)
        one_head = torch.ones(layers, heads)
        one_head[5, 0] = 0.0
        head_off = masked_logits(absa.model, batch, one_head)
        after = absa.model(**batch).logits  # hooks are gone after the block
    assert torch.equal(plain, ones) and torch.equal(plain, per_example)
    assert (plain - layer_off).abs().max() > 1e-3
    assert not torch.equal(plain, head_off)
    assert torch.equal(plain, after)


def test_importance_is_per_layer_normalised(absa, absa_data):
    batches, labels = absa_data
    scores = head_importance(absa, batches, labels)
    assert scores.shape == (6, 12)
    assert (scores >= 0).all()
    assert torch.allclose(scores.norm(dim=-1), torch.ones(6), atol=1e-5)
    # gradients per example, not per batch: the batch size does not change the result
    single = [{k: v[i : i + 1] for k, v in batches[0].items()} for i in range(2)]
    trimmed = []
    for b in single:  # drop the padding the single rows no longer need
        n = int(b["attention_mask"].sum())
        trimmed.append({k: v[:, :n] for k, v in b.items()})
    apart = head_importance(absa, trimmed, [labels[0][:1], labels[0][1:2]], normalise=False)
    together = head_importance(absa, [{k: v[:2] for k, v in batches[0].items()}], [labels[0][:2]], normalise=False)
    assert torch.allclose(apart, together, rtol=1e-3, atol=1e-6)


def test_ablation_accuracies_and_seeded_random_draws(absa, absa_data):
    batches, labels = absa_data
    heads = [(0, 1), (2, 3), (5, 7)]
    first = ablate(absa, batches, labels, heads, random_draws=3, seed=7)
    again = ablate(absa, batches, labels, heads, random_draws=3, seed=7)
    assert first == again
    for key in ("accuracy", "masked"):
        assert 0.0 <= first[key] <= 1.0
    assert len(first["random"]["draws"]) == 3 and all(0.0 <= a <= 1.0 for a in first["random"]["draws"])
    assert first["random"]["mean"] == pytest.approx(sum(first["random"]["draws"]) / 3)
    assert first["drop"] == pytest.approx(first["accuracy"] - first["masked"])
    for drawn in first["random"]["heads"]:
        assert len(drawn) == 3 and not {tuple(h) for h in drawn} & set(heads)
    assert first["accuracy"] == accuracy(absa, batches, labels)
    assert first["random_from"].startswith("heads other than")
    # more labelled heads than other heads: the random sets come from all heads, and the result says so
    many = [(l, h) for l in range(6) for h in range(12)][:50]
    crowded = ablate(absa, batches[:1], labels[:1], many, random_draws=2, seed=1)
    assert crowded["random_from"].startswith("all 72 heads") and all(len(d) == 50 for d in crowded["random"]["heads"])
    with pytest.raises(ValueError):
        ablate(absa, batches, labels, [(6, 0)])


def test_gold_labels_follow_the_pairs(absa, relation):
    specs, pairing = unit_specs(absa, list(load_dataset(RESTAURANTS).examples))
    assert pairing == "categories"
    none = [s for s in specs if s.polarity == "none"]
    assert none and gold_label(absa, none[0]) == absa.info.labels.index("none")
    re_specs, _ = unit_specs(relation, list(load_dataset(SEMEVAL2010).examples))
    assert gold_label(relation, re_specs[0]) == relation.info.labels.index(re_specs[0].relation.relation)


def test_analysis_fills_importance_and_ablation(absa, relation):
    result = run_analysis(
        absa, RESTAURANTS, pretrained=None, limit=12, bootstrap=100, js_sample=0, importance=True, ablation_draws=2
    )
    json.dumps(result, allow_nan=False)
    importance = result["importance"]
    assert importance["normalised"] == "per layer L2" and importance["examples"] > 0
    assert len(importance["scores"]) == 6 and all(len(row) == 12 for row in importance["scores"])
    assert "importance" in result["timings_s"]
    if result["labelled"].get("aspect"):
        assert result["ablation"]["heads"] == sorted(result["labelled"]["aspect"])
    else:
        assert result["ablation"] is None and "aspect" in result["not_computed"]["ablation"]
    # the ablation block as the job writes it, for heads given directly
    specs, _ = unit_specs(absa, list(load_dataset(RESTAURANTS).examples))
    _, ablations, reasons = importance_and_ablation(absa, specs[:12], {"aspect": [[1, 2], [4, 5]]}, draws=2, seed=3)
    ablation = to_json(ablations["aspect"])
    assert not reasons and ablation["label"] == "aspect" and ablation["heads"] == [[1, 2], [4, 5]]
    assert set(ablation) >= {"heads", "accuracy", "masked", "random", "drop", "random_drop"}
    assert 0 <= ablation["accuracy"] <= 1 and len(ablation["random"]["draws"]) == 2
    json.dumps(ablation, allow_nan=False)
    every = [[l, h] for l in range(6) for h in range(12)]
    _, none, reasons = importance_and_ablation(absa, specs[:4], {"aspect": every}, draws=1)
    assert none == {} and "every head" in reasons["ablation"]
    off = run_analysis(absa, RESTAURANTS, pretrained=None, limit=4, bootstrap=50, js_sample=0)
    assert (
        off["importance"] is None and off["ablation"] is None and "not requested" in off["not_computed"]["importance"]
    )
    re_result = run_analysis(
        relation, SEMEVAL2010, pretrained=None, limit=8, bootstrap=50, js_sample=0, importance=True, ablation_draws=2
    )
    assert re_result["importance"]["examples"] > 0
    assert re_result["ablation"] is not None or "entity" in re_result["not_computed"]["ablation"]

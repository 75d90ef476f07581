"""The analysis pass over columns (encode_batch) equals the pass over per-pair units (encode_many), with and
without the next batch encoded on a helper thread (prefetch, as on CUDA; here on the CPU), and with the probes
observing each batch on a second helper while the next is forwarded (overlap, passes/pipeline.py): every statistic,
the rule baselines, the interpretability rate, the agreement and the typical examples, on a tiny seeded BERT
with the demo data (term pairs with lexicon-free opinions, category pairs with absent aspects) and RE."""

from __future__ import annotations

import pytest
import torch
from tiny_model import tiny_checkpoint

from app.core.data.demo import demo_dataset
from app.core.heads.settings import AnalysisSettings
from app.core.heads.statistics_pass import build_probes
from app.core.inputs.unit_batch import encode_unit_batch
from app.core.inputs.units import encode_unit, encode_units, unit_specs
from app.core.passes.attention_pass import attention_pass

SETTINGS = AnalysisSettings(batch_size=7, pretrained=False, importance=False, js_sample=5, typical_k=2)


def run(checkpoint, specs, how: str):
    found = build_probes(checkpoint, SETTINGS, with_pretrained=False)
    columns = how != "units"
    summary = attention_pass(
        checkpoint,
        specs,
        lambda spec: encode_unit(checkpoint, spec, None, 64),
        found.active(),
        batch_size=SETTINGS.batch_size,
        helpers={"prefetch": 1, "overlap": 2}.get(how, 0),
        encode_many=None if columns else (lambda chunk: encode_units(checkpoint, chunk, None, 64)),
        encode_batch=(lambda chunk, alone=False: encode_unit_batch(checkpoint, chunk, None, 64)) if columns else None,
    )
    return summary, found


def same(a, b) -> None:
    (summary_a, found_a), (summary_b, found_b) = a, b
    assert (summary_a.items, summary_a.skipped) == (summary_b.items, summary_b.skipped)
    scores_a, scores_b = found_a.statistics.scores, found_b.statistics.scores
    assert scores_a.names == scores_b.names and scores_a.names
    for name in scores_a.names:
        assert torch.equal(scores_a.values(name), scores_b.values(name)), name
    assert found_a.statistics.opinion_sources == found_b.statistics.opinion_sources
    assert found_a.statistics.noop.counts == found_b.statistics.noop.counts
    for name in ("entropy", "to_sep"):
        assert torch.equal(found_a.rules.rules.mean(name), found_b.rules.rules.mean(name))
    rate_a, rate_b = found_a.interpretability.rate, found_b.interpretability.rate
    assert (rate_a.count, rate_a.hits, rate_a.random_total) == (rate_b.count, rate_b.hits, rate_b.random_total)
    agreement_a, agreement_b = found_a.agreement.agreement.scores, found_b.agreement.agreement.scores
    for name in agreement_a.names:
        assert torch.allclose(agreement_a.values(name), agreement_b.values(name), rtol=0, atol=0, equal_nan=True), name
    top_a, top_b = found_a.typical.top, found_b.typical.top
    assert sorted(top_a.index) == sorted(top_b.index)
    for name in top_a.index:
        assert torch.equal(top_a.index[name], top_b.index[name]), name
    assert torch.equal(found_a.head_map.distances.matrix(), found_b.head_map.distances.matrix())


@pytest.mark.parametrize("task, pairs", [("absa", "terms"), ("absa", "categories"), ("re", "auto")])
def test_columns_equal_units_with_and_without_helper_threads(task, pairs):
    checkpoint = tiny_checkpoint(task, layers=2, heads=4, positions=128)
    if pairs == "categories":
        checkpoint.info.metadata["categories"] = ["food", "service", "price", "ambience"]
    dataset = demo_dataset("demo-re" if task == "re" else "demo-absa")
    specs, _ = unit_specs(checkpoint, list(dataset.examples), pairs=pairs)
    specs = specs[:40]
    units = run(checkpoint, specs, "units")
    same(units, run(checkpoint, specs, "columns"))
    same(units, run(checkpoint, specs, "prefetch"))
    same(units, run(checkpoint, specs, "overlap"))

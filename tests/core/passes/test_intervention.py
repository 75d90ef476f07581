"""The intervened inspection of a new input as one forked forward (app/core/passes/intervention.py), and mean
ablation over a chosen reference set (head_means.py), on tiny BERTs.

The fork runs the layers before the first intervened head once: the embeddings run once, not twice. Its
plain row is the plain forward (attention and hidden states bit for bit, logits within the last float
bits of the classifier's two-row product); its intervened row is the separate intervened forward's. A
model whose head reads the input ids after the encoder (entity-start pooling) falls back to two forwards.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from tiny_model import tiny_checkpoint  # tests/ is on sys.path (rootdir conftest)

from app.core.data.demo import demo_dataset
from app.core.data.readers import load_dataset
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.entity_pooling import BertForEntityStartClassification
from app.core.model.errors import InputError
from app.core.model.hooks import hooks
from app.core.model.interventions import Intervention, forked_hooks, intervention_hooks
from app.core.passes import head_means
from app.core.passes.head_means import ReferenceSet, demo_reference, reference_means, spread
from app.core.passes.inspection import InspectionInput, prepare_inspection
from app.core.passes.intervention import inspect_intervened, plain_outcome

ABSA = InspectionInput("The food was great but the service was slow.", "food")
RELATION = InspectionInput("The <e1>wine</e1> came from a small <e2>vineyard</e2>.")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "datasets"
LOGIT_TOLERANCE = 1e-6  # the classifier's product of two rows vs one: measured differences are ~1e-7

INTERVENTIONS = [
    Intervention(((0, 1),)),
    Intervention(((1, 0),)),
    Intervention(((0, 0), (1, 1)), "scale", 0.25),
    Intervention(((0, 1), (1, 0)), "mean"),
]


@pytest.fixture(scope="module")
def tiny():
    return tiny_checkpoint("absa", seed=3, layers=3)


def embedding_runs(loaded: LoadedCheckpoint) -> list[int]:
    """A counter of the embedding block's forwards (a plain PyTorch hook: it only counts)."""
    runs = [0]
    base = loaded.model.base_model.embeddings
    base.register_forward_hook(lambda module, args, output: runs.__setitem__(0, runs[0] + 1))
    return runs


def assert_same_outcome(found, expected):
    assert found.label == expected.label
    assert found.probabilities == pytest.approx(expected.probabilities, abs=LOGIT_TOLERANCE)
    assert found.logit == pytest.approx(expected.logit, abs=LOGIT_TOLERANCE)


@pytest.mark.parametrize("intervention", INTERVENTIONS, ids=lambda i: f"{i.mode}-{i.heads}")
def test_a_new_input_forks_once_and_equals_the_two_separate_forwards(tiny, intervention):
    prepared = prepare_inspection(tiny, ABSA)
    plain = plain_outcome(tiny, prepared)
    separate = inspect_intervened(tiny, prepared, intervention, before=plain)  # the intervened forward alone
    model = tiny_checkpoint("absa", seed=3, layers=3)  # the same weights, its own counter
    reference_means(model)  # the mean mode's means are computed once per model, before counting
    runs = embedding_runs(model)
    forked = inspect_intervened(model, prepare_inspection(model, ABSA), intervention)
    assert runs[0] == 1  # one forward: the layers before the fork ran once
    assert torch.equal(forked.inspection.attention, separate.inspection.attention)
    assert_same_outcome(forked.before, plain)
    assert_same_outcome(forked.after, separate.after)
    assert forked.after.probabilities != forked.before.probabilities


@pytest.mark.parametrize("first", [0, 1, 2])
def test_the_plain_row_of_a_fork_is_the_plain_forward(tiny, first):
    inputs = prepare_inspection(tiny, ABSA).encodeds[0].model_inputs()
    fns = intervention_hooks(Intervention(((first, 1), (2, 0))), 2)
    with torch.inference_mode():
        plain = tiny.model(**inputs, output_attentions=True, output_hidden_states=True)
        with hooks(tiny.model, forked_hooks(fns)):
            forked = tiny.model(**inputs, output_attentions=True, output_hidden_states=True)
        with hooks(tiny.model, fns):
            intervened = tiny.model(**inputs, output_attentions=True, output_hidden_states=True)
    for ours, theirs in zip(forked.hidden_states, plain.hidden_states, strict=True):
        assert torch.equal(ours[0], theirs[0])
    for layer, (ours, theirs) in enumerate(zip(forked.attentions, plain.attentions, strict=True)):
        assert ours.shape[0] == (2 if layer > first else 1)  # rows double after the fork layer's pattern
        assert torch.equal(ours[0], theirs[0])
        assert torch.equal(ours[-1], intervened.attentions[layer][0])
    for ours, theirs in zip(forked.hidden_states, intervened.hidden_states, strict=True):
        assert torch.equal(ours[-1], theirs[0])
    assert (forked.logits[0] - plain.logits[0]).abs().max() <= LOGIT_TOLERANCE
    assert (forked.logits[1] - intervened.logits[0]).abs().max() <= LOGIT_TOLERANCE


def test_a_head_that_reads_the_input_ids_runs_two_forwards_and_agrees():
    tiny = tiny_checkpoint("re", seed=2)
    config = tiny.model.config
    config.entity_start_token_ids = tiny.tokenizer.convert_tokens_to_ids(["<e1>", "<e2>"])
    torch.manual_seed(2)
    loaded = replace(tiny, model=BertForEntityStartClassification(config).eval())
    prepared = prepare_inspection(loaded, RELATION)
    intervention = Intervention(((0, 0),))
    runs = embedding_runs(loaded)
    found = inspect_intervened(loaded, prepared, intervention)
    assert runs[0] == 3  # the fork came back with one row's logits: then the plain and the intervened forward
    assert inspect_intervened(loaded, prepared, intervention).after == found.after
    assert runs[0] == 3 + 2  # this model class is not forked again
    plain = plain_outcome(loaded, prepared)
    separate = inspect_intervened(loaded, prepared, intervention, before=plain)
    assert found.before == plain and found.after == separate.after
    assert torch.equal(found.inspection.attention, separate.inspection.attention)


def test_no_change_is_one_plain_forward(tiny):
    runs = embedding_runs(tiny)
    found = inspect_intervened(tiny, prepare_inspection(tiny, ABSA), Intervention(((0, 0),), "scale", 1.0))
    assert runs[0] == 1 and found.before == found.after


# --- mean ablation over a chosen reference set ----------------------------------------------------------


def test_a_chosen_reference_gives_its_own_means_cached_by_fingerprint(tiny):
    demo = reference_means(tiny)
    restaurants = ReferenceSet.of("restaurants.xml", load_dataset(FIXTURES / "restaurants.xml"))
    chosen = reference_means(tiny, restaurants)
    assert chosen.shape == demo.shape and not torch.allclose(chosen, demo)
    assert reference_means(tiny, ReferenceSet.of("renamed", restaurants.dataset)) is chosen  # same file: same means
    prepared = prepare_inspection(tiny, ABSA)
    mean = Intervention(((1, 1),), "mean")
    over_demo = inspect_intervened(tiny, prepared, mean, reference=demo_reference(tiny))
    over_restaurants = inspect_intervened(tiny, prepared, mean, reference=restaurants)
    assert over_demo.after.probabilities != over_restaurants.after.probabilities
    assert over_demo.after == inspect_intervened(tiny, prepared, mean).after  # the default is the demo


def test_a_large_reference_is_thinned_evenly(tiny, monkeypatch):
    assert spread(5, 10) == [0, 1, 2, 3, 4] and spread(10, 4) == [0, 2, 5, 7]
    monkeypatch.setattr(head_means, "MAX_REFERENCE_INPUTS", 7)
    assert len(head_means.reference_inputs(tiny, demo_reference(tiny))) == 7


def test_a_reference_that_does_not_fit_the_checkpoint_is_refused(tiny):
    relations = ReferenceSet.of("demo-re", demo_dataset("demo-re"))
    with pytest.raises(InputError, match="does not fit") as refused:
        reference_means(tiny, relations)
    assert refused.value.field == "intervene.reference"

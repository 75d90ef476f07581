"""Adversarial attacks (PWWS, HotFlip) and the counterfactual test on the real demo checkpoints, small slices."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import torch

from app.core.data.demo import demo_dataset
from app.core.inputs.units import encode_unit, gold_label, unit_specs
from app.core.robustness.attacks.hotflip import MIN_COSINE
from app.core.robustness.attacks.runner import attack
from app.core.robustness.attacks.word_rows import STOPWORDS, Pieces, removal_edits, source_input
from app.core.robustness.counterfactual import counterfactual
from app.core.robustness.variants import Edit, edit_spec

RE_PWWS = (0, 2, 9, 10)  # demo-re: 2 is misclassified (gold Other), the others fall to WordNet synonyms
RE_HOTFLIP = (0, 1)
WORDS = re.compile(r"\w+")


@pytest.fixture(scope="module")
def re_specs(relation):
    return unit_specs(relation, list(demo_dataset("demo-re").examples))[0]


@pytest.fixture(scope="module")
def absa_specs(absa):
    specs = unit_specs(absa, list(demo_dataset("demo-absa").examples))[0]
    return [s for s in specs if s.polarity != "none" and s.term_spans]


@pytest.fixture(scope="module")
def wordnet():
    from app.core.robustness.attacks.pwws import wordnet_synonyms
    from app.core.robustness.wordnet import WordNetUnavailableError

    try:
        return wordnet_synonyms()
    except WordNetUnavailableError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def pwws_re(relation, re_specs, wordnet):
    return list(attack(relation, [re_specs[i] for i in RE_PWWS], "pwws", budget=120, batch_size=16, synonyms=wordnet))


@pytest.fixture(scope="module")
def hotflip_re(relation, re_specs):
    return list(attack(relation, [re_specs[i] for i in RE_HOTFLIP], "hotflip", budget=120, batch_size=16))


def predicted(checkpoint, spec) -> str:
    unit = encode_unit(checkpoint, spec)
    with torch.inference_mode():
        logits = checkpoint.model(**unit.encoded.model_inputs(checkpoint.device)).logits
    return checkpoint.info.labels[int(logits.argmax())]


def test_only_correct_predictions_are_attacked(pwws_re, relation, re_specs):
    skipped = pwws_re[1]
    assert skipped.status == "skipped" and "predicts" in skipped.reason
    assert skipped.queries == 0 and skipped.variant is None and not skipped.success
    for outcome, i in zip(pwws_re, RE_PWWS):
        assert outcome.source == RE_PWWS.index(i) and outcome.source_id == re_specs[i].sentence_id
        if outcome.status != "skipped":
            assert predicted(relation, re_specs[i]) == re_specs[i].polarity == outcome.original_label


def test_a_success_really_changes_the_prediction(pwws_re, hotflip_re, relation):
    successes = [o for o in pwws_re + hotflip_re if o.success]
    assert {o.method for o in successes} == {"pwws", "hotflip"}
    for o in successes:
        v = o.variant
        assert v.test == {"pwws": "q2-pwws", "hotflip": "q2-hotflip"}[o.method]
        assert v.spec.polarity == o.original_label and not v.label_changed  # the gold label stays
        assert predicted(relation, v.spec) == o.adversarial_label != o.original_label
        assert 1 <= o.words_changed == len(v.details["swaps"]) <= o.words
        assert o.change_rate == pytest.approx(v.details["change_rate"]) and v.details["queries"] == o.queries
        assert [v.spec.text[s:e] for s, e in v.edited] == [s["to"] for s in v.details["swaps"]]


def test_entities_and_markers_are_never_edited(pwws_re, hotflip_re, relation, re_specs):
    for o in (o for o in pwws_re + hotflip_re if o.success):
        source = re_specs[(RE_PWWS if o.method == "pwws" else RE_HOTFLIP)[o.source]]
        e, f = source.relation, o.variant.spec.relation
        assert (f.e1.text, f.e2.text) == (e.e1.text, e.e2.text) and f.text != e.text
        for start, end in o.variant.replaced:
            assert all(end <= s or start >= t for s, t in (e.e1.offsets, e.e2.offsets))
        before, after = encode_unit(relation, source).encoded, encode_unit(relation, o.variant.spec).encoded
        assert [after.tokens[i].text for i in after.spans["markers"]] == list(relation.info.entity_markers)
        for name in ("e1", "e2"):
            assert [after.input_ids[i] for i in after.spans[name]] == [before.input_ids[i] for i in before.spans[name]]


def test_hotflip_flips_stay_within_the_cosine_constraint(hotflip_re, relation):
    weight = relation.model.get_input_embeddings().weight.detach()
    tokenizer = relation.tokenizer
    flips = [s for o in hotflip_re if o.success for s in o.variant.details["swaps"]]
    assert flips
    for swap in flips:
        old, new = (tokenizer.convert_tokens_to_ids(swap[key].lower()) for key in ("from", "to"))
        assert tokenizer.tokenize(swap["to"]) == [swap["to"].lower()]  # a whole-word piece, tokenised as itself
        cosine = float(torch.nn.functional.cosine_similarity(weight[old], weight[new], dim=0))
        assert cosine == pytest.approx(swap["cosine"], abs=1e-4) and cosine >= MIN_COSINE and old != new


@pytest.mark.parametrize("method", ["pwws", "hotflip"])
def test_the_budget_is_respected(method, relation, re_specs, wordnet):
    specs = [re_specs[i] for i in (1, 3, 4)]
    for budget in (1, 12):
        outcomes = list(attack(relation, specs, method, budget=budget, batch_size=8, synonyms=wordnet))
        attacked = [o for o in outcomes if o.status != "skipped"]
        assert attacked and all(1 <= o.queries <= budget for o in attacked)
        if budget == 1:  # only the check of the original prediction fits
            assert all(o.status == "failed" and o.queries == 1 for o in attacked)


def test_candidates_are_scored_in_batches_through_the_runner(relation, re_specs, wordnet):
    inside, forwards, calls = [False], [0], [0]

    def runner(work):
        calls[0] += 1
        inside[0] = True
        try:
            return work()
        finally:
            inside[0] = False

    def count(module, args, kwargs):
        assert inside[0], "model work outside the runner"
        forwards[0] += 1

    handle = relation.model.register_forward_pre_hook(count, with_kwargs=True)
    try:
        outcomes = list(
            attack(
                relation, [re_specs[0], re_specs[9]], "pwws", budget=200, batch_size=8, runner=runner, synonyms=wordnet
            )
        )
    finally:
        handle.remove()
    queries = sum(o.queries for o in outcomes)
    assert queries > 30 and forwards[0] == calls[0] and forwards[0] <= queries / 4


def test_spliced_rows_equal_the_tokenised_edit(relation, absa, re_specs, absa_specs):
    for checkpoint, spec in ((relation, re_specs[9]), (absa, absa_specs[2])):
        source = source_input(checkpoint, spec)
        pieces = Pieces(checkpoint.tokenizer)
        words = [w for w in source.editable if w.content][:3]
        swaps = {w.index: text for w, text in zip(words, ("Forty-two", "blue", "unbelievably"))}
        edited, _ = edit_spec(spec, [Edit(source.words[i].start, source.words[i].end, t) for i, t in swaps.items()])
        ids, types = source.splice({i: pieces(t) for i, t in swaps.items()})
        encoded = encode_unit(checkpoint, edited).encoded
        assert ids == encoded.input_ids and types == encoded.token_type_ids
        removed, _ = edit_spec(spec, removal_edits(spec.text, words[:2]))
        assert source.splice({w.index: [] for w in words[:2]})[0] == encode_unit(checkpoint, removed).encoded.input_ids


def test_absa_attacks_leave_the_aspect_term_alone(absa, absa_specs, wordnet):
    specs = absa_specs[:2]
    outcomes = list(attack(absa, specs, "pwws", budget=100, batch_size=16, synonyms=wordnet))
    assert any(o.success for o in outcomes)
    for o in (o for o in outcomes if o.success):
        source, spec = specs[o.source], o.variant.spec
        assert spec.text[slice(*spec.term_spans[0])] == source.text[slice(*source.term_spans[0])]
        assert spec.aspect == source.aspect and o.queries <= 100
        assert predicted(absa, spec) == o.adversarial_label != absa.info.labels[gold_label(absa, source)]


def test_bad_attack_arguments_are_refused_with_what_is_accepted(relation, re_specs):
    specs = re_specs[:1]
    for budget in (0, -5, True, 2.5):
        with pytest.raises(ValueError, match=r"budget .*accepted a whole number of model queries per example >= 1"):
            attack(relation, specs, "pwws", budget=budget)
    with pytest.raises(ValueError, match="accepted pwws, hotflip"):
        attack(relation, specs, "textfooler")
    with pytest.raises(ValueError, match="batch_size"):
        attack(relation, specs, "hotflip", batch_size=0)
    with pytest.raises(ValueError, match=r"min_cosine .*\[-1, 1\]"):
        attack(relation, specs, "hotflip", min_cosine=1.5)


@pytest.fixture(scope="module")
def counterfactuals(relation, re_specs):
    return list(counterfactual(relation, re_specs[:6], (1, 2), steps=16))


def test_counterfactuals_remove_exactly_k_content_words_and_say_other(counterfactuals, relation, re_specs):
    assert {v.test for v in counterfactuals} == {"q3-k1", "q3-k2"}
    assert 2 not in {v.source for v in counterfactuals}  # gold Other: nothing to take away
    for v in counterfactuals:
        k, source = int(v.test[-1]), re_specs[v.source]
        assert v.spec.polarity == "Other" and v.label_changed and v.details["original_label"] == source.polarity
        gone = Counter(WORDS.findall(source.text)) - Counter(WORDS.findall(v.spec.text))
        assert sum(gone.values()) == k and not Counter(WORDS.findall(v.spec.text)) - Counter(WORDS.findall(source.text))
        assert sorted(gone.elements()) == sorted(v.details["removed"])
        assert all(w.lower() not in STOPWORDS and w.isalnum() for w in gone)
        assert all(a > 0 for a in v.details["attributions"])
        e, f = source.relation, v.spec.relation
        assert (f.e1.text, f.e2.text) == (e.e1.text, e.e2.text)
        encoded = encode_unit(relation, v.spec).encoded
        assert [encoded.tokens[i].text for i in encoded.spans["markers"]] == list(relation.info.entity_markers)
        assert "  " not in v.spec.text


def test_counterfactual_for_absa_needs_the_no_relation_role_named(absa, absa_specs):
    with pytest.raises(ValueError, match="'none' for category pairs"):
        counterfactual(absa, absa_specs[:2], 1)
    with pytest.raises(ValueError, match="not one of the model's labels: accepted positive"):
        counterfactual(absa, absa_specs[:2], 1, "Other")
    variants = list(counterfactual(absa, absa_specs[:2], 1, "none", steps=8))
    assert variants and all(v.spec.polarity == "none" and v.test == "q3-k1" for v in variants)


def test_bad_counterfactual_arguments_are_refused(relation, re_specs):
    for k in (0, -1, True, (1, 0), "2"):
        with pytest.raises(ValueError, match="accepted a whole number of words to remove"):
            counterfactual(relation, re_specs[:1], k)
    with pytest.raises(ValueError, match="steps"):
        counterfactual(relation, re_specs[:1], 1, steps=1)

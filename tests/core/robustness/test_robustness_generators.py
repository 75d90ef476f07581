"""Offline robustness test generators: metamorphic checks on the demo data, encoded with the demo checkpoints'
real tokenizers, and on the shared benchmarks when HEADSCOPE_SHARED_DATA is set."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from app.core.data.demo import demo_dataset
from app.core.data.readers import OpinionLexicon, load_dataset, load_opinion_lexicon
from app.core.inputs.units import UnitSpec, encode_unit, unit_specs
from app.core.model.checkpoint import LoadedCheckpoint, read_checkpoint_info
from app.core.robustness.context import GenerationContext, SuiteError
from app.core.robustness.generators.catalog import TESTS, build_suite, report_facts, task_tests
from app.core.robustness.generators.re_bias import selection_rules
from app.core.robustness.generators.text import relation, words
from app.core.robustness.suite_io import read_suite, write_suite
from app.core.robustness.variants import protected_spans
from app.core.robustness.wordnet import WordNetUnavailableError, load_wordnet

ABSA_ID, RE_ID = "demo-absa-qa-m", "demo-re"
FLIP = {"positive": "negative", "negative": "positive", "neutral": "neutral"}
# Tests whose edits must stay off the entities / aspect term (the bias probes edit them by design).
OFF_PROTECTED = {name for name, t in TESTS.items() if t.family in ("random", "selection-bias", "aspect")}
# A small hand-made lexicon: the demo tests must not need the shared Hu & Liu files.
LEXICON = OpinionLexicon(
    frozenset(
        "great good excellent delicious friendly fast fresh tasty divine attentive cozy lovely amazing "
        "perfect best warm generous".split()
    ),
    frozenset(
        "bad slow inferior rude stale awful bland cold cramped terrible worst dismissive greasy soggy "
        "overpriced noisy".split()
    ),
)


def _tokenizer_only(models_dir: Path, checkpoint_id: str) -> LoadedCheckpoint:
    info = read_checkpoint_info(models_dir / checkpoint_id)
    return LoadedCheckpoint(
        info, None, AutoTokenizer.from_pretrained(str(models_dir / checkpoint_id)), torch.device("cpu")
    )


@pytest.fixture(scope="module")
def wordnet():
    try:
        return load_wordnet()
    except WordNetUnavailableError as exc:
        pytest.skip(f"{exc} (`make test` installs it)")


@pytest.fixture(scope="module")
def re_checkpoint(models_dir: Path) -> LoadedCheckpoint:
    return _tokenizer_only(models_dir, RE_ID)


@pytest.fixture(scope="module")
def absa_checkpoint(models_dir: Path) -> LoadedCheckpoint:
    return _tokenizer_only(models_dir, ABSA_ID)


@pytest.fixture(scope="module")
def re_sources(re_checkpoint) -> list[UnitSpec]:
    return unit_specs(re_checkpoint.info, demo_dataset("demo-re").examples)[0]


@pytest.fixture(scope="module")
def absa_sources(absa_checkpoint) -> list[UnitSpec]:
    return unit_specs(absa_checkpoint.info, demo_dataset("demo-absa").examples, pairs="terms")[0]


@pytest.fixture(scope="module")
def re_suite(re_sources):
    return build_suite([], re_sources, GenerationContext(seed=3, training=demo_dataset("demo-re").examples), "re")


@pytest.fixture(scope="module")
def absa_suite(absa_sources, wordnet):
    context = GenerationContext(seed=3, wordnet=wordnet, lexicon=LEXICON, training=demo_dataset("demo-absa").examples)
    return build_suite([], absa_sources, context, "absa")


def pair(text: str, term: str, opinions=(), polarity="positive", others=(), sid="s1") -> UnitSpec:
    def span(word: str) -> tuple[int, int]:
        return text.index(word), text.index(word) + len(word)

    return UnitSpec(sid, text, term, (span(term),), tuple(map(span, opinions)), tuple(map(span, others)), polarity)


# --- The registry -----------------------------------------------------------------------------------


def test_registry_lists_each_task_s_tests_with_what_they_need():
    assert [t.name for t in task_tests("re")] == [
        "q1-typo",
        "q1-punctuation",
        "q1-contraction",
        "q1-number",
        "q1-person",
        "q1-location",
        "q4-rule-mask",
        "q5-entity-only",
        "q5-entity-mask",
    ]
    assert {t.name for t in task_tests("absa")} >= {
        "revtgt",
        "revnon",
        "adddiff",
        "aspect-only",
        "aspect-mask",
        "q1-typo",
    }
    assert TESTS["revtgt"].needs == ("terms", "wordnet", "opinions") and TESTS["revtgt"].changes_label
    assert TESTS["q4-rule-mask"].needs == ("training",) and TESTS["q5-entity-only"].debiasing
    assert all(set(t.needs) <= {"wordnet", "opinions", "training", "aspects", "terms"} for t in TESTS.values())


def test_every_test_of_the_task_runs_on_the_demo_data(re_suite, absa_suite):
    assert re_suite.not_run == {} and absa_suite.not_run == {}
    made = Counter(v.test for v in [*re_suite.variants, *absa_suite.variants])
    for name in (
        "q1-typo",
        "q1-punctuation",
        "q1-number",
        "q4-rule-mask",
        "q5-entity-only",
        "q5-entity-mask",
        "revtgt",
        "revnon",
        "adddiff",
        "aspect-only",
        "aspect-mask",
        "q1-contraction",
        "q1-location",
    ):
        assert made[name] > 0, name


def test_generation_is_seeded_and_deterministic(re_sources):
    def texts(seed):
        return [
            (v.source, v.spec.text)
            for v in build_suite(["q1-typo", "q1-number"], re_sources, GenerationContext(seed=seed), "re").variants
        ]

    assert texts(5) == texts(5) and texts(5) != texts(6)


# --- Spans: entities, markers, protected words --------------------------------------------------------


def _entity_words(encoded, name: str) -> str:
    return "".join(encoded.tokens[i].text.removeprefix("##") for i in encoded.spans[name]).lower()


def test_relation_variants_keep_their_entities_and_markers_through_the_real_tokenizer(
    re_suite, re_sources, re_checkpoint
):
    for v in re_suite.variants:
        e, source = v.spec.relation, re_sources[v.source].relation
        assert e.e1.text == e.text[slice(*e.e1.offsets)] and e.e2.text == e.text[slice(*e.e2.offsets)]
        assert v.source_id == source.id and v.spec.polarity == source.relation and not v.label_changed
        masked = v.test == "q5-entity-mask"
        assert (e.e1.text, e.e2.text) == (("[MASK]", "[MASK]") if masked else (source.e1.text, source.e2.text))
        encoded = encode_unit(re_checkpoint, v.spec).encoded
        assert len(encoded.spans["markers"]) == 4, (v.test, e.text)
        for name, entity in (("e1", e.e1), ("e2", e.e2)):
            tokens = encoded.spans[name]
            assert _entity_words(encoded, name) == entity.text.lower().replace(" ", ""), (v.test, e.text)
            assert encoded.tokens[tokens[0] - 1].marker and encoded.tokens[tokens[-1] + 1].marker


def test_edits_lie_outside_the_entities_and_aspect_terms_by_default(re_suite, absa_suite, re_sources, absa_sources):
    for suite, sources in ((re_suite, re_sources), (absa_suite, absa_sources)):
        checked = 0
        for v in suite.variants:
            assert all(0 <= s <= e <= len(v.spec.text) for s, e in v.edited)
            if v.test in OFF_PROTECTED:
                protected = protected_spans(sources[v.source])
                assert all(relation(r, p) == "outside" for r in v.replaced for p in protected), (v.test, v.spec.text)
                checked += 1
        assert checked > 100


def test_inside_entities_lets_the_random_suite_edit_entity_words(re_sources, re_checkpoint):
    suite = build_suite(["q1-typo"], re_sources, GenerationContext(seed=1, inside_entities=True), "re")
    inside = [
        v
        for v in suite.variants
        if any(relation(r, p) == "inside" for r in v.replaced for p in protected_spans(re_sources[v.source]))
    ]
    assert inside
    for v in inside:
        e = v.spec.relation
        assert e.e1.text == e.text[slice(*e.e1.offsets)] and encode_unit(re_checkpoint, v.spec) is not None


def test_absa_variants_keep_the_aspect_term_and_encode(absa_suite, absa_sources, absa_checkpoint):
    by_test = Counter()
    for v in absa_suite.variants:
        source, spec = absa_sources[v.source], v.spec
        assert spec.sentence_id == source.sentence_id and v.source_id == source.sentence_id
        term = spec.text[slice(*spec.term_spans[0])]
        if v.test == "aspect-mask":
            assert term == "[MASK]" and spec.aspect == source.aspect
        else:
            assert term == source.text[slice(*source.term_spans[0])] and spec.aspect == source.aspect
        for s, e in (*spec.opinion_spans, *spec.other_spans):
            assert 0 <= s < e <= len(spec.text)
        by_test[v.test] += 1
        if by_test[v.test] <= 40:  # a sample of each test through the real tokenizer
            unit = encode_unit(absa_checkpoint, spec)
            assert unit is not None and unit.encoded.spans["aspect_term"], (v.test, spec.text)


# --- ARTS ---------------------------------------------------------------------------------------------


def test_revtgt_flips_the_gold_polarity_and_neutral_stays(absa_suite, absa_sources):
    variants = [v for v in absa_suite.variants if v.test == "revtgt"]
    assert {absa_sources[v.source].polarity for v in variants} >= {"positive", "negative", "neutral"}
    for v in variants:
        before = absa_sources[v.source].polarity
        assert v.spec.polarity == FLIP[before] and v.label_changed == (before != "neutral")
        assert v.spec.text != absa_sources[v.source].text and v.details["opinion_source"] == "lexicon"


def test_revtgt_and_revnon_on_hand_made_sentences(wordnet):
    text = "The pizza was great but the service was slow."
    sources = [
        pair(text, "pizza", ["great"], "positive", ["service"]),
        pair(text, "service", ["slow"], "negative", ["pizza"]),
        pair("The soup was not good.", "soup", ["not good"], "negative", sid="s2"),
        pair("The tiramisu was divine.", "tiramisu", ["divine"], "neutral", sid="s3"),
    ]
    context = GenerationContext(wordnet=wordnet, lexicon=LEXICON)
    flipped = {v.source: v for v in build_suite(["revtgt"], sources, context).variants}
    # The pizza turns bad: it now agrees with the slow service, so "but" becomes "and".
    assert flipped[0].spec.text == "The pizza was bad and the service was slow."
    assert flipped[1].spec.text == "The pizza was great and the service was fast."
    assert (flipped[0].spec.polarity, flipped[1].spec.polarity) == ("negative", "positive")
    assert flipped[2].spec.text == "The soup was good." and flipped[2].details["how"] == "negation removed"
    assert flipped[3].spec.text == "The tiramisu was not divine." and flipped[3].spec.polarity == "neutral"
    assert flipped[0].spec.text[slice(*flipped[0].spec.opinion_spans[0])] == "bad"

    others = {v.source: v for v in build_suite(["revnon"], sources[:2], context).variants}
    # A neighbour of the other polarity is intensified; the target's own opinion and gold stay.
    assert others[0].spec.polarity == "positive" and not others[0].label_changed
    assert "great" in others[0].spec.text and others[0].spec.text.endswith(" slow.")
    assert others[0].details["intensified"] == 1
    same = [
        pair("The pizza was great and the wine was excellent.", "pizza", ["great"], "positive", ["wine"]),
        pair("The pizza was great and the wine was excellent.", "wine", ["excellent"], "positive", ["pizza"]),
    ]
    reversed_ = build_suite(["revnon"], same, context).variants[0]
    assert reversed_.spec.text == "The pizza was great but the wine was inferior."
    assert reversed_.spec.polarity == "positive" and not reversed_.label_changed


def test_adddiff_appends_phrases_of_the_other_polarity(absa_suite, absa_sources):
    variants = [v for v in absa_suite.variants if v.test == "adddiff"]
    assert variants
    for v in variants:
        source = absa_sources[v.source]
        assert v.spec.polarity == source.polarity and 1 <= v.details["added"] <= 3
        assert v.spec.text.startswith(source.text.rstrip().rstrip(".!?"))
        added = v.spec.other_spans[len(source.other_spans) :]
        assert len(added) == v.details["added"]
        phrases = v.details["phrases"].split("; ")
        for (s, e), phrase in zip(added, phrases):
            assert v.spec.text[s:e].lower() in phrase
        if source.polarity in ("positive", "negative"):
            assert all(p.endswith(f"({FLIP[source.polarity]})") for p in phrases)


def test_aspect_probes_strip_or_mask_the_review(absa_suite, absa_sources):
    for v in absa_suite.variants:
        source = absa_sources[v.source]
        if v.test == "aspect-only":
            assert v.spec.text == source.text[slice(*source.term_spans[0])] and v.spec.opinion_spans == ()
        elif v.test == "aspect-mask":
            assert v.spec.text.count("[MASK]") == 1 and v.details["mask"] == "[MASK]"
    assert TESTS["aspect-only"].debiasing and not TESTS["aspect-mask"].debiasing


# --- Relation bias probes -------------------------------------------------------------------------------


def test_q4_masks_each_relation_s_rule_words_outside_the_entities(re_suite, re_sources):
    rules = report_facts(TESTS["q4-rule-mask"], re_suite.context)["rules"]
    assert len(rules) == len({s.polarity for s in re_sources}) and all(len(w) == 5 for w in rules.values())
    variants = [v for v in re_suite.variants if v.test == "q4-rule-mask"]
    assert variants
    for v in variants:
        e = v.spec.relation
        outside = [
            w
            for w in words(e.text)
            if all(relation((w.start, w.end), s) == "outside" for s in (e.e1.offsets, e.e2.offsets))
        ]
        assert not {w.lower for w in outside} & set(rules[e.relation]) and v.details["masked"] >= 1


def test_q5_keeps_the_entities_alone_or_masks_them(re_suite, re_sources):
    for v in re_suite.variants:
        source = re_sources[v.source].relation
        first, second = sorted([source.e1, source.e2], key=lambda c: c.start)
        if v.test == "q5-entity-only":
            assert v.spec.text == f"{first.text} {second.text}"
        elif v.test == "q5-entity-mask":
            assert v.spec.text.count("[MASK]") == 2 and len(v.spec.text) < len(source.text) + 12


# --- JSONL suites ---------------------------------------------------------------------------------------


def test_a_suite_survives_a_jsonl_round_trip(tmp_path, re_suite, re_sources, absa_suite, absa_sources):
    for suite, sources in ((re_suite, re_sources), (absa_suite, absa_sources)):
        path = tmp_path / "suite.jsonl"
        write_suite(path, suite.variants, sources)
        back = read_suite(path, sources)
        assert back == suite.variants
        assert [v.details for v in back] == [v.details for v in suite.variants]


def test_a_user_contrast_set_needs_only_ids_tests_and_texts(re_sources, absa_sources):
    lines = [
        '{"source_id": "e0001", "test": "my-passive", "text": "Thousands of <e2>cars</e2> are assembled by the '
        '<e1>factory</e1> each month.", "label": "Product-Producer(e2,e1)"}',
        '{"source_id": "e0003", "test": "my-swap", "text": "The nurse worked the day shift alone.", '
        '"e1": [4, 9], "e2": [25, 30], "label": "Cause-Effect(e1,e2)"}',
    ]
    passive, swapped = read_suite(lines, re_sources)
    assert passive.source == 0 and passive.spec.relation.e1.text == "factory" and not passive.label_changed
    assert swapped.label_changed and swapped.spec.relation.e2.text == "shift"
    assert swapped.spec.text[slice(*swapped.edited[0])] == "day" and swapped.replaced == ((21, 26),)
    line = (
        '{"source_id": "r0003", "source_aspect": "hostess", "test": "mine", "label": "positive", '
        '"text": "I appreciated the gluten-free options, and the hostess was lovely."}'
    )
    absa = read_suite([line], absa_sources)[0]
    assert absa.spec.text[slice(*absa.spec.term_spans[0])] == "hostess" and absa.label_changed


# --- Errors ---------------------------------------------------------------------------------------------


def test_bad_requests_name_what_is_accepted(re_sources, absa_sources, tmp_path, monkeypatch):
    with pytest.raises(SuiteError, match="accepted for relation extraction: q1-typo") as caught:
        build_suite(["q9-magic"], re_sources, GenerationContext())
    assert "q4-rule-mask" in caught.value.accepted and isinstance(caught.value, ValueError)
    with pytest.raises(SuiteError, match="revtgt is a ABSA test and the data is relation extraction"):
        build_suite(["revtgt"], re_sources, GenerationContext())
    with pytest.raises(SuiteError, match="checkpoint is a ABSA model but the data holds relation extraction"):
        build_suite([], re_sources, GenerationContext(), task="absa")
    with pytest.raises(SuiteError, match="q4-rule-mask cannot run: .*training file"):
        build_suite(["q4-rule-mask"], re_sources, GenerationContext())
    with pytest.raises(SuiteError, match="holds AbsaSentence examples"):
        build_suite(["q4-rule-mask"], re_sources, GenerationContext(training=demo_dataset("demo-absa").examples))
    with pytest.raises(SuiteError, match="adddiff cannot run: .*holds RelationExample"):
        build_suite(["adddiff"], absa_sources, GenerationContext(training=demo_dataset("demo-re").examples))
    single = [pair("The soup was cold.", "soup", polarity="negative")]
    with pytest.raises(SuiteError, match="two or more aspects"):
        build_suite(["revnon"], single, GenerationContext(wordnet=object(), lexicon=LEXICON))
    with pytest.raises(SuiteError, match="revtgt cannot run: .*no gold opinions .* opinion lexicon"):
        build_suite(["revtgt"], single, GenerationContext(wordnet=object()))
    monkeypatch.setenv("HEADSCOPE_WORDNET", str(tmp_path))
    with pytest.raises(SuiteError, match="wordnet-base"):
        build_suite(["revtgt"], single, GenerationContext(lexicon=LEXICON))
    assert "wordnet-base" in build_suite([], single, GenerationContext(lexicon=LEXICON)).not_run["revtgt"]


def test_bad_suite_lines_are_named(re_sources):
    with pytest.raises(SuiteError, match="line 2: not valid JSON"):
        read_suite(['{"source_id": "e0001", "test": "t", "text": "<e1>a</e1> <e2>b</e2>"}', "{oops"], re_sources)
    with pytest.raises(SuiteError, match="line 1: source_id 'zzz' is not an example id .* e0001"):
        read_suite(['{"source_id": "zzz", "test": "t", "text": "x"}'], re_sources)
    with pytest.raises(SuiteError, match="'e1' must be \\[start, end\\]"):
        read_suite(['{"source_id": "e0001", "test": "t", "text": "short", "e1": [0, 99], "e2": [0, 1]}'], re_sources)
    with pytest.raises(SuiteError, match="<e1>..</e1> <e2>..</e2> tags"):
        read_suite(['{"source_id": "e0001", "test": "t", "text": "no entities here"}'], re_sources)


# --- The shared benchmarks (HEADSCOPE_SHARED_DATA) ---------------------------------------------------------


@pytest.fixture(scope="module")
def shared() -> Path:
    root = os.environ.get("HEADSCOPE_SHARED_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("HEADSCOPE_SHARED_DATA is not set: generator tests on the benchmarks skipped")
    return Path(root)


def test_q4_rule_words_of_semeval2010_train_give_the_relation_away(shared, re_checkpoint):
    train = load_dataset(shared / "semeval2010_task8" / "TRAIN_FILE.TXT").examples
    rules = selection_rules(train)
    assert len(rules) == 19
    assert {"caused", "causes"} & set(rules["Cause-Effect(e1,e2)"]) and "caused" in rules["Cause-Effect(e2,e1)"]
    assert "contained" in rules["Content-Container(e1,e2)"] and "uses" in rules["Instrument-Agency(e2,e1)"]
    test = load_dataset(shared / "semeval2010_task8" / "TEST_FILE_FULL.TXT").examples[:400]
    sources = unit_specs(re_checkpoint.info, test)[0]
    variants = build_suite(["q4-rule-mask"], sources, GenerationContext(training=train), "re").variants
    assert len(variants) > 30
    assert all(encode_unit(re_checkpoint, v.spec) is not None for v in variants)


def test_arts_on_aste_mams_and_semeval2014(shared, wordnet, absa_checkpoint):
    lexicon = load_opinion_lexicon(shared / "opinion_lexicon")
    cases = [
        ("aste_v2/14res/test_triplets.txt", "aste_v2/14res/train_triplets.txt", None, "gold"),
        ("mams/atsa/val.xml", "mams/atsa/train.xml", "mams-atsa", "lexicon"),
        (
            "semeval2014_task4/xml/Restaurants_Test_Gold.xml",
            "semeval2014_task4/xml/Restaurants_Train_v2.xml",
            None,
            "lexicon",
        ),
    ]
    for test_file, train_file, fmt, opinion_source in cases:
        examples = load_dataset(shared / test_file, fmt).examples[:150]
        sources = unit_specs(absa_checkpoint.info, examples, pairs="terms")[0]
        training = load_dataset(shared / train_file, fmt).examples
        context = GenerationContext(wordnet=wordnet, lexicon=lexicon, training=training)
        suite = build_suite(["revtgt", "revnon", "adddiff", "q1-typo"], sources, context, "absa")
        made = Counter(v.test for v in suite.variants)
        assert all(made[name] > 10 for name in ("revtgt", "revnon", "adddiff")), (test_file, made)
        for v in suite.variants:
            source = sources[v.source]
            assert v.spec.text[slice(*v.spec.term_spans[0])] == source.text[slice(*source.term_spans[0])]
            if v.test == "revtgt":
                assert v.spec.polarity == FLIP[source.polarity] and v.details["opinion_source"] == opinion_source

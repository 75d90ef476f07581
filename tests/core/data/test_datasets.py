"""Dataset loaders: hand-made fixtures (good and deliberately broken) and, when HEADSCOPE_SHARED_DATA
points at the shared benchmark folder, the real files with the exact counts of their PROVENANCE.md."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from locations import FIXTURES_DIR  # tests/ is on sys.path (rootdir conftest)

from app.core.data.readers import (
    FORMATS,
    SEMEVAL2010_LABELS,
    AbsaSentence,
    AspectCategory,
    AspectTerm,
    CharSpan,
    DatasetError,
    LexiconEntry,
    RelationExample,
    RelationKey,
    detect_format,
    load_aste,
    load_dataset,
    load_mams_acsa,
    load_mams_atsa,
    load_opennre,
    load_opinion_lexicon,
    load_semeval2010,
    load_semeval2010_key,
    load_semeval2014,
    load_sentihood,
    load_user_jsonl,
    strip_entity_tags,
)
from app.core.model.errors import HeadscopeError

FIXTURES = FIXTURES_DIR / "datasets"
BROKEN = FIXTURES / "broken"


# --- SemEval-2014 / MAMS XML ------------------------------------------------------------------


def test_semeval2014_restaurants_terms_and_categories():
    r1, r2, r3 = load_semeval2014(FIXTURES / "restaurants.xml")
    assert r1 == AbsaSentence(
        "r1",
        "The soup was cold but the staff were lovely.",
        (AspectTerm("soup", 4, 8, "negative"), AspectTerm("staff", 26, 31, "positive")),
        (AspectCategory("food", "negative"), AspectCategory("service", "positive")),
    )
    assert r1.category_polarities() == {"food": "negative", "service": "positive"}
    # A sentence without terms is kept, and a repeated category is kept (the published counts include repeats).
    assert r2.terms == () and len(r2.categories) == 2
    # Offsets count characters of the decoded text: &amp; is one character.
    assert r3.text.startswith("Fish & chips") and r3.terms[0] == AspectTerm("Fish & chips", 0, 12, "conflict")


def test_semeval2014_laptops_have_terms_only():
    sentences = load_semeval2014(FIXTURES / "laptops.xml")
    assert [s.id for s in sentences] == ["101:1", "101:2"]
    assert [t.term for t in sentences[0].terms] == ["battery", "fan"]
    assert all(s.text[t.start : t.end] == t.term for s in sentences for t in s.terms)
    assert sentences[1].terms == () and all(s.categories == () for s in sentences)


def test_mams_atsa_and_acsa():
    atsa = load_mams_atsa(FIXTURES / "mams_atsa.xml")
    assert [s.id for s in atsa] == ["1", "2"]  # MAMS sentences have no id: positions stand in
    assert [(t.term, t.polarity) for t in atsa[1].terms] == [("view", "positive"), ("wine list", "negative")]
    acsa = load_mams_acsa(FIXTURES / "mams_acsa.xml")
    assert acsa[0].categories == (AspectCategory("food", "neutral"), AspectCategory("staff", "negative"))
    # Each MAMS loader insists on its own kind of aspect, so a mixed-up file is caught.
    with pytest.raises(DatasetError, match=r"sentence #1: has no <aspectTerm>"):
        load_mams_atsa(FIXTURES / "mams_acsa.xml")


# --- SentiHood ----------------------------------------------------------------------------------


def test_sentihood_opinions_and_target_mentions():
    first, glued, empty = load_sentihood(FIXTURES / "sentihood.json")
    assert first.id == "11" and first.text.startswith("  LOCATION1")  # leading spaces kept: spans stay exact
    assert [(o.target, o.aspect, o.polarity) for o in first.opinions] == [
        ("LOCATION1", "quiet", "positive"),
        ("LOCATION2", "price", "negative"),
    ]
    assert first.spans_of("LOCATION2") == (CharSpan(25, 34, "LOCATION2"),)
    # "LOCATION1the": the masking glued the name to the next word; it is still found, twice in all.
    assert [s.start for s in glued.spans_of("LOCATION1")] == [14, 44]
    assert all(glued.text[s.start : s.end] == "LOCATION1" for s in glued.spans_of("LOCATION1"))
    assert empty.opinions == () and empty.mentions == ()


# --- SemEval-2010 Task 8 ------------------------------------------------------------------------


def test_semeval2010_examples_from_crlf_file():
    assert b"\r\n" in (FIXTURES / "semeval2010_train.txt").read_bytes()
    examples = load_semeval2010(FIXTURES / "semeval2010_train.txt")
    assert [e.id for e in examples] == ["1", "2", "3", "4"]  # block 3 has no Comment line: that is accepted
    storm = examples[0]
    assert storm == RelationExample(
        "1",
        "The storm caused floods across the valley.",
        CharSpan(4, 9, "storm"),
        CharSpan(17, 23, "floods"),
        "Cause-Effect(e1,e2)",
    )
    assert storm.tagged_text == "The <e1>storm</e1> caused <e2>floods</e2> across the valley."
    assert [e.relation for e in examples] == [
        "Cause-Effect(e1,e2)",
        "Entity-Destination(e1,e2)",
        "Other",
        "Member-Collection(e2,e1)",
    ]
    assert len(SEMEVAL2010_LABELS) == 19


def test_entity_tags_in_either_order_and_case():
    clean, e1, e2 = strip_entity_tags("<E2>Port Ilse</E2> is served by <e1>Kell Airport</e1>")
    assert clean == "Port Ilse is served by Kell Airport"
    assert clean[e1[0] : e1[1]] == "Kell Airport" and clean[e2[0] : e2[1]] == "Port Ilse"


def test_semeval2010_key():
    assert load_semeval2010_key(FIXTURES / "semeval2010_key.txt") == [
        RelationKey("1", "Cause-Effect"),
        RelationKey("2", "Entity-Destination"),
        RelationKey("3", "Other"),
        RelationKey("4", "Member-Collection"),
    ]


# --- OpenNRE --------------------------------------------------------------------------------------


def test_opennre_token_positions_become_character_spans():
    river, airport, masked, text_layout = load_opennre(FIXTURES / "wiki80_toy.txt")
    assert river.text == "The river Vesna flows into Lake Orlo ."
    assert (river.e1, river.e2) == (CharSpan(4, 15, "river Vesna"), CharSpan(27, 36, "Lake Orlo"))
    # e1 is always the head h, even when it comes second in the sentence.
    assert (airport.e1.text, airport.e2.text) == ("Kell Airport", "Port Ilse")
    assert airport.tagged_text == "<e2>Port Ilse</e2> is served by <e1>Kell Airport</e1> ."
    # A masked entity ("pos": [5, 5]) is an empty span at the end of the text.
    assert masked.e1 == CharSpan(len(masked.text), len(masked.text), "")
    assert masked.tagged_text.endswith("<e1></e1>")
    # OpenNRE's "text" layout gives character positions directly.
    assert (text_layout.e1.text, text_layout.e2.text, text_layout.relation) == ("Quiet Water", "Mira Holt", "author")
    assert [e.id for e in (river, airport, masked, text_layout)] == ["1", "2", "3", "4"]


# --- ASTE -----------------------------------------------------------------------------------------


def test_aste_triplets_with_character_spans():
    soup, bread, menu = load_aste(FIXTURES / "toy_triplets.txt")
    first, second = soup.triplets
    assert (first.aspect, first.opinion, first.polarity) == (
        CharSpan(4, 8, "soup"),
        CharSpan(13, 17, "cold"),
        "negative",
    )
    assert (second.aspect.text, second.opinion.text, second.polarity) == ("staff", "lovely", "positive")
    only = bread.triplets[0]
    assert (only.aspect.text, only.aspect_words, only.opinion.text) == ("garlic bread", (1, 3), "best")
    # One aspect can be judged by several opinion spans.
    assert [(t.aspect.text, t.opinion.text, t.polarity) for t in menu.triplets] == [
        ("menu", "long", "neutral"),
        ("menu", "rather ordinary", "negative"),
    ]


# --- Opinion lexicon ------------------------------------------------------------------------------


def test_opinion_lexicon_reads_latin1_and_skips_comments():
    lexicon = load_opinion_lexicon(FIXTURES / "lexicon")
    assert lexicon.positive == {"calm", "envious", "good", "lovely"}
    assert lexicon.negative == {"cold", "envious", "na\u00efve", "rude"}  # naïve is one Latin-1 byte in the file
    assert load_opinion_lexicon(FIXTURES / "lexicon" / "negative-words.txt") == lexicon  # either file names the folder
    assert load_dataset(FIXTURES / "lexicon" / "positive-words.txt").examples[0] == LexiconEntry("calm", "positive")


# --- headscope JSONL ------------------------------------------------------------------------------


def test_user_jsonl_absa():
    first, second = load_user_jsonl(FIXTURES / "user_absa.jsonl")
    assert first.terms == (AspectTerm("pasta", 4, 9, "positive", "food"), AspectTerm("waiter", 28, 34, "negative"))
    assert first.categories == (AspectCategory("service", "negative"),)
    assert (second.id, second.terms, second.categories) == ("3", (), ())  # id defaults to the line number


def test_user_jsonl_re_notations_agree():
    tagged, spans, api_spans = load_user_jsonl(FIXTURES / "user_re.jsonl")
    assert (tagged.text, tagged.e1, tagged.e2) == (spans.text, spans.e1, spans.e2)
    assert (api_spans.e1.text, api_spans.e2.text) == ("Kell Airport", "Port Ilse")
    with pytest.raises(
        DatasetError, match=r"user_re.jsonl: line 1: expected an ABSA record \(the format asks for ABSA\)"
    ):
        load_dataset(FIXTURES / "user_re.jsonl", "absa-jsonl")


# --- load_dataset ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("restaurants.xml", "semeval2014"),
        ("sentihood.json", "sentihood"),
        ("semeval2010_train.txt", "semeval2010"),
        ("semeval2010_key.txt", "semeval2010-key"),
        ("wiki80_toy.txt", "opennre"),
        ("toy_triplets.txt", "aste"),
        ("lexicon", "opinion-lexicon"),
        ("lexicon/negative-words.txt", "opinion-lexicon"),
        ("user_absa.jsonl", "jsonl"),
    ],
)
def test_load_dataset_picks_the_format(name: str, fmt: str):
    dataset = load_dataset(FIXTURES / name)
    assert dataset.format == fmt and len(dataset) > 0
    assert list(dataset) == list(FORMATS[fmt].load(FIXTURES / name))


def test_detect_format_leaves_unknown_files_alone():
    assert detect_format(FIXTURES) is None  # a folder without both lexicon files
    assert detect_format(FIXTURES / "mams_atsa.xml") == "semeval2014"  # same schema; name mams-atsa for its checks


def test_load_dataset_names_the_accepted_formats():
    with pytest.raises(DatasetError, match="unknown format 'xml'; accepted: semeval2014 .*re-jsonl"):
        load_dataset(FIXTURES / "restaurants.xml", "xml")
    with pytest.raises(DatasetError, match="cannot tell the format from the file name; give one of: semeval2014"):
        load_dataset(Path(__file__))
    with pytest.raises(DatasetError, match="missing.xml: no such file"):
        load_dataset(FIXTURES / "missing.xml")
    assert issubclass(DatasetError, HeadscopeError)


# Each broken fixture, the format it is read as, and what the message must say: the line or element, and what was
# expected.
BROKEN_CASES = [
    ("not_well_formed.xml", None, "line 7, column 10: not well-formed XML (mismatched tag)"),
    (
        "offsets_mismatch.xml",
        None,
        "sentence id=b2: aspect term 'staff' from=28 to=33: the text there is 'aff w'; expected text[from:to] == term",
    ),
    ("unknown_polarity.xml", None, "sentence id=b3: <aspectTerm> polarity='awful': expected one of positive, negative"),
    ("mams_atsa_without_terms.xml", "mams-atsa", "sentence #2: has no <aspectTerm>"),
    (
        "sentihood_bad_sentiment.json",
        None,
        "item #2 (id 12): opinion sentiment 'Neutral': expected Positive or Negative",
    ),
    ("sentihood_not_json.json", None, "line 27, column 9: not valid JSON"),
    (
        "semeval2010_missing_label.txt",
        None,
        "line 10: 'Comment:' after sentence 3: expected its relation label, one of Cause-Effect(e1,e2)",
    ),
    (
        "semeval2010_unknown_label.txt",
        None,
        "line 6: 'Entity-Destination(e3,e1)' after sentence 2: expected its relation label",
    ),
    (
        "semeval2010_unclosed_tag.txt",
        None,
        "line 12: sentence 'The <e1>orchestra</e1> has forty <e2>violinists.': no <e2>..</e2>",
    ),
    ("semeval2010_key_bad.txt", "semeval2010-key", "line 2: '2\\tEntity Destination': expected `id<TAB>relation`"),
    (
        "opennre_pos_outside.txt",
        None,
        'line 2: "t" pos [6, 9] is outside the sentence: expected 0 <= start <= end <= 8',
    ),
    ("aste_index_outside_triplets.txt", None, "line 2: opinion index 10 is outside the sentence: expected 0..9"),
    ("aste_unknown_polarity_triplets.txt", None, "line 3: polarity 'NEUTRAL': expected one of POS, NEG, NEU"),
    ("aste_no_separator_triplets.txt", None, "line 1: no `####` after a sentence"),
    ("lexicon", None, "positive-words.txt: line 4: 'very good': expected one word per line"),
    ("bad_json_line3.jsonl", None, "line 3: not valid JSON"),
    (
        "user_absa_unknown_polarity.jsonl",
        None,
        "line 1: polarity 'great': expected one of positive, negative, neutral, conflict",
    ),
    ("user_absa_offsets.jsonl", None, "line 2: term 'bread' from=4 to=9: the text there is ' brea'"),
    ("user_mixed_tasks.jsonl", None, "line 2: expected an RE record (the file's first record is RE)"),
    ("user_re_overlap.jsonl", None, "line 1: entity spans [4, 9] and [6, 12] overlap"),
    ("user_no_task.jsonl", None, 'line 1: no "aspects" (ABSA) or "relation" (RE)'),
]


@pytest.mark.parametrize(("name", "fmt", "expected"), BROKEN_CASES, ids=[case[0] for case in BROKEN_CASES])
def test_broken_file_names_file_place_and_expectation(name: str, fmt: str | None, expected: str):
    with pytest.raises(DatasetError) as caught:
        load_dataset(BROKEN / name, fmt)
    message = str(caught.value)
    assert message.startswith(str(BROKEN / name)), message
    assert expected in message, message


def test_every_broken_fixture_is_covered():
    assert {p.name for p in BROKEN.iterdir()} == {case[0] for case in BROKEN_CASES}


# --- The real benchmark files (HEADSCOPE_SHARED_DATA) ---------------------------------------------


@pytest.fixture(scope="module")
def shared() -> Path:
    root = os.environ.get("HEADSCOPE_SHARED_DATA")
    if not root:
        pytest.skip("HEADSCOPE_SHARED_DATA is not set: real-data loader tests skipped")
    if not Path(root).is_dir():
        pytest.skip(f"HEADSCOPE_SHARED_DATA={root} is not a folder: real-data loader tests skipped")
    return Path(root)


def polarity_counts(values) -> tuple[int, ...]:
    counts = Counter(values)
    return tuple(counts[p] for p in ("positive", "negative", "neutral", "conflict"))


# semeval2014_task4/PROVENANCE.md: sentences, aspect terms, aspect categories (repeats included).
@pytest.mark.parametrize(
    ("name", "sentences", "terms", "categories"),
    [
        ("Restaurants_Train_v2.xml", 3041, 3693, 3713),
        ("Restaurants_Train_v1.xml", 3044, 3699, 3714),
        ("Restaurants_Test_Gold.xml", 800, 1134, 1025),
        ("Laptop_Train_v2.xml", 3045, 2358, 0),
        ("Laptops_Train_v1.xml", 3048, 2373, 0),
        ("Laptops_Test_Gold.xml", 800, 654, 0),
    ],
)
def test_real_semeval2014_counts(shared: Path, name: str, sentences: int, terms: int, categories: int):
    dataset = load_dataset(shared / "semeval2014_task4" / "xml" / name)
    assert dataset.format == "semeval2014"
    assert len(dataset) == sentences
    assert sum(len(s.terms) for s in dataset) == terms
    assert sum(len(s.categories) for s in dataset) == categories
    assert all(s.text[t.start : t.end] == t.term for s in dataset for t in s.terms)


def test_real_semeval2014_restaurant_test_polarities(shared: Path):
    sentences = load_semeval2014(shared / "semeval2014_task4" / "xml" / "Restaurants_Test_Gold.xml")
    assert polarity_counts(t.polarity for s in sentences for t in s.terms) == (728, 196, 196, 14)
    assert polarity_counts(c.polarity for s in sentences for c in s.categories) == (657, 222, 94, 52)
    assert sentences[0].id == "32897564#894393#2"
    # 13 test sentences have both a positive and a negative category (README: use MAMS for opposite aspects).
    assert sum({"positive", "negative"} <= set(c.polarity for c in s.categories) for s in sentences) == 13


# mams/PROVENANCE.md: sentences, aspects (pos/neg/neu).
@pytest.mark.parametrize(
    ("fmt", "name", "sentences", "aspects", "polarities"),
    [
        ("mams-atsa", "atsa/train.xml", 4297, 11186, (3380, 2764, 5042, 0)),
        ("mams-atsa", "atsa/val.xml", 500, 1332, (403, 325, 604, 0)),
        ("mams-acsa", "acsa/train.xml", 3149, 7090, (1929, 2084, 3077, 0)),
        ("mams-acsa", "acsa/val.xml", 400, 888, (241, 259, 388, 0)),
    ],
)
def test_real_mams_counts(shared: Path, fmt: str, name: str, sentences: int, aspects: int, polarities: tuple[int, ...]):
    dataset = load_dataset(shared / "mams" / name, fmt)
    polarity_of = [a.polarity for s in dataset for a in (s.terms if fmt == "mams-atsa" else s.categories)]
    assert (len(dataset), len(polarity_of), polarity_counts(polarity_of)) == (sentences, aspects, polarities)


def test_real_mams_acsa_categories(shared: Path):
    sentences = load_mams_acsa(shared / "mams" / "acsa" / "train.xml")
    assert Counter(c.category for s in sentences for c in s.categories) == {
        "food": 2307,
        "staff": 1383,
        "miscellaneous": 954,
        "place": 694,
        "service": 631,
        "menu": 475,
        "ambience": 324,
        "price": 322,
    }


# sentihood/PROVENANCE.md: sentences (with or without opinions) and opinions (one exact duplicate in train is counted).
@pytest.mark.parametrize(
    ("split", "sentences", "opinions", "positive", "negative"),
    [
        ("train", 2977, 3396, 2475, 921),
        ("dev", 747, 838, 615, 223),
        ("test", 1491, 1677, 1215, 462),
    ],
)
def test_real_sentihood_counts(shared: Path, split: str, sentences: int, opinions: int, positive: int, negative: int):
    dataset = load_sentihood(shared / "sentihood" / f"sentihood-{split}.json")
    found = Counter(o.polarity for s in dataset for o in s.opinions)
    assert (len(dataset), sum(found.values()), found["positive"], found["negative"]) == (
        sentences,
        opinions,
        positive,
        negative,
    )
    # Every opinion's target is found in its sentence, the glued ones ("LOCATION1the") included.
    assert all(s.spans_of(o.target) for s in dataset for o in s.opinions)


# semeval2010_task8/PROVENANCE.md: examples, ids, Other, 19 labels; the key agrees once direction is removed.
def test_real_semeval2010_counts_and_key(shared: Path):
    from app.core.inputs.relations import parse_entity_tags

    folder = shared / "semeval2010_task8"
    for name, count, first_id, others in (("TRAIN_FILE.TXT", 8000, 1, 1410), ("TEST_FILE_FULL.TXT", 2717, 8001, 454)):
        dataset = load_dataset(folder / name)
        assert dataset.format == "semeval2010" and len(dataset) == count
        assert [e.id for e in dataset] == [str(i) for i in range(first_id, first_id + count)]
        assert sum(e.relation == "Other" for e in dataset) == others
        assert {e.relation for e in dataset} == set(SEMEVAL2010_LABELS)
        # Spans agree with the input builder's own tag parser on every sentence.
        assert all(parse_entity_tags(e.tagged_text) == (e.text, e.e1.offsets, e.e2.offsets) for e in dataset)
    key = load_dataset(folder / "TEST_FILE_KEY.TXT")
    assert key.format == "semeval2010-key" and len(key) == 2717
    assert [k.relation for k in key] == [
        e.relation.split("(")[0] for e in load_semeval2010(folder / "TEST_FILE_FULL.TXT")
    ]


# wiki80_diagnosere_sample/PROVENANCE.md: 27 files of 500 lines, one of 71; train has 1 relation, val 8.
def test_real_wiki80_sample_files(shared: Path):
    folder = shared / "wiki80_diagnosere_sample"
    files = sorted(folder.rglob("*.txt"))
    assert len(files) == 27
    for path in files:
        dataset = load_dataset(path)
        assert dataset.format == "opennre"
        assert len(dataset) == (71 if path.name == "val_adv_uat.txt" else 500), path
    rows = [json.loads(line) for line in (folder / "val.txt").read_text(encoding="utf-8").splitlines()]
    examples = load_opennre(folder / "val.txt")
    assert (
        len({e.relation for e in examples}) == 8 and len({e.relation for e in load_opennre(folder / "train.txt")}) == 1
    )
    for row, example in zip(rows, examples):
        for key, span in (("h", example.e1), ("t", example.e2)):
            start, end = row[key]["pos"]
            assert span.text == " ".join(row["token"][start:end])


# aste_v2/PROVENANCE.md: sentences and triplets per file; POS/NEG/NEU over all files.
ASTE_COUNTS = {
    "14res": ((1266, 2338), (310, 577), (492, 994)),
    "14lap": ((906, 1460), (219, 346), (328, 543)),
    "15res": ((605, 1013), (148, 249), (322, 485)),
    "16res": ((857, 1394), (210, 339), (326, 514)),
}


def test_real_aste_counts(shared: Path):
    polarities: Counter[str] = Counter()
    for folder, counts in ASTE_COUNTS.items():
        for split, (sentences, triplets) in zip(("train", "dev", "test"), counts):
            dataset = load_dataset(shared / "aste_v2" / folder / f"{split}_triplets.txt")
            assert dataset.format == "aste"
            assert (len(dataset), sum(len(s.triplets) for s in dataset)) == (sentences, triplets), (folder, split)
            polarities.update(t.polarity for s in dataset for t in s.triplets)
    assert (polarities["positive"], polarities["negative"], polarities["neutral"]) == (7178, 2412, 662)
    train = load_aste(shared / "aste_v2" / "14res" / "train_triplets.txt")
    # "aspects" / "opinions" in PROVENANCE.md are distinct spans per sentence, summed.
    assert sum(len({t.aspect_words for t in s.triplets}) for s in train) == 2051
    assert sum(len({t.opinion_words for t in s.triplets}) for s in train) == 2086
    assert all(t.aspect.text == " ".join(s.text.split()[slice(*t.aspect_words)]) for s in train for t in s.triplets)


def test_real_opinion_lexicon(shared: Path):
    lexicon = load_opinion_lexicon(shared / "opinion_lexicon")
    assert (len(lexicon.positive), len(lexicon.negative)) == (2006, 4783)
    assert lexicon.positive & lexicon.negative == {"envious", "enviously", "enviousness"}
    assert "na\u00efve" in lexicon.negative and "a+" in lexicon.positive
    assert load_dataset(shared / "opinion_lexicon").format == "opinion-lexicon"

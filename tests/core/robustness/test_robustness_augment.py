"""Training on the original data plus robustness variants of it (DiagnoseRE's remedy)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.core.data.demo import demo_dataset
from app.core.data.readers import AbsaSentence, RelationExample
from app.core.robustness.augment import augment_examples

RELATIONS = [
    {"text": "The <e1>storm</e1> caused <e2>floods</e2>.", "relation": "Cause-Effect(e1,e2)"},
    {"text": "The <e1>floods</e1> were caused by the <e2>storm</e2>.", "relation": "Cause-Effect(e2,e1)"},
    {"text": "She poured <e1>tea</e1> into a <e2>cup</e2>.", "relation": "Entity-Destination(e1,e2)"},
    {"text": "The <e1>wheel</e1> of the <e2>car</e2> fell off.", "relation": "Component-Whole(e1,e2)"},
    {"text": "A <e1>tree</e1> stood next to the <e2>house</e2>.", "relation": "Other"},
    {"text": "The <e1>author</e1> wrote a <e2>novel</e2>.", "relation": "Product-Producer(e2,e1)"},
]


def test_relation_variants_become_training_examples_with_their_labels():
    examples = list(demo_dataset("demo-re").examples)[:30]
    added = augment_examples("re", "re-markers", examples, ["q5-entity-mask", "q1-typo"])
    tests = {test for test, _ in added}
    assert tests == {"q5-entity-mask", "q1-typo"}
    for _test, example in added:
        assert isinstance(example, RelationExample)
        assert example.text[example.e1.start : example.e1.end] == example.e1.text
    masked = [e for t, e in added if t == "q5-entity-mask"]
    assert len(masked) == 30 and {e.relation for e in masked} == {e.relation for e in examples}


def test_term_variants_and_refusals():
    sentences = [s for s in demo_dataset("demo-absa").examples if s.terms][:20]
    added = augment_examples("absa", "term", sentences, ["aspect-mask"])
    assert added and all(isinstance(e, AbsaSentence) and len(e.terms) == 1 for _, e in added)
    with pytest.raises(ValueError, match="accepted formats"):
        augment_examples("absa", "qa-m", sentences, ["q1-typo"])
    with pytest.raises(ValueError, match="q2-pwws"):
        augment_examples("re", "re-markers", list(demo_dataset("demo-re").examples)[:5], ["q2-pwws"])


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_train_with_augmentation_records_it(tmp_path, monkeypatch):
    models = tmp_path / "models"
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    get_settings.cache_clear()
    data = tmp_path / "relations.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RELATIONS), encoding="utf-8")
    try:
        result = CliRunner().invoke(
            cli,
            [
                "train",
                "re",
                "--data",
                str(data),
                "--out",
                "re-augmented",
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--augment",
                "q5-entity-mask",
                "--no-progress",
            ],
        )
        bad = CliRunner().invoke(cli, ["train", "re", "--data", str(data), "--out", "x", "--augment", "revtgt"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    training = json.loads((models / "re-augmented" / "headscope.json").read_text())["training"]
    assert training["augmentation"] == {"q5-entity-mask": len(RELATIONS)}
    assert training["spec"]["augment"] == ["q5-entity-mask"] and training["units"] == 2 * len(RELATIONS)
    assert bad.exit_code == 2 and "revtgt" in bad.output and "accepted" in bad.output


REVIEWS = [
    ("The pasta was great.", "pasta", "positive"),
    ("The waiter was rude.", "waiter", "negative"),
    ("The soup was good.", "soup", "positive"),
    ("The room was dirty.", "room", "negative"),
    ("The bread was great.", "bread", "positive"),
    ("The music was awful.", "music", "negative"),
]


@pytest.mark.trains  # fine-tunes MiniLM: minutes on 2 cores, not in `make test-fast`
def test_train_terms_with_revtgt_reads_opinion_words_from_the_shared_lexicon(tmp_path, monkeypatch):
    """Term data without gold opinions: RevTgt finds the opinion words in the shared data's Hu & Liu lexicon."""
    data = tmp_path / "terms.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"r{i}",
                    "text": text,
                    "aspects": [
                        {
                            "term": term,
                            "from": text.index(term),
                            "to": text.index(term) + len(term),
                            "polarity": polarity,
                        }
                    ],
                }
            )
            + "\n"
            for i, (text, term, polarity) in enumerate(REVIEWS)
        ),
        encoding="utf-8",
    )
    shared = tmp_path / "shared"
    (shared / "opinion_lexicon").mkdir(parents=True)
    (shared / "opinion_lexicon" / "positive-words.txt").write_text("great\ngood\npolite\nclean\n", encoding="utf-8")
    (shared / "opinion_lexicon" / "negative-words.txt").write_text("rude\ndirty\nawful\nbad\n", encoding="utf-8")
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    command = [
        "train",
        "absa",
        "--data",
        str(data),
        "--format",
        "term",
        "--out",
        "terms-augmented",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--augment",
        "revtgt",
        "--no-progress",
    ]
    try:
        monkeypatch.delenv("HEADSCOPE_SHARED_DATA", raising=False)
        get_settings.cache_clear()
        without = CliRunner().invoke(cli, command)
        monkeypatch.setenv("HEADSCOPE_SHARED_DATA", str(shared))
        get_settings.cache_clear()
        with_lexicon = CliRunner().invoke(cli, command)
    finally:
        get_settings.cache_clear()
    assert without.exit_code == 2 and "lexicon" in without.output
    assert with_lexicon.exit_code == 0, with_lexicon.output
    training = json.loads((tmp_path / "models" / "terms-augmented" / "headscope.json").read_text())["training"]
    assert training["augmentation"] == {"revtgt": len(REVIEWS)}  # every review's one opinion word reversed

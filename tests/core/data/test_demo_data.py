"""The demo data shipped in the package is well-formed (offsets, labels, counts)."""

import subprocess
import sys
from pathlib import Path

from app.core.data.demo import RESTAURANT_CATEGORIES, read_relation_sentences, read_review_sentences
from app.core.training.demo_checkpoints import DEMO_RE_LABELS

ROOT = Path(__file__).resolve().parents[3]


def test_checker_passes():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_demo_data.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readers_give_typed_examples():
    reviews = read_review_sentences()
    assert len(reviews) == 610  # tools/check_demo_data.py's ABSA_LINES: the first 320 and 290 appended
    assert all(set(r.category_polarities()) <= set(RESTAURANT_CATEGORIES) for r in reviews)
    assert all(r.text[t.start : t.end] == t.term for r in reviews for t in r.terms)
    opposite = [r for r in reviews if {"positive", "negative"} <= set(r.category_polarities().values())]
    assert len(opposite) >= 60
    relations = read_relation_sentences()
    assert {r.relation for r in relations} == set(DEMO_RE_LABELS)
    assert all(r.text[r.e1.start : r.e1.end] == r.e1.text and "<e1>" not in r.text for r in relations)

"""The one text edit robustness tests are built with: spans move with the edits and stay on their words."""

from __future__ import annotations

import pytest

from app.core.data.readers import CharSpan, RelationExample
from app.core.inputs.units import UnitSpec
from app.core.robustness.variants import Edit, EditError, edit_spec, edit_text


def test_spans_follow_insertions_replacements_and_deletions():
    text = "The soup was great but the staff was rude."
    soup, staff = (4, 8), (27, 32)
    new, written, (a, b) = edit_text(
        text, [Edit(13, 18, "awful"), Edit(0, 0, "Well, "), Edit(37, 41, "")], [soup, staff]
    )
    assert new == "Well, The soup was awful but the staff was ."
    assert new[a[0] : a[1]] == "soup" and new[b[0] : b[1]] == "staff"
    assert [new[s:e] for s, e in written] == ["Well, ", "awful", ""]


def test_an_edit_inside_a_span_resizes_it_and_one_across_it_is_refused():
    text = "Fish and chips were cold."
    new, _, [(s, e)] = edit_text(text, [Edit(5, 8, "&")], [(0, 14)])
    assert new[s:e] == "Fish & chips"
    with pytest.raises(EditError, match="cuts across"):
        edit_text(text, [Edit(3, 6, "x")], [(5, 14)])
    with pytest.raises(EditError, match="overlapping"):
        edit_text(text, [Edit(0, 4, "a"), Edit(2, 6, "b")])


def test_relation_and_aspect_specs_keep_their_spans_and_labels():
    text = "The fire was caused by a cigarette."
    relation = RelationExample("r1", text, CharSpan(4, 8, "fire"), CharSpan(25, 34, "cigarette"), "Cause-Effect(e2,e1)")
    spec = UnitSpec("r1", text, relation=relation, polarity=relation.relation)
    edited, written = edit_spec(spec, [Edit(9, 12, "is")], label="Other")
    e = edited.relation
    assert e.text == "The fire is caused by a cigarette." and e.e1.text == "fire" and e.e2.text == "cigarette"
    assert edited.polarity == e.relation == "Other" and written == [(9, 11)]
    review = UnitSpec("s1", "Great pizza, slow waiter.", "pizza", ((6, 11),), ((0, 5),), ((18, 24),), "positive")
    flipped, _ = edit_spec(review, [Edit(0, 5, "Awful")], label="negative")
    assert flipped.text[slice(*flipped.term_spans[0])] == "pizza" and flipped.aspect == "pizza"
    assert flipped.text[slice(*flipped.opinion_spans[0])] == "Awful" and flipped.polarity == "negative"


def test_make_variant_records_both_sides_of_the_edit():
    from app.core.robustness.variants import make_variant

    review = UnitSpec("s1", "Great pizza, slow waiter.", "pizza", ((6, 11),), ((0, 5),), ((18, 24),), "positive")
    variant = make_variant(0, review, "revtgt", [Edit(0, 5, "Terrible")], label="negative", antonym="terrible")
    assert variant.replaced == ((0, 5),) and variant.edited == ((0, 8),) and variant.label_changed
    assert variant.spec.text == "Terrible pizza, slow waiter." and variant.details == {"antonym": "terrible"}
    assert variant.source_id == "s1" and variant.test == "revtgt"

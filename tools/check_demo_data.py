#!/usr/bin/env python3
"""Validate the hand-written demo datasets shipped in app/demo_data/.

Checks app/demo_data/restaurants.jsonl (ABSA, SemEval-2014 restaurant style)
and app/demo_data/relations.jsonl (RE, SemEval-2010 Task 8 style), prints a
summary and exits with status 1 if any rule is violated.

Usage: python3 tools/check_demo_data.py [RESTAURANTS_JSONL [RELATIONS_JSONL]]
Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ABSA = ROOT / "app" / "demo_data" / "restaurants.jsonl"
DEFAULT_RE = ROOT / "app" / "demo_data" / "relations.jsonl"

# ---- ABSA rules -----------------------------------------------------------
# The first 320 reviews are the original set (the golden analysis test reads exactly those); the 290
# after them were appended so that the demo checkpoint learns the words the shipped examples use (food,
# service, price and ambience words, opposite polarities in one sentence, steep and fair prices).
# An exact count still catches a truncated or doubled file.
ABSA_LINES = 610
CATEGORIES = ["food", "service", "price", "ambience", "anecdotes/miscellaneous"]
POLARITIES = ["positive", "negative", "neutral", "conflict"]
MIN_PER_CATEGORY = 40
MIN_OPPOSITE = 90
# Two words is the shortest real review sentence ("Great prices.", "Terrible service."): SemEval-2014's
# restaurant sentences go down to one or two words, and a demo without them never sees a terse review.
ABSA_WORDS = (2, 40)
CATS_PER_SENTENCE = (1, 3)
# share of category labels (min %, max %)
POLARITY_SHARE = {
    "positive": (38.0, 52.0),
    "negative": (28.0, 42.0),
    "neutral": (10.0, 20.0),
    "conflict": (1.0, 6.0),
}
NO_TERM_SHARE = (10.0, 20.0)  # % of sentences without explicit aspect terms
MIN_MULTIWORD_TERMS = 10
MIN_ACCENTED = 3
MIN_EMOJI = 1
MIN_WITH_DIGITS = 5
MIN_WITH_APOSTROPHE = 5
MIN_QUESTIONS = 3

# ---- RE rules -------------------------------------------------------------
RE_LINES = 320
RELATIONS = [
    "Cause-Effect(e1,e2)",
    "Cause-Effect(e2,e1)",
    "Component-Whole(e1,e2)",
    "Entity-Origin(e1,e2)",
    "Content-Container(e1,e2)",
    "Member-Collection(e2,e1)",
    "Product-Producer(e2,e1)",
    "Other",
]
PER_RELATION = 40
RE_WORDS = (6, 35)
ENTITY_WORDS = (1, 3)
TAGS = ("<e1>", "</e1>", "<e2>", "</e2>")


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")


def load_jsonl(path: Path, rep: Report, name: str) -> list[tuple[int, dict]]:
    rows: list[tuple[int, dict]] = []
    if not path.is_file():
        rep.err(name, f"file not found: {path}")
        return rows
    with path.open(encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip():
                rep.err(f"{name}:{ln}", "blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                rep.err(f"{name}:{ln}", f"invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                rep.err(f"{name}:{ln}", "line is not a JSON object")
                continue
            rows.append((ln, obj))
    return rows


def n_words(text: str) -> int:
    return len(text.split())


def has_emoji(text: str) -> bool:
    return any(unicodedata.category(ch) == "So" or ord(ch) >= 0x1F000 for ch in text)


def has_accent(text: str) -> bool:
    return any(ord(ch) > 127 and unicodedata.category(ch).startswith("L") for ch in text)


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def check_ids(rows, rep, name, pattern):
    seen: dict[str, int] = {}
    for ln, obj in rows:
        rid = obj.get("id")
        if not isinstance(rid, str) or not re.fullmatch(pattern, rid):
            rep.err(f"{name}:{ln}", f"bad id {rid!r} (expected {pattern})")
            continue
        if rid in seen:
            rep.err(f"{name}:{ln}", f"duplicate id {rid} (first on line {seen[rid]})")
        seen[rid] = ln


def check_unique_texts(rows, rep, name, key):
    seen: dict[str, int] = {}
    for ln, obj in rows:
        t = obj.get("text")
        if not isinstance(t, str):
            continue
        k = key(t)
        if k in seen:
            rep.err(f"{name}:{ln}", f"duplicate text (same as line {seen[k]})")
        seen[k] = ln


def pct(n: int, total: int) -> float:
    return 100.0 * n / total if total else 0.0


# ---------------------------------------------------------------------------
def check_absa(path: Path, rep: Report) -> list[str]:
    name = path.name
    rows = load_jsonl(path, rep, name)
    if len(rows) != ABSA_LINES:
        rep.err(name, f"expected {ABSA_LINES} records, found {len(rows)}")
    check_ids(rows, rep, name, r"r\d{4}")
    check_unique_texts(rows, rep, name, lambda t: t.strip().lower())

    cat_count: Counter = Counter()
    pol_count: Counter = Counter()
    cat_pol: Counter = Counter()
    term_pol: Counter = Counter()
    n_terms = n_multi = n_noterm = n_opposite = 0
    n_accent = n_emoji = n_digits = n_apos = n_question = 0
    ncat_hist: Counter = Counter()

    for ln, obj in rows:
        where = f"{name}:{ln}"
        keys = set(obj)
        if keys != {"id", "text", "terms", "categories"}:
            rep.err(where, f"keys must be id,text,terms,categories (got {sorted(keys)})")
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            rep.err(where, "text missing or empty")
            continue
        if text != text.strip():
            rep.err(where, "text has leading/trailing whitespace")
        wc = n_words(text)
        if not ABSA_WORDS[0] <= wc <= ABSA_WORDS[1]:
            rep.err(where, f"text has {wc} words (allowed {ABSA_WORDS[0]}-{ABSA_WORDS[1]})")
        n_accent += has_accent(text)
        n_emoji += has_emoji(text)
        n_digits += any(ch.isdigit() for ch in text)
        n_apos += "'" in text
        n_question += "?" in text

        # categories
        cats = obj.get("categories")
        catmap: dict[str, str] = {}
        if not isinstance(cats, list):
            rep.err(where, "categories must be a list")
            cats = []
        if not CATS_PER_SENTENCE[0] <= len(cats) <= CATS_PER_SENTENCE[1]:
            rep.err(where, f"{len(cats)} categories (allowed {CATS_PER_SENTENCE[0]}-{CATS_PER_SENTENCE[1]})")
        ncat_hist[len(cats)] += 1
        for c in cats:
            if not isinstance(c, dict) or set(c) != {"category", "polarity"}:
                rep.err(where, f"bad category entry {c!r}")
                continue
            cat, pol = c["category"], c["polarity"]
            if cat not in CATEGORIES:
                rep.err(where, f"unknown category {cat!r}")
                continue
            if pol not in POLARITIES:
                rep.err(where, f"unknown polarity {pol!r} for {cat}")
                continue
            if cat in catmap:
                rep.err(where, f"category {cat} listed twice")
                continue
            catmap[cat] = pol
            cat_count[cat] += 1
            pol_count[pol] += 1
            cat_pol[(cat, pol)] += 1
        if "positive" in catmap.values() and "negative" in catmap.values():
            n_opposite += 1

        # terms
        terms = obj.get("terms")
        if not isinstance(terms, list):
            rep.err(where, "terms must be a list")
            terms = []
        if not terms:
            n_noterm += 1
        spans: list[tuple[int, int]] = []
        term_pols_by_cat: dict[str, set] = {}
        for t in terms:
            if not isinstance(t, dict) or set(t) != {"term", "from", "to", "polarity", "category"}:
                rep.err(where, f"bad term entry {t!r}")
                continue
            term, a, b = t["term"], t["from"], t["to"]
            if not isinstance(term, str) or not term.strip() or term != term.strip():
                rep.err(where, f"bad term string {term!r}")
                continue
            if not (isinstance(a, int) and isinstance(b, int)) or isinstance(a, bool) or isinstance(b, bool):
                rep.err(where, f"offsets of {term!r} must be integers")
                continue
            if not 0 <= a < b <= len(text):
                rep.err(where, f"offsets {a}:{b} of {term!r} out of range")
                continue
            if text[a:b] != term:
                rep.err(where, f"text[{a}:{b}] == {text[a:b]!r} != term {term!r}")
                continue
            if (a > 0 and is_word_char(text[a - 1]) and is_word_char(text[a])) or (
                b < len(text) and is_word_char(text[b]) and is_word_char(text[b - 1])
            ):
                rep.err(where, f"term {term!r} at {a}:{b} does not align with word boundaries")
            for sa, sb in spans:
                if a < sb and sa < b:
                    rep.err(where, f"term {term!r} overlaps another term")
            spans.append((a, b))
            if t["polarity"] not in POLARITIES:
                rep.err(where, f"term {term!r}: unknown polarity {t['polarity']!r}")
                continue
            if t["category"] not in CATEGORIES:
                rep.err(where, f"term {term!r}: unknown category {t['category']!r}")
                continue
            if t["category"] not in catmap:
                rep.err(where, f"term {term!r} has category {t['category']} which is not listed in categories")
            term_pols_by_cat.setdefault(t["category"], set()).add(t["polarity"])
            n_terms += 1
            n_multi += " " in term
            term_pol[t["polarity"]] += 1
        # a category whose terms are all positive (negative) must not be labelled the opposite
        for cat, tps in term_pols_by_cat.items():
            cpol = catmap.get(cat)
            if tps == {"positive"} and cpol == "negative" or tps == {"negative"} and cpol == "positive":
                rep.err(where, f"category {cat} is {cpol} but all its terms are {next(iter(tps))}")
            if {"positive", "negative"} <= tps and cpol not in ("conflict", "positive", "negative"):
                rep.err(where, f"category {cat} has positive and negative terms but polarity {cpol}")

    total_labels = sum(pol_count.values())
    n = len(rows)
    for cat in CATEGORIES:
        if cat_count[cat] < MIN_PER_CATEGORY:
            rep.err(name, f"category {cat} appears {cat_count[cat]} times (< {MIN_PER_CATEGORY})")
    for pol, (lo, hi) in POLARITY_SHARE.items():
        share = pct(pol_count[pol], total_labels)
        if not lo <= share <= hi:
            rep.err(name, f"polarity {pol} is {share:.1f}% of category labels (allowed {lo}-{hi}%)")
    if n_opposite < MIN_OPPOSITE:
        rep.err(name, f"only {n_opposite} sentences with opposite-polarity aspects (< {MIN_OPPOSITE})")
    share = pct(n_noterm, n)
    if not NO_TERM_SHARE[0] <= share <= NO_TERM_SHARE[1]:
        rep.err(
            name, f"{share:.1f}% of sentences have no explicit term (allowed {NO_TERM_SHARE[0]}-{NO_TERM_SHARE[1]}%)"
        )
    for label, got, need in [
        ("multi-word terms", n_multi, MIN_MULTIWORD_TERMS),
        ("sentences with accented letters", n_accent, MIN_ACCENTED),
        ("sentences with an emoji", n_emoji, MIN_EMOJI),
        ("sentences with digits", n_digits, MIN_WITH_DIGITS),
        ("sentences with an apostrophe", n_apos, MIN_WITH_APOSTROPHE),
        ("questions", n_question, MIN_QUESTIONS),
    ]:
        if got < need:
            rep.err(name, f"only {got} {label} (need >= {need})")

    lines = [f"== {name}: {n} sentences, {total_labels} category labels, {n_terms} aspect terms"]
    lines.append("  categories per sentence: " + ", ".join(f"{k}: {ncat_hist[k]}" for k in sorted(ncat_hist)))
    lines.append(f"  sentences with opposite-polarity aspects: {n_opposite}")
    lines.append(f"  sentences without explicit terms: {n_noterm} ({pct(n_noterm, n):.1f}%)")
    lines.append(
        f"  multi-word terms: {n_multi}; accented: {n_accent}; emoji: {n_emoji}; "
        f"digits: {n_digits}; apostrophes: {n_apos}; questions: {n_question}"
    )
    lines.append("  category labels by polarity:")
    lines.append("    " + f"{'category':<26}" + "".join(f"{p:>10}" for p in POLARITIES) + f"{'total':>8}")
    for cat in CATEGORIES:
        lines.append(
            "    " + f"{cat:<26}" + "".join(f"{cat_pol[(cat, p)]:>10}" for p in POLARITIES) + f"{cat_count[cat]:>8}"
        )
    lines.append("    " + f"{'total':<26}" + "".join(f"{pol_count[p]:>10}" for p in POLARITIES) + f"{total_labels:>8}")
    lines.append("    " + f"{'share':<26}" + "".join(f"{pct(pol_count[p], total_labels):>9.1f}%" for p in POLARITIES))
    lines.append("  term polarities: " + ", ".join(f"{p}: {term_pol[p]}" for p in POLARITIES))
    return lines


# ---------------------------------------------------------------------------
def strip_tags(text: str) -> str:
    for tag in TAGS:
        text = text.replace(tag, "")
    return text


def check_re(path: Path, rep: Report) -> list[str]:
    name = path.name
    rows = load_jsonl(path, rep, name)
    if len(rows) != RE_LINES:
        rep.err(name, f"expected {RE_LINES} records, found {len(rows)}")
    check_ids(rows, rep, name, r"e\d{4}")
    check_unique_texts(rows, rep, name, lambda t: strip_tags(t).strip().lower())

    rel_count: Counter = Counter()
    lengths: list[int] = []
    for ln, obj in rows:
        where = f"{name}:{ln}"
        if set(obj) != {"id", "text", "relation"}:
            rep.err(where, f"keys must be id,text,relation (got {sorted(obj)})")
        rel = obj.get("relation")
        if rel not in RELATIONS:
            rep.err(where, f"unknown relation {rel!r}")
        else:
            rel_count[rel] += 1
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            rep.err(where, "text missing or empty")
            continue
        if text != text.strip():
            rep.err(where, "text has leading/trailing whitespace")
        counts = {tag: text.count(tag) for tag in TAGS}
        if any(c != 1 for c in counts.values()):
            rep.err(where, f"each of <e1>, </e1>, <e2>, </e2> must occur exactly once (got {counts})")
            continue
        pos = [text.index(tag) for tag in TAGS]
        if not pos[0] < pos[1] < pos[2] < pos[3]:
            rep.err(where, "entity tags must appear as <e1>..</e1> then <e2>..</e2>, not nested")
            continue
        plain = strip_tags(text)
        if "<" in plain or ">" in plain:
            rep.err(where, "stray angle bracket / unknown tag in text")
        for label, a, b in (("e1", pos[0] + 4, pos[1]), ("e2", pos[2] + 4, pos[3])):
            ent = text[a:b]
            if not ent.strip() or ent != ent.strip():
                rep.err(where, f"{label} entity {ent!r} is empty or padded with spaces")
                continue
            ew = n_words(ent)
            if not ENTITY_WORDS[0] <= ew <= ENTITY_WORDS[1]:
                rep.err(where, f"{label} entity {ent!r} has {ew} words (allowed {ENTITY_WORDS[0]}-{ENTITY_WORDS[1]})")
        wc = n_words(plain)
        lengths.append(wc)
        if not RE_WORDS[0] <= wc <= RE_WORDS[1]:
            rep.err(where, f"sentence has {wc} words (allowed {RE_WORDS[0]}-{RE_WORDS[1]})")

    for rel in RELATIONS:
        if rel_count[rel] != PER_RELATION:
            rep.err(name, f"relation {rel} has {rel_count[rel]} sentences (expected {PER_RELATION})")

    lines = [f"== {name}: {len(rows)} sentences"]
    if lengths:
        lines.append(
            f"  words per sentence: min {min(lengths)}, max {max(lengths)}, mean {sum(lengths) / len(lengths):.1f}"
        )
    lines.append("  relations:")
    for rel in RELATIONS:
        lines.append(f"    {rel:<28}{rel_count[rel]:>5}")
    return lines


def main(argv: list[str]) -> int:
    absa = Path(argv[1]) if len(argv) > 1 else DEFAULT_ABSA
    rel = Path(argv[2]) if len(argv) > 2 else DEFAULT_RE
    rep = Report()
    summary = check_absa(absa, rep) + check_re(rel, rep)
    print("\n".join(summary))
    if rep.errors:
        print(f"\nFAILED: {len(rep.errors)} problem(s)")
        for e in rep.errors[:200]:
            print("  - " + e)
        if len(rep.errors) > 200:
            print(f"  ... and {len(rep.errors) - 200} more")
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

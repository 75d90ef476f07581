"""PWWS (Ren et al. 2019, "Generating Natural Language Adversarial Examples through Probability Weighted Word
Saliency"): WordNet synonyms in the order of probability-weighted word saliency.

For each editable content word w_i (not a stopword, not in an entity or the aspect term):
  saliency S_i = P(y | x) - P(y | x with w_i replaced by [UNK]);
  best synonym w*_i = the synonym that lowers P(y) most, by dP_i = P(y | x) - P(y | x with w*_i);
then words are replaced by their best synonym in the order of softmax(S)_i * dP_i, one more word
at a time, until the prediction leaves y. All [UNK] and synonym rows of an example are scored
together in batches, and so are the greedy steps (a batch of successive prefixes at a time: the
first prefix that flips the prediction ends the attack; the rest of its batch still counts as
queries). A single synonym that already flips the prediction on its own ends the attack before
the greedy steps (one word changed: what the greedy order reaches at best).

No part-of-speech tagger ships with the project, so synonyms are WordNet's lemmas of every part
of speech; one-word alphabetic lemmas only (a multi-word lemma would change the word count).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import torch

from app.core.robustness.attacks.model_queries import Budget, Found, Scorer
from app.core.robustness.attacks.word_rows import Pieces, Row, SourceInput, Word, surface

Synonyms = Callable[[str, str | None], Sequence[str]]  # (word, part of speech or None) -> WordNet synonyms


def wordnet_synonyms(reader: Any = None) -> Synonyms:
    """(word, pos) -> its WordNet lemmas over its synsets, most frequent sense first (nltk's order), once per word.

    reader: an nltk WordNetCorpusReader; default the robustness generators' reader of Debian's
    wordnet-base (robustness.wordnet.load_wordnet, WordNetUnavailableError naming the package).
    """
    if reader is None:
        from app.core.robustness.wordnet import load_wordnet

        reader = load_wordnet()

    @lru_cache(maxsize=65536)
    def synonyms(word: str, pos: str | None = None) -> tuple[str, ...]:
        names = (lemma.name() for synset in reader.synsets(word, pos=pos) for lemma in synset.lemmas())
        return tuple(dict.fromkeys(name for name in names if name.lower() != word.lower()))

    return synonyms


def substitutes(word: Word, synonyms: Synonyms, lowercase: bool) -> list[str]:
    """The word's one-word synonyms, as they would be written in its place (first seen first, no repeats)."""
    seen, found = {word.text.lower()}, []
    for lemma in synonyms(word.text.lower(), None):
        lemma = lemma.replace("_", " ")
        if lemma.isalpha() and lemma.isascii() and lemma.lower() not in seen:
            seen.add(lemma.lower())
            found.append(surface(word, lemma, lowercase))
    return found


def _fit(words: list[Word], subs: dict[int, list[str]], left: int) -> tuple[list[Word], dict[int, list[str]]]:
    """Trim synonyms (the same number per word) and then words so ranking and greedy steps fit `left` queries."""

    def cost(ws: list[Word], per: int) -> int:
        # per word: its [UNK] row, its synonyms, and one greedy step
        return sum(2 + min(len(subs[w.index]), per) for w in ws)

    per = max((len(subs[w.index]) for w in words), default=0)
    while per > 1 and cost(words, per) > left:
        per -= 1
    while words and cost(words, per) > left:
        words = words[:-1]
    return words, {w.index: subs[w.index][:per] for w in words}


def pwws(
    source: SourceInput,
    label: int,
    p_label: float,
    scorer: Scorer,
    budget: Budget,
    synonyms: Synonyms,
    pieces: Pieces,
    lowercase: bool,
    unk_id: int,
) -> Found:
    """Attack one example the model gets right (label: its gold = predicted class, p_label: its probability)."""
    words = [w for w in source.editable if not w.stopword]
    if not words:
        return Found.nothing("no editable content word")
    subs = {w.index: substitutes(w, synonyms, lowercase) for w in words}
    words, subs = _fit([w for w in words if subs[w.index]], subs, budget.left)
    if not words:
        return Found.nothing("no editable word has a WordNet synonym")
    rows: list[Row | None] = []
    owners: list[tuple[Word, str | None]] = []  # owners[r]: (word, synonym or None for the [UNK] row)
    for w in words:
        rows.append(source.splice({w.index: [unk_id]}))
        owners.append((w, None))
        for text in subs[w.index]:
            rows.append(source.splice({w.index: pieces(text)}))
            owners.append((w, text))
    kept = [r for r, row in enumerate(rows) if row is not None]  # a longer synonym may not fit max_length
    probs = scorer.probabilities([row for row in rows if row is not None], budget)  # the rows of `kept`
    scored = dict(zip(kept, probs))
    single = _single_flip(scored, owners, rows, label)
    if single is not None:
        return single
    order, best = _ranking(scored, owners, label, p_label)
    if not order:
        return Found.nothing("no synonym lowers the probability of the label")
    return _greedy(source, order, best, label, scorer, budget, pieces)


def _single_flip(scored: dict[int, torch.Tensor], owners, rows, label: int) -> Found | None:
    flips = [r for r, p in scored.items() if owners[r][1] is not None and int(p.argmax()) != label]
    if not flips:
        return None
    r = min(flips, key=lambda r: float(scored[r][label]))
    word, text = owners[r]
    return Found({word.index: text}, rows[r], scored[r], True)


def _ranking(scored, owners, label: int, p_label: float) -> tuple[list[Word], dict[int, str]]:
    """Words in PWWS order (only those whose best synonym lowers P(y)), and each word's best synonym."""
    saliency: dict[int, float] = {}
    best: dict[int, str] = {}
    drop: dict[int, float] = {}
    words: dict[int, Word] = {}
    for r, p in scored.items():
        word, text = owners[r]
        words[word.index] = word
        if text is None:
            saliency[word.index] = p_label - float(p[label])
        elif p_label - float(p[label]) > drop.get(word.index, 0.0):
            best[word.index], drop[word.index] = text, p_label - float(p[label])
    candidates = [w for i, w in words.items() if i in best]
    if not candidates:
        return [], best
    weights = torch.tensor([saliency.get(w.index, 0.0) for w in candidates]).softmax(0)
    score = {w.index: float(weight) * drop[w.index] for w, weight in zip(candidates, weights)}
    return sorted(candidates, key=lambda w: -score[w.index]), best


def _greedy(
    source: SourceInput,
    order: list[Word],
    best: dict[int, str],
    label: int,
    scorer: Scorer,
    budget: Budget,
    pieces: Pieces,
) -> Found:
    """Replace the first k words of `order` for k = 2, 3, ... (k = 1 was scored in the ranking)."""
    prefixes = []
    for k in range(2, len(order) + 1):
        swaps = {w.index: best[w.index] for w in order[:k]}
        row = source.splice({i: pieces(text) for i, text in swaps.items()})
        if row is None:
            break
        prefixes.append((swaps, row))
    lowest, scored = None, 0
    while scored < len(prefixes) and budget.left > 0:
        chunk = prefixes[scored : scored + min(scorer.batch_size, budget.left)]
        probs = scorer.probabilities([row for _, row in chunk], budget)
        scored += len(chunk)
        for (swaps, row), p in zip(chunk, probs):
            if int(p.argmax()) != label:
                return Found(swaps, row, p, True)
            if lowest is None or float(p[label]) < float(lowest[2][label]):
                lowest = (swaps, row, p)
    reason = "the budget was spent" if scored < len(prefixes) else "the best synonyms do not change the prediction"
    if lowest is None:
        return Found.nothing(reason)
    return Found(lowest[0], lowest[1], lowest[2], False, {"reason": reason})

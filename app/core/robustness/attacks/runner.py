"""Adversarial attacks (DiagnoseRE's Q2, Li et al. 2022): how easily is a correct prediction turned?

`attack(checkpoint, sources, method)` attacks every source the model predicts correctly, one at a
time, within a query budget, and yields one `AttackOutcome` per source (in order):

* "pwws": WordNet synonyms in probability-weighted word-saliency order (attacks_pwws.py);
* "hotflip": gradient-guided word-piece flips within a cosine constraint in the model's own
  embedding space (attacks_hotflip.py).

Entity words (RE) and the aspect term (ABSA) are never edited; entity markers are special tokens
outside the text. Queries: the check of the original prediction (one), every scored candidate
(one each) and every gradient (one); an example's attack stops before it would pass `budget`.
Candidates are scored batch_size rows per forward, each batch one call of `runner`.

The variant of a successful attack is built with variants.make_variant (test "q2-pwws" /
"q2-hotflip", gold label kept), encoded like any pair, and re-scored when its tokens differ from
the ids the attack scored, so a reported success is a prediction that really changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import torch

from app.core.inputs.units import UnitSpec, encode_unit, gold_label
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import Runner, run_here
from app.core.robustness.attacks.hotflip import MIN_COSINE, flip_space, hotflip
from app.core.robustness.attacks.model_queries import Budget, Found, Scorer
from app.core.robustness.attacks.pwws import Synonyms, pwws, wordnet_synonyms
from app.core.robustness.attacks.word_rows import Pieces, SourceInput, lowercases, source_input
from app.core.robustness.variants import Edit, Variant, make_variant

METHODS = ("pwws", "hotflip")
TEST_NAMES = {"pwws": "q2-pwws", "hotflip": "q2-hotflip"}
DEFAULT_BUDGET = 500
STATUSES = ("success", "failed", "skipped")


@dataclass(frozen=True)
class AttackOutcome:
    """One source's attack.

    status: "success" (the prediction left the gold label), "failed" (budget spent or nothing
    left to try), "skipped" (not attacked: the model gets it wrong, or it cannot be encoded);
    reason says why for failed and skipped. queries: model queries spent (0 when skipped);
    words_changed / words: words replaced in the variant (0 unless success) / content words of the
    source's text; variant: the adversarial Variant (success only).
    """

    source: int
    source_id: str
    method: str
    status: str
    queries: int
    words_changed: int
    words: int
    variant: Variant | None
    original_label: str | None
    adversarial_label: str | None
    reason: str = ""

    @property
    def success(self) -> bool:
        return self.status == "success"

    @property
    def change_rate(self) -> float | None:
        return self.words_changed / self.words if self.success and self.words else None


class _Shared(TypedDict):
    """What a failed and a successful AttackOutcome of one source share."""

    source: int
    source_id: str
    method: str
    queries: int
    words: int
    original_label: str


def check_attack_args(method: str, budget: int, batch_size: int, min_cosine: float) -> None:
    """ValueError naming what is accepted."""
    if method not in METHODS:
        raise ValueError(f"attack method {method!r}: accepted {', '.join(METHODS)}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(
            f"budget {budget!r}: accepted a whole number of model queries per example >= 1 (default {DEFAULT_BUDGET})"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size {batch_size!r}: accepted a whole number of inputs per forward >= 1")
    if not -1.0 <= min_cosine <= 1.0:
        raise ValueError(f"min_cosine {min_cosine!r}: accepted a cosine similarity in [-1, 1]")


def attack(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    method: str,
    *,
    budget: int = DEFAULT_BUDGET,
    batch_size: int = 32,
    runner: Runner = run_here,
    synonyms: Synonyms | None = None,
    min_cosine: float = MIN_COSINE,
) -> Iterator[AttackOutcome]:
    """Attack each source in turn; synonyms (PWWS): (word, pos) -> WordNet synonyms, default the WordNet reader.

    Arguments are checked (ValueError) and WordNet is opened on the call, before the first outcome.
    """
    check_attack_args(method, budget, batch_size, min_cosine)
    scorer = Scorer(checkpoint, batch_size, runner)
    one = _method(checkpoint, method, scorer, synonyms, min_cosine)
    return _outcomes(checkpoint, sources, method, budget, batch_size, scorer, one)


def _outcomes(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    method: str,
    budget: int,
    batch_size: int,
    scorer: Scorer,
    one: Callable[[SourceInput, int, float, Budget], Found],
) -> Iterator[AttackOutcome]:
    for start in range(0, len(sources), batch_size):
        chunk = list(range(start, min(start + batch_size, len(sources))))
        inputs = {i: source_input(checkpoint, sources[i]) for i in chunk}
        gold = {i: gold_label(checkpoint, sources[i]) for i in chunk}
        ready: dict[int, tuple[SourceInput, int]] = {}
        for i in chunk:
            source, label = inputs[i], gold[i]
            if source is not None and label is not None:
                ready[i] = (source, label)
        # The original predictions of a whole chunk share forwards; each counts one query below.
        probs = dict(zip(ready, scorer.probabilities([source.row for source, _ in ready.values()])))
        for i in chunk:
            if i not in probs:
                yield _skipped(
                    checkpoint,
                    sources[i],
                    i,
                    method,
                    gold[i],
                    "cannot be encoded"
                    if inputs[i] is None
                    else f"gold label {sources[i].polarity!r} is not one of the model's labels",
                )
            else:
                source, label = ready[i]
                yield _attack_one(checkpoint, scorer, i, source, label, probs[i], method, budget, one)


def _method(
    checkpoint: LoadedCheckpoint, method: str, scorer: Scorer, synonyms: Synonyms | None, min_cosine: float
) -> Callable[[SourceInput, int, float, Budget], Found]:
    lowercase = lowercases(checkpoint)
    if method == "hotflip":
        space = flip_space(checkpoint)
        return lambda source, label, p, budget: hotflip(source, label, p, scorer, budget, space, min_cosine, lowercase)
    synonyms = synonyms or wordnet_synonyms()
    pieces, unk = Pieces(checkpoint.tokenizer), checkpoint.tokenizer.unk_token_id
    return lambda source, label, p, budget: pwws(source, label, p, scorer, budget, synonyms, pieces, lowercase, unk)


def _attack_one(
    checkpoint: LoadedCheckpoint,
    scorer: Scorer,
    i: int,
    source: SourceInput,
    gold: int,
    probs: torch.Tensor,
    method: str,
    limit: int,
    one: Callable[[SourceInput, int, float, Budget], Found],
) -> AttackOutcome:
    labels = checkpoint.info.labels
    predicted = int(probs.argmax())
    if predicted != gold:
        return _skipped(checkpoint, source.spec, i, method, gold, f"the model predicts {labels[predicted]!r}")
    budget = Budget(limit)
    budget.spend(1)  # the check of the original prediction
    found = one(source, gold, float(probs[gold]), budget)
    if found.success:
        found = _confirmed(checkpoint, scorer, source, found, gold, budget)
    base = _Shared(
        source=i,
        source_id=source.spec.sentence_id,
        method=method,
        queries=budget.used,
        words=source.content_words,
        original_label=labels[gold],
    )
    if not found.success:
        reason = found.details.get("reason") or f"no success within {limit} queries"
        return AttackOutcome(
            status="failed", words_changed=0, variant=None, adversarial_label=None, reason=reason, **base
        )
    assert found.probabilities is not None  # a success carries the probabilities of its row
    adversarial = labels[int(found.probabilities.argmax())]
    variant = _variant(i, source, found, method, budget.used, adversarial)
    return AttackOutcome(
        status="success", words_changed=len(found.swaps), variant=variant, adversarial_label=adversarial, **base
    )


def _edits(source: SourceInput, found: Found) -> list[Edit]:
    return [Edit(source.words[w].start, source.words[w].end, text) for w, text in found.swaps.items()]


def _confirmed(
    checkpoint: LoadedCheckpoint, scorer: Scorer, source: SourceInput, found: Found, gold: int, budget: Budget
) -> Found:
    """The success as the variant's own encoding sees it (re-scored only when its ids differ from the scored row)."""
    spec = make_variant(0, source.spec, "check", _edits(source, found)).spec
    unit = encode_unit(checkpoint, spec)
    row = (
        (list(unit.encoded.input_ids), list(unit.encoded.token_type_ids) if unit.encoded.token_type_ids else None)
        if unit is not None
        else None
    )
    assert found.row is not None  # a success carries the row it scored
    if row is not None and row[0] == found.row[0]:
        return found
    if row is None or budget.left < 1:
        return Found(
            found.swaps,
            found.row,
            found.probabilities,
            False,
            {"reason": "the variant's own tokens could not be re-scored within the budget"},
        )
    probs = scorer.probabilities([row], budget)[0]
    if int(probs.argmax()) == gold:
        return Found(found.swaps, row, probs, False, {"reason": "the variant's own tokens keep the label"})
    return Found(found.swaps, row, probs, True, found.details)


def _variant(i: int, source: SourceInput, found: Found, method: str, queries: int, adversarial: str) -> Variant:
    changed, words = len(found.swaps), source.content_words
    cosines = {f["word"]: f["cosine"] for f in found.details.get("flips", ())}  # HotFlip's, per flipped word
    swaps = [
        {"from": source.words[w].text, "to": text, **({"cosine": cosines[w]} if w in cosines else {})}
        for w, text in sorted(found.swaps.items())
    ]
    details: dict[str, Any] = {
        "queries": queries,
        "words_changed": changed,
        "words": words,
        "change_rate": changed / words if words else 0.0,
        "swaps": swaps,
        "adversarial_label": adversarial,
    }
    return make_variant(i, source.spec, TEST_NAMES[method], _edits(source, found), **details)


def _skipped(
    checkpoint: LoadedCheckpoint, spec: UnitSpec, i: int, method: str, gold: int | None, reason: str
) -> AttackOutcome:
    original = checkpoint.info.labels[gold] if gold is not None else spec.polarity
    return AttackOutcome(i, spec.sentence_id, method, "skipped", 0, 0, 0, None, original, None, reason)

"""HotFlip (Ebrahimi et al. 2018), word-piece flips guided by the gradient, in the model's own embedding space.

One step: the gradient g of the cross-entropy of the gold label with respect to the input word
embeddings (one forward and backward, one query); the first-order gain of flipping token t at
position p to vocabulary piece v is (E[v] - E[t]) . g_p. The batch_size flips of highest gain
that satisfy the constraint are scored together (one query each); a flip that changes the
prediction ends the attack, otherwise the one that lowered P(label) most is kept and the next step
starts from it. The attack stops when the budget is spent, no flip lowers P(label), or every
editable word was flipped once.

Constraint: cos(E[v], E[t]) >= min_cosine in the checkpoint's word-embedding matrix (the original
piece t), so a flip stays near what it replaces in the model's own space.

What can flip: editable words (not in an entity or the aspect term) that are one word piece, into
vocabulary pieces that are whole alphabetic words (no "##" continuation, no special or marker
token, no [unusedN]). Such a piece is tokenised as itself wherever it stands, so the flipped ids
are exactly the tokens of the variant's text.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.robustness.attacks.model_queries import Budget, Found, Scorer
from app.core.robustness.attacks.word_rows import SourceInput, Word, surface

MIN_COSINE = 0.4  # MiniLM's nearest whole-word neighbours lie at 0.4-0.8 (car: vehicle 0.60, automobile 0.58)


@dataclass(frozen=True)
class FlipSpace:
    """The pieces a flip may write and their embeddings (raw for the gain, unit-length for the cosine)."""

    allowed: torch.Tensor  # [V'] vocabulary ids
    embeddings: torch.Tensor  # [V', hidden]
    unit: torch.Tensor  # [V', hidden]
    all_unit: torch.Tensor  # [V, hidden]: every piece, unit length (the original tokens')
    all_embeddings: torch.Tensor  # [V, hidden]
    pieces: tuple[str, ...]  # every piece's text


_SPACES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def flip_space(checkpoint: LoadedCheckpoint) -> FlipSpace:
    """Built once per loaded model (kept while the model lives)."""
    model = checkpoint.model
    if model not in _SPACES:
        tokenizer = checkpoint.tokenizer
        weight = model.get_input_embeddings().weight.detach().float().cpu()
        banned = set(tokenizer.all_special_tokens) | set(checkpoint.info.entity_markers or ())
        pieces = tokenizer.convert_ids_to_tokens(list(range(weight.shape[0])))
        allowed = [
            i for i, piece in enumerate(pieces) if piece and piece.isascii() and piece.isalpha() and piece not in banned
        ]
        unit = torch.nn.functional.normalize(weight, dim=-1)
        index = torch.tensor(allowed)
        _SPACES[model] = FlipSpace(index, weight[index], unit[index], unit, weight, tuple(pieces))
    return _SPACES[model]


def hotflip(
    source: SourceInput,
    label: int,
    p_label: float,
    scorer: Scorer,
    budget: Budget,
    space: FlipSpace,
    min_cosine: float,
    lowercase: bool,
) -> Found:
    """Attack one example the model gets right (label: its gold = predicted class, p_label: its probability)."""
    words = [w for w in source.editable if w.pieces == 1]
    if not words:
        return Found.nothing("no editable word is a single word piece")
    ids, types = list(source.ids), source.types
    originals = torch.tensor([ids[w.first] for w in words])
    cosine = space.all_unit[originals] @ space.unit.T  # [W, V']; the original piece of each word, fixed
    open_ = cosine >= min_cosine
    open_ &= space.allowed.unsqueeze(0) != originals.unsqueeze(1)
    flips: list[dict] = []
    current = p_label
    while budget.left >= 2 and bool(open_.any()):
        gradient = scorer.loss_gradient((ids, types), label, budget)
        candidates = _top_flips(gradient, ids, words, open_, space, min(scorer.batch_size, budget.left))
        if not candidates:
            break
        rows = [(_flipped(ids, words[w].first, int(space.allowed[v])), types) for w, v in candidates]
        probs = scorer.probabilities(rows, budget)
        hits = [r for r, p in enumerate(probs) if int(p.argmax()) != label]
        best = min(hits or range(len(rows)), key=lambda r: float(probs[r][label]))
        if not hits and float(probs[best][label]) >= current:
            break  # the first-order estimate found no flip that helps
        w, v = candidates[best]
        ids, current = rows[best][0], float(probs[best][label])
        flips.append(_record(words[w], int(space.allowed[v]), float(cosine[w, v]), space, lowercase))
        open_[w] = False  # each word flips at most once
        if hits:
            return _found(flips, ids, types, probs[best], True)
    if not flips:
        return Found.nothing(
            "no flip within the cosine constraint lowered the probability of the label"
            if budget.left >= 2
            else "the budget was spent before a flip was scored"
        )
    return _found(flips, ids, types, None, False)


def _top_flips(
    gradient: torch.Tensor, ids: list[int], words: list[Word], open_: torch.Tensor, space: FlipSpace, count: int
) -> list[tuple[int, int]]:
    """The `count` (word, allowed-piece) flips of highest first-order gain among the open ones."""
    positions = torch.tensor([w.first for w in words])
    g = gradient[positions]  # [W, hidden]
    current = space.all_embeddings[torch.tensor([ids[p] for p in positions.tolist()])]
    gain = g @ space.embeddings.T - (g * current).sum(-1, keepdim=True)  # [W, V']
    gain = gain.masked_fill(~open_, float("-inf"))
    values, flat = gain.flatten().topk(min(count, int(open_.sum())))
    width = gain.shape[1]
    return [(int(i) // width, int(i) % width) for value, i in zip(values, flat) if torch.isfinite(value)]


def _flipped(ids: list[int], position: int, piece: int) -> list[int]:
    out = list(ids)
    out[position] = piece
    return out


def _record(word: Word, piece: int, cosine: float, space: FlipSpace, lowercase: bool) -> dict:
    return {
        "word": word.index,
        "from": word.text,
        "piece": piece,
        "cosine": cosine,
        "to": surface(word, space.pieces[piece], lowercase),
    }


def _found(flips: list[dict], ids: list[int], types, probabilities, success: bool) -> Found:
    return Found({f["word"]: f["to"] for f in flips}, (ids, types), probabilities, success, {"flips": flips})

"""Counterfactual test (DiagnoseRE's Q3): remove the words the prediction rests on; does the relation survive?

For each source the model predicts correctly whose gold label is not the no-relation label, the k
words with the highest integrated-gradients attribution to the gold label's logit are removed (k =
1, 2, ...). The words that may go: editable content words (not in an entity or the aspect term,
with a letter or digit: no punctuation) that are not stopwords, with a positive attribution (they
speak for the label); a source with fewer than k such words yields no variant. A word's
attribution is the sum over its word pieces (app.core.attribution.gradients.integrated_gradients:
baseline [PAD] at content tokens, markers and special tokens kept). The variant's gold label is the
no-relation label: with its evidence gone the sentence no longer states the relation, so a model
that still predicts the original relation answers from the entities or from leftovers.

ABSA has no no-relation label of its own: the caller must name the label that plays its role
(e.g. "none" for category pairs, read as "the review no longer says how the aspect fares"), or
the test refuses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

import torch

from app.core.attribution import IG_DEFAULT_STEPS, integrated_gradients
from app.core.inputs.units import UnitSpec, gold_label
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import Runner, run_here
from app.core.robustness.attacks.model_queries import pad_rows
from app.core.robustness.attacks.word_rows import SourceInput, Word, removal_edits, source_input
from app.core.robustness.variants import Variant, make_variant

RE_NO_RELATION = ("Other", "no_relation", "NA", "P0")  # SemEval-2010, TACRED, Wiki80 / FewRel-style names


def q3_test(k: int) -> str:
    return f"q3-k{k}"


def no_relation_label(checkpoint: LoadedCheckpoint, label: str | None = None) -> str:
    """The label a counterfactual variant gets: `label` when given (one of the model's), RE's own otherwise."""
    info = checkpoint.info
    if label is not None:
        if label not in info.labels:
            raise ValueError(
                f"no-relation label {label!r} is not one of the model's labels: accepted {', '.join(info.labels)}"
            )
        return label
    if info.task != "re":
        raise ValueError(
            f"{info.id} is an {info.task} model: the counterfactual test needs the label that plays "
            f"the no-relation role named (one of {', '.join(info.labels)}; e.g. 'none' for category "
            "pairs); ABSA has none of its own"
        )
    found = [name for name in RE_NO_RELATION if name in info.labels]
    if not found:
        raise ValueError(
            f"{info.id} has no no-relation label ({', '.join(RE_NO_RELATION)}): name one of {', '.join(info.labels)}"
        )
    return found[0]


def counterfactual(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    k: int | Sequence[int],
    no_relation: str | None = None,
    *,
    batch_size: int = 16,
    runner: Runner = run_here,
    steps: int = IG_DEFAULT_STEPS,
) -> Iterator[Variant]:
    """Variants with the top-k attributed words removed and the no-relation label, source by source.

    k: one number of words, or several (e.g. (1, 2)) sharing one attribution per source: each
    source's variants come in the order of k. Arguments are checked (ValueError) on the call.
    """
    ks = (k,) if isinstance(k, int) and not isinstance(k, bool) else tuple(k) if isinstance(k, (list, tuple)) else (k,)
    if not ks or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in ks):
        raise ValueError(
            f"k {k!r}: accepted a whole number of words to remove >= 1, or a list of them (the test uses 1 and 2)"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size {batch_size!r}: accepted a whole number of inputs per forward >= 1")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps {steps!r}: accepted a whole number of integrated-gradients steps >= 2")
    target = no_relation_label(checkpoint, no_relation)
    return _variants(checkpoint, sources, ks, target, batch_size, runner, steps)


def _variants(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    ks: tuple[int, ...],
    target: str,
    batch_size: int,
    runner: Runner,
    steps: int,
) -> Iterator[Variant]:
    for start in range(0, len(sources), batch_size):
        chunk = range(start, min(start + batch_size, len(sources)))
        inputs = {i: source_input(checkpoint, sources[i]) for i in chunk}
        gold = {i: gold_label(checkpoint, sources[i]) for i in chunk}
        # (index, its input, its gold label) of the sources with both set, the walrus narrowing them for mypy
        ready = [
            (i, source, label)
            for i in chunk
            if (source := inputs[i]) is not None and (label := gold[i]) is not None and sources[i].polarity != target
        ]
        if not ready:
            continue
        scores, predicted = runner(
            partial(_attribute, checkpoint, [source for _, source, _ in ready], [label for _, _, label in ready], steps)
        )
        for row, (i, source, label) in enumerate(ready):
            if int(predicted[row]) != label:
                continue  # only predictions the model gets right say anything about their evidence
            for n in ks:
                chosen = top_words(source, scores[row], n)
                if chosen is not None:
                    yield _variant(i, source, chosen, scores[row], n, target, steps)


def _attribute(
    checkpoint: LoadedCheckpoint, sources: list[SourceInput], labels: list[int], steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per token IG scores [B, T] of the gold logits and the predicted classes [B], for one padded batch."""
    model = checkpoint.model
    inputs = pad_rows([s.row for s in sources], checkpoint.tokenizer.pad_token_id or 0, checkpoint.device)
    with torch.inference_mode():
        predicted = model(**inputs).logits.argmax(-1).cpu()
    content = torch.zeros_like(inputs["input_ids"], dtype=torch.bool)
    for row, source in enumerate(sources):
        for word in source.words:
            content[row, word.first : word.stop] = True
    # Only the words of the text vary along the path; markers, special tokens, the auxiliary
    # sentence (ABSA) and padding stay as they are.
    ig = integrated_gradients(
        model,
        inputs,
        ~content,
        torch.tensor(labels, device=checkpoint.device),
        checkpoint.tokenizer.pad_token_id or 0,
        steps=steps,
    )
    return ig.scores.cpu(), predicted


def word_scores(source: SourceInput, scores: torch.Tensor) -> list[float]:
    """Each word's attribution: the sum over its pieces."""
    return [float(scores[w.first : w.stop].sum()) for w in source.words]


def top_words(source: SourceInput, scores: torch.Tensor, k: int) -> list[Word] | None:
    """The k removable words of highest positive attribution (text order), or None when fewer than k."""
    per_word = word_scores(source, scores)
    removable = [w for w in source.editable if not w.stopword and w.content and per_word[w.index] > 0]
    ranked = sorted(removable, key=lambda w: -per_word[w.index])
    if len(ranked) < k:
        return None
    return sorted(ranked[:k], key=lambda w: w.index)


def _variant(
    i: int, source: SourceInput, chosen: list[Word], scores: torch.Tensor, k: int, target: str, steps: int
) -> Variant:
    per_word = word_scores(source, scores)
    edits = removal_edits(source.spec.text, chosen)
    return make_variant(
        i,
        source.spec,
        q3_test(k),
        edits,
        label=target,
        removed=[w.text for w in chosen],
        attributions=[per_word[w.index] for w in chosen],
        original_label=source.spec.polarity,
        ig_steps=steps,
    )

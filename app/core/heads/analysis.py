"""The analysis job (issue 4, points 1, 2, 3 and 6): stream a labelled dataset through a checkpoint.

`analyze(checkpoint, data, pretrained=...)` turns every dataset example into model inputs
(`build_units`), runs them in batches on the checkpoint's device (pad_batch +
forward_with_attention), slices each example's unpadded attention [L, H, n, n], computes the
per-example statistics of app.core.heads.statistics and feeds the streaming accumulators; no
attention matrix outlives its batch. The same inputs go through the pretrained base model
(`load_pretrained_baseline`: the base model with the checkpoint's tokenizer and an untrained
classifier head) for the per-head pretrained baseline, and through the uniform and positional
baseline maps of baselines.py. Labels come from labels.py, the interpretability rate from
interpretability.py. The result is one JSON-serialisable dict (see `analyze`).

Which pairs are built (ABSA):

* term data (SemEval-2014 laptops/restaurants terms, MAMS-ATSA, user JSONL terms) with a term
  checkpoint, or with a category checkpoint when the data has no categories: one pair per
  (sentence, aspect term), the term given with its character span (the aspect query is the term
  in the auxiliary sentence, e.g. "what do you think of the soup of it ?" for QA-M);
* category data with a category checkpoint (QA-M, NLI-M, QA-B, NLI-B): one pair per
  (sentence, category) over the checkpoint's categories (else those the data names), label
  "none" when the sentence does not name it. The aspect-term span is the union of the terms the
  data links to that category (user JSONL `category` on a term); without a link, the first
  whole-word occurrence of the category name in the review (encode_absa's default), which is
  what "aspect present" means for the aspect statistics. QA-B / NLI-B pairs use the gold
  polarity's auxiliary sentence;
* ASTE triplet data: one pair per distinct aspect span, with the gold opinion spans of its
  triplets;
* the other aspects of a pair: the other terms of the same sentence (MAMS: two or more per
  sentence), or for category pairs the spans of the sentence's other annotated categories.

Opinion words: gold ASTE opinion spans where the data has them; otherwise the words of the
review found in the opinion lexicon (Hu & Liu) when one is given (the aspect term's own words
excluded); otherwise the aspect-sentiment statistics are absent. The no-op contrast needs pairs
whose aspect is absent (label none), which only category data has. `result["support"]` says,
per statistic, how many examples carried it and which data it came from.

RE: one input per relation example, entity markers around e1 and e2 (examples with an empty,
masked entity are skipped and counted).
"""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch

from app.core.attention import forward_with_attention
from app.core.checkpoint import CheckpointError, CheckpointInfo, LoadedCheckpoint, file_sha256, quiet_transformers
from app.core.datasets import AbsaSentence, Dataset, OpinionLexicon, RelationExample, TripletSentence, load_dataset
from app.core.datasets import load_opinion_lexicon
from app.core.errors import InputError
from app.core.heads.baselines import POSITIONAL_BASELINES, positional_attention, uniform_attention
from app.core.heads.interpretability import InterpretabilityAccumulator, interpretability_words
from app.core.heads.labels import DEFAULT_RULE, LabelRule, describe_rule, label_evidence, label_heads
from app.core.heads.batched import batch_masks, batch_statistics
from app.core.heads.statistics import absa_statistics, relation_statistics, token_sets
from app.core.heads.streaming import (JensenShannonAccumulator, NoOpContrast, StatisticAccumulator, TopExamples,
                                      classical_mds, row_js_divergence)
from app.core.inputs import B_FORMAT_POLARITIES, REVIEW_FIRST_FORMATS, EncodedInput, encode_absa, encode_relation
from app.core.inspection import pad_batch

CATEGORY_FORMATS = ("qa-m", "nli-m", "qa-b", "nli-b")
BASELINE_NAMES = ("uniform",) + POSITIONAL_BASELINES
NOOP = "noop_contrast"
FINETUNE = "finetune_js"  # the TopExamples name of the fine-tuned vs pretrained divergence
RESULT_VERSION = 2
PHASES = ("statistics", "importance", "done")

Runner = Callable[[Callable[[], Any]], Any]
Progress = Callable[[int, int, str], None]


class AnalysisError(ValueError):
    """The data does not fit the checkpoint (task, format) or holds nothing to analyse."""


# --- units: one model input with the spans its statistics need --------------------------------

@dataclass
class UnitSpec:
    """One pair before tokenisation (cheap: built for the whole file, encoded batch by batch)."""

    sentence_id: str
    text: str
    aspect: str | None = None  # ABSA: the aspect in the auxiliary sentence
    term_spans: tuple[tuple[int, int], ...] = ()  # character spans of the aspect in the review
    opinion_spans: tuple[tuple[int, int], ...] = ()  # gold opinions (ASTE)
    other_spans: tuple[tuple[int, int], ...] = ()  # other aspects of the same sentence
    polarity: str | None = None  # gold label ("none": aspect absent)
    present: bool | None = None  # for the no-op contrast: None when the data cannot say
    relation: RelationExample | None = None


@dataclass
class Unit:
    spec: UnitSpec
    encoded: EncodedInput
    opinion: list[int] = field(default_factory=list)
    opinion_source: str | None = None  # "gold" / "lexicon" / None
    other_aspects: list[int] = field(default_factory=list)


def _category_pairs(sentences: Sequence[AbsaSentence], categories: Sequence[str]) -> list[UnitSpec]:
    from app.core.inputs import find_word

    specs = []
    for s in sentences:
        polarities = s.category_polarities()
        linked = {}
        for t in s.terms:
            if t.category:
                linked.setdefault(t.category, []).append(t.offsets)

        def spans_of(category: str) -> tuple[tuple[int, int], ...]:
            if category in linked:
                return tuple(linked[category])
            found = find_word(s.text, category)
            return (found,) if found else ()

        for category in categories:
            others = tuple(span for c in polarities if c != category for span in spans_of(c))
            polarity = polarities.get(category, "none")
            specs.append(UnitSpec(s.id, s.text, category, spans_of(category), (), others, polarity,
                                  present=polarity != "none"))
    return specs


def _term_pairs(sentences: Sequence[AbsaSentence]) -> list[UnitSpec]:
    specs = []
    for s in sentences:
        for i, t in enumerate(s.terms):
            others = tuple(o.offsets for j, o in enumerate(s.terms) if j != i and o.offsets != t.offsets)
            specs.append(UnitSpec(s.id, s.text, s.text[t.start:t.end] or t.term, (t.offsets,), (), others, t.polarity))
    return specs


def _triplet_pairs(sentences: Sequence[TripletSentence]) -> list[UnitSpec]:
    names = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}
    specs = []
    for s in sentences:
        aspects: dict[tuple[int, int], list] = {}
        for triplet in s.triplets:
            aspects.setdefault(triplet.aspect.offsets, []).append(triplet)
        for offsets, triplets in aspects.items():
            others = tuple(o for o in aspects if o != offsets)
            polarity = names.get(triplets[0].polarity, triplets[0].polarity)
            specs.append(UnitSpec(s.id, s.text, s.text[offsets[0]:offsets[1]], (offsets,),
                                  tuple(t.opinion.offsets for t in triplets), others, polarity))
    return specs


PAIRINGS = ("auto", "terms", "categories")


def unit_specs(checkpoint: LoadedCheckpoint | CheckpointInfo, examples: Sequence[Any], source: str = "data",
               pairs: str = "auto") -> tuple[list[UnitSpec], str]:
    """The pairs to analyse and how they were built ("terms", "categories", "triplets", "relations").

    pairs: "auto" (category pairs for a category checkpoint on data with categories, else term
    pairs), or force "terms" / "categories" for ABSA sentences that carry both (SemEval-2014
    restaurants). Needs only the checkpoint's info (a CheckpointInfo will do: no weights loaded).
    """
    if pairs not in PAIRINGS:
        raise AnalysisError(f"pairs {pairs!r}: accepted {', '.join(PAIRINGS)}")
    info = getattr(checkpoint, "info", checkpoint)
    if not examples:
        raise AnalysisError(f"{source}: no examples")
    if info.task == "re":
        if not all(isinstance(e, RelationExample) for e in examples):
            raise AnalysisError(f"{source}: {info.id} is a relation-extraction checkpoint; give relation data")
        return [UnitSpec(e.id, e.text, relation=e, polarity=e.relation) for e in examples], "relations"
    if all(isinstance(e, TripletSentence) for e in examples):
        return _triplet_pairs(examples), "triplets"
    if not all(isinstance(e, AbsaSentence) for e in examples):
        kind = type(next(e for e in examples if not isinstance(e, AbsaSentence))).__name__
        raise AnalysisError(f"{source}: {info.id} is an ABSA checkpoint; {kind} data is not supported by the analysis "
                            "(give SemEval-2014/MAMS XML, ASTE triplets or headscope JSONL)")
    has_categories = any(s.categories for s in examples)
    has_terms = any(s.terms for s in examples)
    if pairs == "categories" and info.format not in CATEGORY_FORMATS:
        raise AnalysisError(f"{info.id} is a {info.format} checkpoint: category pairs need qa-m, nli-m, qa-b or nli-b")
    if pairs == "categories" and not has_categories:
        raise AnalysisError(f"{source}: no aspect categories in the data")
    if info.format in CATEGORY_FORMATS and has_categories and pairs != "terms":
        categories = info.metadata.get("categories") or list(dict.fromkeys(c.category for s in examples for c in s.categories))
        return _category_pairs(examples, categories), "categories"
    if has_terms:
        return _term_pairs(examples), "terms"
    raise AnalysisError(f"{source}: no aspect terms in the data for the {info.format} checkpoint {info.id}")


_WORD = re.compile(r"[A-Za-z][A-Za-z'+-]*")


def _lexicon_spans(text: str, lexicon: OpinionLexicon) -> list[tuple[int, int]]:
    words = lexicon.positive | lexicon.negative
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if m.group().lower() in words]


def encode_unit(checkpoint: LoadedCheckpoint, spec: UnitSpec, lexicon: OpinionLexicon | None = None,
                max_length: int | None = None) -> Unit | None:
    """Tokenise one pair and map its character spans to token indices; None when it cannot be encoded."""
    info = checkpoint.info
    max_length = max_length or info.max_length
    if info.task == "re":
        e = spec.relation
        try:
            encoded = encode_relation(checkpoint.tokenizer, e.text, max_length, e.e1.offsets, e.e2.offsets,
                                      info.entity_markers)
        except InputError:
            return None
        return Unit(spec, encoded)
    review = spec.text.strip()
    shift = len(spec.text) - len(spec.text.lstrip())
    polarity = None
    if info.format in ("qa-b", "nli-b"):
        polarity = spec.polarity if spec.polarity in B_FORMAT_POLARITIES else B_FORMAT_POLARITIES[0]
    try:
        encoded = encode_absa(checkpoint.tokenizer, review, spec.aspect, info.format, max_length, polarity)
    except InputError:
        return None
    segment = "a" if info.format in REVIEW_FIRST_FORMATS else "b"

    def tokens(spans: Iterable[tuple[int, int]], exclude: Sequence[int] = ()) -> list[int]:
        found = {i for start, end in spans for i in encoded.char_span_to_tokens(segment, start - shift, end - shift)}
        return sorted(found - set(exclude))

    if spec.term_spans:
        encoded.spans["aspect_term"] = tokens(spec.term_spans)
    term = encoded.spans.get("aspect_term", [])
    unit = Unit(spec, encoded, other_aspects=tokens(spec.other_spans, term))
    if spec.opinion_spans:
        unit.opinion, unit.opinion_source = tokens(spec.opinion_spans), "gold"
    elif lexicon is not None:
        unit.opinion, unit.opinion_source = tokens(_lexicon_spans(spec.text, lexicon), term), "lexicon"
    return unit


# --- the pretrained baseline model -------------------------------------------------------------

def pretrained_location(checkpoint: LoadedCheckpoint | CheckpointInfo) -> str:
    """The base model the checkpoint was fine-tuned from: the training record's base path, else the embedded MiniLM."""
    from app.core.embedded import embedded_base_model

    info = getattr(checkpoint, "info", checkpoint)
    base = (info.metadata.get("training") or {}).get("base_path")
    if base and Path(base).is_dir():
        return str(base)
    return embedded_base_model()


def load_pretrained_baseline(checkpoint: LoadedCheckpoint, location: str | None = None, seed: int = 0) -> LoadedCheckpoint:
    """The pretrained (not fine-tuned) base model as a sequence classifier, with the checkpoint's tokenizer.

    Its classifier head is untrained (seeded, so runs repeat); the token embeddings are resized
    to the checkpoint's tokenizer when it added tokens (RE entity markers; the new rows get the
    mean embedding, transformers' default). Eager attention, on the checkpoint's device.
    """
    from transformers import AutoModelForSequenceClassification

    quiet_transformers()
    location = location or pretrained_location(checkpoint)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                location, attn_implementation="eager", use_safetensors=True, num_labels=len(checkpoint.info.labels))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"cannot load the pretrained base model from {location}: {exc}") from exc
        vocabulary = len(checkpoint.tokenizer)
        if vocabulary > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(vocabulary)
    model.eval()
    if next(checkpoint.model.parameters()).dtype == torch.float16:
        model.half()
    model.to(checkpoint.device)
    info = checkpoint.info
    return LoadedCheckpoint(info=info, model=model, tokenizer=checkpoint.tokenizer, device=checkpoint.device)


# --- streaming helpers ------------------------------------------------------------------------

class MeanAccumulator:
    """Running NaN-skipping means per name (each value a tensor of a fixed shape per name)."""

    def __init__(self) -> None:
        self.total: dict[str, torch.Tensor] = {}
        self.count: dict[str, torch.Tensor] = {}

    def add(self, name: str, value: torch.Tensor) -> None:
        value = value.detach().float().cpu()
        ok = ~torch.isnan(value)
        if not ok.any():
            return
        if name not in self.total:
            self.total[name] = torch.zeros_like(value, dtype=torch.float64)
            self.count[name] = torch.zeros_like(value, dtype=torch.float64)
        self.total[name] += torch.where(ok, value, torch.zeros_like(value)).double()
        self.count[name] += ok.double()

    def add_batch(self, name: str, values: torch.Tensor) -> None:
        """Add a batch [B, ...] of values at once (NaN entries skipped, as `add`)."""
        values = values.detach().float().cpu()
        ok = ~torch.isnan(values)
        if not ok.any():
            return
        if name not in self.total:
            self.total[name] = torch.zeros(values.shape[1:], dtype=torch.float64)
            self.count[name] = torch.zeros(values.shape[1:], dtype=torch.float64)
        self.total[name] += torch.where(ok, values, torch.zeros_like(values)).double().sum(0)
        self.count[name] += ok.double().sum(0)

    def mean(self, name: str) -> torch.Tensor | None:
        if name not in self.total:
            return None
        return (self.total[name] / self.count[name]).float()  # 0/0 -> NaN


def _example_statistics(task: str, attention: torch.Tensor, unit: Unit) -> dict[str, torch.Tensor]:
    if task == "re":
        return relation_statistics(attention, unit.encoded)
    return absa_statistics(attention, unit.encoded, unit.opinion, unit.other_aspects)


def _baseline_maps(encoded: EncodedInput) -> torch.Tensor:
    """[1, 1 + P, n, n]: the uniform map then the positional rules (BASELINE_NAMES order)."""
    sets = token_sets(encoded)
    n = len(encoded.input_ids)
    return torch.cat([uniform_attention(n), positional_attention(n, sets["cls"], sets["sep"])], dim=1)


def _batch_baseline_maps(units: Sequence[Unit], length: int, device: torch.device) -> torch.Tensor:
    """[B, 1, 1 + P, T, T]: each unit's baseline maps (`_baseline_maps`), zero-padded to `length`."""
    maps = torch.zeros(len(units), 1, 1 + len(POSITIONAL_BASELINES), length, length)
    for row, unit in enumerate(units):
        n = len(unit.encoded.input_ids)
        maps[row, :, :, :n, :n] = _baseline_maps(unit.encoded)
    return maps.to(device)


def _run_here(work: Callable[[], Any]) -> Any:
    return work()


def example_record(spec: UnitSpec) -> dict[str, Any]:
    """What the summary page shows of an analysed pair, and the live-inspection input that reproduces it.

    `inspect` holds {text, aspect} as the /inspect page takes them (RE: the text with <e1>/<e2> tags).
    """
    if spec.relation is not None:
        e = spec.relation
        marks = sorted([(e.e1.start, "<e1>"), (e.e1.end, "</e1>"), (e.e2.start, "<e2>"), (e.e2.end, "</e2>")],
                       key=lambda m: (m[0], m[1].startswith("</") is False))
        text = e.text
        for offset, tag in reversed(marks):
            text = text[:offset] + tag + text[offset:]
        return {"id": spec.sentence_id, "text": text, "aspect": None, "label": spec.polarity,
                "inspect": {"text": text, "aspect": None}}
    return {"id": spec.sentence_id, "text": spec.text, "aspect": spec.aspect, "label": spec.polarity,
            "inspect": {"text": spec.text, "aspect": spec.aspect}}


def _batches(items: Sequence[UnitSpec], size: int) -> Iterator[Sequence[UnitSpec]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _typical(typical: TopExamples, name: str, layer: int, head: int) -> list[list[float]]:
    return [[index, _json_number(score)] for index, score in typical.head(name, layer, head)]


def _json_number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, start: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - start
        return now


# --- the job ---------------------------------------------------------------------------------

def analyze(checkpoint: LoadedCheckpoint, dataset_path: str | Path | Dataset, *, pretrained: LoadedCheckpoint | None,
            limit: int | None = None, batch_size: int = 16, bootstrap: int = 1000, seed: int = 0,
            progress: bool | Progress = True, data_format: str | None = None,
            lexicon: str | Path | OpinionLexicon | None = None, js_sample: int = 64, pairs: str = "auto",
            rule: LabelRule = DEFAULT_RULE, importance: bool = False, ablation_draws: int = 5,
            importance_limit: int | None = None, typical_k: int = 3, runner: Runner | None = None,
            ablate_labels: Sequence[str] = ()) -> dict[str, Any]:
    """Analyse every head of `checkpoint` on a labelled data file; returns the result dict (JSON-ready).

    dataset_path: a data file, or an already loaded `Dataset` (e.g. the demo data, whose own
    layout load_dataset does not read); its file is hashed for `data.sha256`.
    progress: True for a tqdm bar on stderr, False for none, or a callback(done, total, phase)
    (web jobs): called after every batch of the statistics pass with phase "statistics" (done /
    total pairs), then once with "importance" before head importance and ablation when they run,
    and once with "done".
    runner: runs each unit of model work (a callable without arguments; one per batch of the
    statistics pass, one per batch of importance and ablation) and returns its result; default:
    call it here. The web job passes one that runs it on the app's model thread, so inspections
    interleave between batches instead of competing for the CPU.
    typical_k: per statistic and head, how many highest-scoring examples to keep ("typical", as
    [example index, score] pairs; the examples themselves are in result["examples"]).
    pretrained: the pretrained baseline model (`load_pretrained_baseline`), or None to leave the
    pretrained baseline (and the pretrained interpretability rate) out.
    lexicon: an opinion-lexicon folder (or a loaded OpinionLexicon) for the aspect-sentiment
    statistics of data without gold opinions. js_sample: how many examples (the first ones) feed
    the heads x heads Jensen-Shannon map (0: no map). pairs: see `unit_specs`.

    Keys: model, data {path, sha256, format, examples, skipped, pairs}, settings, support,
    statistics (the names present), heads [{layer, head, labels, evidence, statistics
    {name: {score, ci, n, baselines {uniform, positional, positional_rule, pretrained}}}}],
    labelled (label -> heads), interpretability {rate, random, pretrained, best_head, ...},
    head_map (Jensen-Shannon distances and 2-D MDS coordinates), importance and ablation (issue 4
    point 4, see `importance_and_ablation`; None with the reason in not_computed unless
    importance=True and the pairs carry gold labels the model predicts), pairs_per_s, timings_s, rule;
    finetune_change (point 5: {js [L][H], examples, definition}; None without a pretrained model)
    with each head's own {js, ci, n, typical} under heads[i].finetune_change; each statistic's
    `typical` ([example index, score], best first) with the examples in `examples`
    {index: {id, text, aspect, label, inspect {text, aspect}}}; computed_at and run_id (a fresh
    uuid per computation: a cached copy keeps its run_id).

    The statistics pass (timed as "statistics_pass", the `pairs_per_s` figure) is encoding,
    padding, the forward pass and every statistic on the whole padded batch (batched.py: a few
    tensor passes, no Python loop over examples or heads); the pretrained pass, the fine-tune
    divergence, the baselines, the heads x heads map and importance are timed on their own.

    importance: also compute head importance (Michel et al. 2019) and the ablation of the heads
    labelled "aspect" ("entity" for RE) against ablation_draws random draws; ablate_labels: further
    labels whose heads are ablated the same way, each under result["ablations"][label]; importance_limit:
    use only the first N analysed pairs for it (None: all). Timed separately ("importance").
    """
    started = time.perf_counter()
    info = checkpoint.info
    if isinstance(dataset_path, Dataset):
        dataset, path = dataset_path, Path(dataset_path.path)
    else:
        path = Path(dataset_path)
        dataset = load_dataset(path, data_format)
    lexicon_name = None if lexicon is None else str(lexicon) if isinstance(lexicon, (str, Path)) else "given"
    if isinstance(lexicon, (str, Path)):
        lexicon = load_opinion_lexicon(lexicon)
    specs, pairing = unit_specs(checkpoint, list(dataset.examples), str(path), pairs)
    if limit is not None:
        specs = specs[:limit]
    if not specs:
        raise AnalysisError(f"{path}: no pairs to analyse")
    max_length = int((info.metadata.get("training") or {}).get("args", {}).get("max_length") or info.max_length)
    spans = ("e1", "e2") if info.task == "re" else ("aspect_term",)

    stats = StatisticAccumulator()
    noop = NoOpContrast()
    base_means, pre_means = MeanAccumulator(), MeanAccumulator()
    base_noop = {True: MeanAccumulator(), False: MeanAccumulator()}
    pre_noop = {True: MeanAccumulator(), False: MeanAccumulator()}
    interpret = InterpretabilityAccumulator()
    interpret_pre = InterpretabilityAccumulator()
    js = JensenShannonAccumulator()
    change = StatisticAccumulator()  # fine-tuned vs pretrained, per example [L, H]
    typical = TopExamples(typical_k)
    opinion_sources: dict[str, int] = {}
    skipped = 0
    done = 0
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs), unit="pair", desc=f"analyze {info.id}", leave=False)
    report = progress if callable(progress) else None
    timer = _Timer()
    pad_id = checkpoint.tokenizer.pad_token_id
    run = runner or _run_here
    task = info.task

    def batch_work(start: int, chunk: Sequence[UnitSpec]) -> int:
        """Everything the batch needs from the models (runs on `runner`); returns how many were skipped."""
        with torch.inference_mode():
            tick = time.perf_counter()
            encoded = [(start + i, encode_unit(checkpoint, s, lexicon, max_length)) for i, s in enumerate(chunk)]
            kept = [(i, u) for i, u in encoded if u is not None]
            if not kept:
                return len(chunk)
            indices = [i for i, _ in kept]
            units = [u for _, u in kept]
            batch = pad_batch([u.encoded for u in units], pad_id, checkpoint.device)
            _, attention = forward_with_attention(checkpoint.model, batch)
            length = attention.shape[-1]
            masks = batch_masks(task, units, length, attention.device)
            scores = batch_statistics(task, attention, masks)
            stats.add_all(scores)
            typical.add_all(scores, indices)
            present = [u.spec.present for u in units]
            known = [row for row, p in enumerate(present) if p is not None] if task == "absa" else []
            if known:
                noop.add(scores["query_sep_mass"][known], torch.tensor([present[r] for r in known]))
            for unit in units:
                if unit.opinion_source and unit.opinion:
                    opinion_sources[unit.opinion_source] = opinion_sources.get(unit.opinion_source, 0) + 1
            words = [interpretability_words(u.encoded, spans) for u in units]
            interpret.add_batch(attention, *zip(*words))
            tick = timer.add("statistics_pass", tick)
            if js_sample and js.count < js_sample:
                for row, unit in enumerate(units[:js_sample - js.count]):
                    n = len(unit.encoded.input_ids)
                    js.add(attention[row, :, :, :n, :n].float())
                tick = timer.add("head_map", tick)
            maps = _batch_baseline_maps(units, length, attention.device)
            base_scores = batch_statistics(task, maps, masks)
            for name, value in base_scores.items():
                base_means.add_batch(name, value[:, 0])
            for flag in (True, False):
                rows = [r for r in known if present[r] is flag]
                if rows:
                    base_noop[flag].add_batch("sep", base_scores["query_sep_mass"][rows, 0])
            tick = timer.add("baselines", tick)
            if pretrained is not None:
                _, pre_attention = forward_with_attention(pretrained.model, batch)
                pre_scores = batch_statistics(task, pre_attention, masks)
                for name, value in pre_scores.items():
                    pre_means.add_batch(name, value)
                for flag in (True, False):
                    rows = [r for r in known if present[r] is flag]
                    if rows:
                        pre_noop[flag].add_batch("sep", pre_scores["query_sep_mass"][rows])
                interpret_pre.add_batch(pre_attention, *zip(*words))
                tick = timer.add("pretrained_pass", tick)
                divergence = row_js_divergence(attention, pre_attention, masks["valid"])
                change.add("js", divergence)
                typical.add(FINETUNE, divergence, indices)
                timer.add("finetune_js", tick)
            return len(chunk) - len(units)

    for start in range(0, len(specs), batch_size):
        chunk = specs[start:start + batch_size]
        skipped += run(lambda start=start, chunk=chunk: batch_work(start, chunk))
        done += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
        elif report is not None:
            report(done, len(specs), "statistics")
    if bar is not None:
        bar.close()

    tick = time.perf_counter()
    layers, heads = info.num_layers, info.num_heads
    summaries = {name: stats.summary(name, bootstrap, seed) for name in stats.names}
    if noop.counts[0] and noop.counts[1]:
        summaries[NOOP] = noop.summary(bootstrap, seed)
    timer.add("bootstrap", tick)

    baselines: dict[str, dict[str, Any]] = {}
    for name in summaries:
        if name == NOOP:
            rules = base_noop[False].mean("sep") - base_noop[True].mean("sep")
            pre = (pre_noop[False].mean("sep") - pre_noop[True].mean("sep")) if pre_noop[True].mean("sep") is not None \
                and pre_noop[False].mean("sep") is not None else None
        else:
            rules, pre = base_means.mean(name), pre_means.mean(name)
        entry: dict[str, Any] = {"uniform": float(rules[0]), "positional": rules[1:]}
        if pre is not None:
            entry["pretrained"] = pre
        baselines[name] = entry
    change_summary = change.summary("js", bootstrap, seed) if change.count("js") else None
    finetune_change = None
    if change_summary is not None:
        finetune_change = {
            "js": [[_json_number(x) for x in row] for row in change_summary.mean.tolist()],
            "examples": change_summary.count,
            "pretrained": pretrained_location(checkpoint),
            "definition": "per head, the mean over examples of the mean over the example's real (non-padding) "
                          "query tokens of the Jensen-Shannon divergence (base 2, in [0, 1]) between the "
                          "fine-tuned and the pretrained model's attention rows on the same input; 95% "
                          "bootstrap CI over examples in each head entry's finetune_change",
        }
    # Statistics with too few examples are reported but label nothing (labels.MIN_EXAMPLES).
    lows = {name: s.low for name, s in summaries.items() if s.count >= rule.min_examples}
    labels = label_heads(lows, baselines, rule) if lows else {}
    evidence = label_evidence(lows, baselines, rule)

    head_rows = []
    for layer in range(layers):
        for head in range(heads):
            per_stat = {}
            for name, s in summaries.items():
                b = baselines[name]
                positional = b["positional"]
                finite = torch.nan_to_num(positional, nan=float("-inf"))
                best_rule = int(finite.argmax())
                per_stat[name] = {
                    "score": _json_number(s.mean[layer, head]),
                    "ci": [_json_number(s.low[layer, head]), _json_number(s.high[layer, head])],
                    "n": s.count,
                    "baselines": {
                        "uniform": _json_number(b["uniform"]),
                        "positional": _json_number(positional[best_rule]),
                        "positional_rule": POSITIONAL_BASELINES[best_rule],
                        "pretrained": _json_number(b["pretrained"][layer, head]) if "pretrained" in b else None,
                    },
                    "typical": _typical(typical, "query_sep_mass" if name == NOOP else name, layer, head),
                }
            row = {"layer": layer, "head": head, "labels": labels.get((layer, head), []),
                   "evidence": evidence.get((layer, head), {}), "statistics": per_stat}
            if change_summary is not None:
                row["finetune_change"] = {"js": _json_number(change_summary.mean[layer, head]),
                                          "ci": [_json_number(change_summary.low[layer, head]),
                                                 _json_number(change_summary.high[layer, head])],
                                          "n": change_summary.count,
                                          "typical": _typical(typical, FINETUNE, layer, head)}
            head_rows.append(row)
    labelled: dict[str, list[list[int]]] = {}
    for row in head_rows:
        for label in row["labels"]:
            labelled.setdefault(label, []).append([row["layer"], row["head"]])

    interpretability = interpret.to_json()
    interpretability = {
        "rate": _json_number(interpretability["rate"]),
        "random": _json_number(interpretability["random"]),
        "pretrained": _json_number(interpret_pre.rate) if pretrained is not None else None,
        "best_head": {**interpretability["best_head"], "rate": _json_number(interpretability["best_head"]["rate"])},
        "pretrained_best_head": ({**interpret_pre.to_json()["best_head"],
                                  "rate": _json_number(interpret_pre.best_head()[1])}
                                 if pretrained is not None and interpret_pre.count else None),
        "examples": interpretability["examples"], "k": interpretability["k"],
        "gold": "e1 + e2 words" if info.task == "re" else "aspect-term words",
        "definition": "share of examples whose gold words lie in the top-3 words of the last layer's [CLS] "
                      "attention summed over heads (word level, [CLS]/[SEP] excluded); Stevens & Su 2020",
    }

    tick = time.perf_counter()
    head_map = None
    if js.count:
        matrix = js.matrix()
        coords = classical_mds(matrix.numpy())
        head_map = {"examples": js.count, "index": "layer * num_heads + head",
                    "js_distance": [[round(float(x), 5) for x in row] for row in matrix.tolist()],
                    "mds": [[round(float(x), 5) for x in row] for row in coords.tolist()]}
    timer.add("head_map", tick)

    importance_result, ablation_result, ablations = None, None, {}
    not_computed = {"importance": "not requested (importance=False / --no-importance)",
                    "ablation": "not requested (importance=False / --no-importance)"}
    if importance:
        if report is not None:
            report(done, len(specs), "importance")
        tick = time.perf_counter()
        importance_specs = specs if importance_limit is None else specs[:importance_limit]
        importance_result, ablations, not_computed = importance_and_ablation(
            checkpoint, importance_specs, labelled, lexicon=None, max_length=max_length, batch_size=batch_size,
            draws=ablation_draws, seed=seed, runner=run, ablate_labels=ablate_labels)
        ablation_result = ablations.get(ABLATION_LABEL[info.task])
        timer.add("importance", tick)

    analysed = len(specs) - skipped
    pass_s = timer.seconds.get("statistics_pass", 0.0)
    referenced = sorted({i for name in typical.index for i in typical.index[name].flatten().tolist()}
                        & set(range(len(specs))))
    if report is not None:
        report(done, len(specs), "done")
    return {
        "version": RESULT_VERSION,
        "model": {"id": info.id, "task": info.task, "format": info.format, "labels": list(info.labels),
                  "num_layers": layers, "num_heads": heads, "base_model": info.base_model,
                  "device": str(checkpoint.device)},
        "data": {"path": str(path), "sha256": file_sha256(path) if path.is_file() else None,
                 "format": dataset.format, "examples": len(dataset.examples), "pairs": analysed,
                 "skipped": skipped, "pairing": pairing},
        "settings": {"limit": limit, "batch_size": batch_size, "bootstrap": bootstrap, "seed": seed,
                     "max_length": max_length, "js_sample": js_sample,
                     "pretrained": None if pretrained is None else pretrained_location(checkpoint),
                     "lexicon": lexicon_name, "pairs": pairs,
                     "phrase_k": 3, "confidence": 0.95, "typical_k": typical_k,
                     "importance": importance, "ablation_draws": ablation_draws,
                     "importance_limit": importance_limit},
        "support": _support(info.task, pairing, summaries, opinion_sources, noop, lexicon is not None),
        "statistics": sorted(summaries),
        "heads": head_rows,
        "labelled": labelled,
        "interpretability": interpretability,
        "head_map": head_map,
        "finetune_change": finetune_change,
        "examples": {str(i): example_record(specs[i]) for i in referenced},
        "importance": importance_result,
        "ablation": ablation_result,
        "ablations": ablations,  # label -> ablation, the task's own label and any ablate_labels
        "not_computed": not_computed,
        "pairs_per_s": _json_number(analysed / pass_s) if pass_s > 0 else None,
        "timings_s": {**{k: round(v, 3) for k, v in timer.seconds.items()},
                      "total": round(time.perf_counter() - started, 3)},
        "computed_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "run_id": uuid.uuid4().hex,
        "rule": describe_rule(rule),
    }


# --- head importance and ablation (issue 4, point 4) --------------------------------------------

ABLATION_LABEL = {"absa": "aspect", "re": "entity"}


def gold_label(checkpoint: LoadedCheckpoint, spec: UnitSpec) -> int | None:
    """The gold class index of a pair, built like its input (None: the model has no such class).

    Category pairs: the polarity or "none"; term / triplet pairs: the polarity; RE: the relation
    label. QA-B / NLI-B: "yes" when the pair's auxiliary sentence names the gold polarity (the
    input uses it, see encode_unit), else "no".
    """
    info = checkpoint.info
    label = spec.polarity
    if info.task == "absa" and info.format in ("qa-b", "nli-b"):
        label = "yes" if spec.polarity in B_FORMAT_POLARITIES else "no"
    if label is None or label not in info.labels:
        return None
    return info.labels.index(label)


def importance_batches(checkpoint: LoadedCheckpoint, specs: Sequence[UnitSpec], max_length: int, batch_size: int,
                       lexicon: OpinionLexicon | None = None) -> tuple[list[dict[str, torch.Tensor]], list[torch.Tensor], int]:
    """Model inputs and gold label indices of every pair with a label the model predicts; and how many were skipped."""
    batches, labels, skipped = [], [], 0
    pad_id = checkpoint.tokenizer.pad_token_id
    for chunk in _batches(specs, batch_size):
        units, gold = [], []
        for spec in chunk:
            index = gold_label(checkpoint, spec)
            unit = encode_unit(checkpoint, spec, lexicon, max_length) if index is not None else None
            if unit is None:
                skipped += 1
                continue
            units.append(unit)
            gold.append(index)
        if units:
            batches.append(pad_batch([u.encoded for u in units], pad_id, checkpoint.device))
            labels.append(torch.tensor(gold, dtype=torch.long))
    return batches, labels, skipped


def importance_and_ablation(checkpoint: LoadedCheckpoint, specs: Sequence[UnitSpec], labelled: dict[str, list[list[int]]],
                            *, lexicon: OpinionLexicon | None = None, max_length: int | None = None,
                            batch_size: int = 16, draws: int = 5, seed: int = 0, runner: Runner | None = None,
                            ablate_labels: Sequence[str] = ()) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]], dict[str, str]]:
    """(importance, {label: ablation}, not_computed reasons) for the result dict.

    The task's own ablation label ("aspect", RE "entity") is always ablated; `ablate_labels` adds others
    (e.g. "aspect-sentiment"), each masked against `draws` random sets of as many other heads.
    """
    from app.core.heads.importance import ablate, head_importance

    info = checkpoint.info
    max_length = max_length or info.max_length
    reasons: dict[str, str] = {}
    batches, labels, skipped = importance_batches(checkpoint, specs, max_length, batch_size, lexicon)
    examples = sum(len(g) for g in labels)
    if not examples:
        reason = f"no pair carries a gold label among the model's labels {list(info.labels)}"
        return None, {}, {"importance": reason, "ablation": reason}
    scores = head_importance(checkpoint, batches, labels, runner=runner)
    importance = {"scores": [[round(float(x), 6) for x in row] for row in scores.tolist()],
                  "normalised": "per layer L2", "examples": examples, "skipped": skipped,
                  "definition": "mean over examples of |d cross-entropy(gold) / d head gate| at gate 1 "
                                "(Michel et al. 2019), each layer's row divided by its L2 norm"}
    ablations: dict[str, dict[str, Any]] = {}
    for label in dict.fromkeys([ABLATION_LABEL[info.task], *ablate_labels]):
        heads = labelled.get(label, [])
        key = "ablation" if label == ABLATION_LABEL[info.task] else f"ablation:{label}"
        if not heads:
            reasons[key] = f"no head carries the label {label!r}"
            continue
        if len(heads) >= info.num_layers * info.num_heads:
            reasons[key] = f"every head carries the label {label!r}: no other heads to draw at random"
            continue
        ablation = ablate(checkpoint, batches, labels, [tuple(h) for h in heads], random_draws=draws,
                          seed=seed, runner=runner)
        ablation["label"] = label
        ablation["skipped"] = skipped
        for name in ("accuracy", "masked", "drop", "random_drop"):
            ablation[name] = _json_number(ablation[name]) if ablation[name] is not None else None
        ablation["random"]["mean"] = _json_number(ablation["random"]["mean"]) if ablation["random"]["mean"] is not None else None
        ablation["random"]["draws"] = [_json_number(x) for x in ablation["random"]["draws"]]
        ablations[label] = ablation
    return importance, ablations, reasons


def _support(task: str, pairing: str, summaries: dict, opinion_sources: dict[str, int], noop: NoOpContrast,
             has_lexicon: bool) -> dict[str, Any]:
    """Per statistic family: how many examples carried it and which data the score rests on."""
    def count(name: str) -> int:
        return summaries[name].count if name in summaries else 0

    if task == "re":
        return {"entity": {"examples": count("entity_mass"), "source": "gold e1/e2 spans"},
                "cls-entity": {"examples": count("cls_entity_mass"), "source": "gold e1/e2 spans"},
                "generic": {"examples": count("entropy"), "source": "every input"}}
    aspect_source = {
        "terms": "gold aspect-term spans",
        "triplets": "gold ASTE aspect spans",
        "categories": "terms the data links to the category, else the category name found as a word in the review",
    }[pairing]
    if opinion_sources.get("gold"):
        opinion = "gold ASTE opinion spans"
    elif opinion_sources.get("lexicon"):
        opinion = "opinion-lexicon words of the review (no gold opinions in this data)"
    else:
        opinion = ("absent: no gold opinions and no lexicon word in the reviews" if has_lexicon
                   else "absent: no gold opinions in this data and no --lexicon given")
    absent, present = noop.counts
    return {
        "aspect": {"examples": count("aspect_mass"), "source": aspect_source},
        "aspect-sentiment": {"examples": count("opinion_mass"), "source": opinion},
        "opposite-aspect": {"examples": count("other_aspect_mass"),
                            "source": "other aspects of the same sentence" if count("other_aspect_mass")
                            else "absent: no sentence with a second located aspect"},
        "no-op": {"examples": absent + present, "absent": absent, "present": present,
                  "source": "category pairs labelled none (absent) against the others" if absent and present
                  else "absent: needs category data with pairs whose aspect is absent (label none) and present"},
        "phrase": {"examples": count("phrase_context_mass"),
                   "source": "aspect term + up to 3 words each side, stopping at punctuation (statistics.phrase_window)"},
        "generic": {"examples": count("entropy"), "source": "every input"},
    }


STATISTIC_RANGES = {"entropy": (0.0, None), NOOP: (-1.0, 1.0)}  # None: ln(sequence length); others [0, 1]


def statistic_range(name: str) -> tuple[float, float | None]:
    return STATISTIC_RANGES.get(name, (0.0, 1.0))

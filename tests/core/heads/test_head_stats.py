"""Head statistics core: known answers on hand-built attention, plus real attention."""

import math

import numpy as np
import pytest
import torch

from app.core.heads.baselines import POSITIONAL_BASELINES, baseline_scores, positional_attention, uniform_attention
from app.core.heads.interpretability import (
    InterpretabilityAccumulator,
    interpretability_words,
    lies_within,
    random_rate,
    top_words,
)
from app.core.heads.labels import DEFAULT_RULE, beats_baselines, best_baseline, label_heads
from app.core.heads.statistics import (
    absa_statistics,
    entropy,
    generic_statistics,
    mass,
    phrase_window,
    relation_statistics,
    sep_mass,
    token_sets,
    top1_accuracy,
)
from app.core.inputs.encoding import Token
from app.core.passes.inspection import InspectionInput, inspect
from app.core.stats.bootstrap import bootstrap_ci
from app.core.stats.streaming import (
    JensenShannonAccumulator,
    NoOpContrast,
    StatisticAccumulator,
    classical_mds,
    head_js_distances,
)


def rows_to(keys, length):
    """A [T] distribution spread evenly over `keys`."""
    row = torch.zeros(length)
    row[list(keys)] = 1 / len(keys)
    return row


def uniform(layers, heads, length):
    return torch.full((layers, heads, length, length), 1 / length)


# Layout used below (T = 10): 0 [CLS], 1-3 review tokens, 4-5 aspect term, 6 ".", 7 [SEP], 8 aspect query, 9 [SEP]
T = 10
CLS, SEP, TERM, QUERY, REVIEW = [0], [7, 9], [4, 5], [8], [1, 2, 3, 4, 5, 6]


def test_head_on_the_aspect_span_scores_one():
    attention = uniform(2, 3, T)
    attention[1, 2, QUERY[0]] = rows_to(TERM, T)  # layer 1, head 2: the query looks only at the term
    m = mass(attention, QUERY, TERM)
    top = top1_accuracy(attention, QUERY, TERM, allowed=REVIEW)
    assert m.shape == top.shape == (2, 3)
    assert m[1, 2] == pytest.approx(1.0) and top[1, 2] == pytest.approx(1.0)
    others = torch.ones(2, 3, dtype=torch.bool)
    others[1, 2] = False
    assert torch.allclose(m[others], torch.full((5,), len(TERM) / T))


def test_uniform_attention_gives_the_uniform_value():
    attention = uniform_attention(T, layers=2, heads=2)
    assert torch.allclose(mass(attention, QUERY, TERM), torch.full((2, 2), len(TERM) / T))
    assert torch.allclose(sep_mass(attention, SEP), torch.full((2, 2), len(SEP) / T))
    assert torch.allclose(entropy(attention), torch.full((2, 2), math.log(T)))
    # Uniform over only the valid (non-padding) keys: |gold| / |keys|.
    valid = torch.arange(T) < 8
    padded = uniform_attention(T, valid=valid)
    assert mass(padded, [1, 2], TERM)[0, 0] == pytest.approx(len(TERM) / 8)
    # Empty query sets are NaN (skipped), not 0.
    assert torch.isnan(mass(attention, [], TERM)).all()


def test_top1_picks_argmax_among_allowed_keys_only():
    attention = torch.zeros(1, 1, T, T)
    attention[0, 0, :, :] = rows_to([9], T) * 0.6 + rows_to([4], T) * 0.4  # [SEP] is the real argmax
    assert top1_accuracy(attention, QUERY, TERM)[0, 0] == 0
    assert top1_accuracy(attention, QUERY, TERM, allowed=REVIEW)[0, 0] == 1


def test_batched_statistics_match_single_examples():
    torch.manual_seed(0)
    batch = torch.rand(3, 2, 2, T, T).softmax(-1)
    queries = torch.zeros(3, T, dtype=torch.bool)
    queries[0, 8], queries[1, [1, 2]], queries[2, 3] = True, True, True
    batched = mass(batch, queries, TERM)
    for i in range(3):
        assert torch.allclose(batched[i], mass(batch[i], queries[i].nonzero().flatten().tolist(), TERM))


def test_batched_top1_and_generic_with_padding():
    torch.manual_seed(1)
    batch = torch.rand(2, 1, 2, T, T).softmax(-1)
    valid = torch.ones(2, T, dtype=torch.bool)
    valid[1, 8:] = False
    batch[1, ..., 8:] = 0
    batch[1] = batch[1] / batch[1].sum(-1, keepdim=True)
    gold = torch.zeros(2, T, dtype=torch.bool)
    gold[0, TERM], gold[1, [2]] = True, True
    queries = torch.zeros(2, T, dtype=torch.bool)
    queries[:, 8] = True
    queries[1, 8], queries[1, 1] = False, True
    top = top1_accuracy(batch, queries, gold)
    stats = generic_statistics(batch, CLS, SEP, [6], valid=valid)
    for i in range(2):
        assert torch.equal(top[i], top1_accuracy(batch[i], queries[i], gold[i]))
        n = int(valid[i].sum())
        single = generic_statistics(batch[i, ..., :n, :n], CLS, [s for s in SEP if s < n], [6])
        for name in ("to_self", "to_prev", "to_next", "entropy", "to_cls"):
            assert torch.allclose(stats[name][i], single[name], atol=1e-6), name


@pytest.mark.parametrize("shape", [(3, 2, 4, T, T), (40, 1, 3, 41, 41), (1, 2, 1, 300, 300)])
def test_map_profiles_equal_the_diagonals_and_entropy_of_the_whole_batch(shape):
    """Chunked on the CPU (several maps a chunk, a chunk ending inside a head's maps, one map bigger than a chunk),
    the entropies and diagonals equal those of the whole batch at once."""
    from app.core.heads.batched import map_profiles

    attention = torch.rand(shape, generator=torch.Generator().manual_seed(2)).softmax(-1)
    attention[..., 0, :] = 0  # a zero row: 0 ln 0 = 0
    attention[..., 1, 0] = 0
    entropy, to_self, to_prev, to_next = map_profiles(attention)
    assert torch.equal(entropy, -(attention * attention.clamp_min(1e-30).log()).sum(-1))
    assert torch.equal(entropy[..., 0], torch.zeros(shape[:-2]))
    for found, offset in ((to_self, 0), (to_prev, -1), (to_next, 1)):
        assert torch.equal(found, attention.diagonal(offset, -2, -1))
    empty = map_profiles(attention[:0])
    assert [tuple(t.shape) for t in empty] == [(0, *shape[1:3], n) for n in (shape[-1],) * 2 + (shape[-1] - 1,) * 2]


def test_generic_statistics_known_answers():
    identity = torch.eye(T).expand(1, 2, T, T)
    stats = generic_statistics(identity, CLS, SEP, [6])
    assert stats["to_self"][0, 0] == 1 and stats["entropy"][0, 0] == 0
    assert stats["to_prev"][0, 0] == 0 and stats["to_cls"][0, 0] == pytest.approx(1 / T)
    maps = positional_attention(T, CLS, SEP)
    stats = generic_statistics(maps, CLS, SEP, [6])
    names = list(POSITIONAL_BASELINES)
    assert stats["to_prev"][0, names.index("prev")] == pytest.approx(1)
    assert stats["to_next"][0, names.index("next")] == pytest.approx(1)
    assert stats["to_cls"][0, names.index("cls")] == pytest.approx(1)
    assert stats["to_sep"][0, names.index("sep")] == pytest.approx(1)
    assert torch.allclose(maps.sum(-1), torch.ones(1, len(names), T))


def test_phrase_window_stops_at_punctuation_and_segments():
    words = ["[CLS]", "the", "grilled", "salmon", "was", "great", ",", "but", "[SEP]", "salmon", "[SEP]"]
    tokens = []
    for i, w in enumerate(words):
        special = w.startswith("[")
        tokens.append(Token(w, 0, 0, "a" if i <= 8 else "b", special, False, i))
    assert phrase_window(tokens, [3], k=1) == [2, 3, 4]
    assert phrase_window(tokens, [3], k=3) == [1, 2, 3, 4, 5]  # "," stops it on the right, [CLS] on the left
    assert phrase_window(tokens, [9], k=3) == [9]  # alone in its segment
    assert phrase_window(tokens, [], k=3) == []


def noop_examples(n, seed=0):
    """Head 0 puts its mass on [SEP] only when the aspect is absent; head 1 always does."""
    generator = torch.Generator().manual_seed(seed)
    contrast, baseline = NoOpContrast(), NoOpContrast()
    for i in range(n):
        present = i % 2 == 0
        attention = uniform(1, 2, T).clone()
        noise = 0.05 * torch.rand(2, generator=generator)
        head0 = rows_to(TERM, T) if present else rows_to(SEP, T)
        attention[0, 0, QUERY[0]] = (1 - noise[0]) * head0 + noise[0] / T
        attention[0, 1, QUERY[0]] = (1 - noise[1]) * rows_to(SEP, T) + noise[1] / T
        contrast.add(sep_mass(attention, SEP, QUERY), present)
        baseline.add(sep_mass(uniform_attention(T), SEP, QUERY), present)
    return contrast, baseline


def test_noop_contrast_and_label():
    contrast, uniform_contrast = noop_examples(40)
    summary = contrast.summary(iterations=300, seed=1)
    assert contrast.counts == (20, 20)
    assert summary.mean[0, 0] > 0.8 and abs(float(summary.mean[0, 1])) < 0.05
    assert summary.low[0, 0] <= summary.mean[0, 0] <= summary.high[0, 0]
    baselines = {"noop_contrast": {"uniform": float(uniform_contrast.contrast()[0, 0])}}
    labels = label_heads({"noop_contrast": summary.low}, baselines)
    assert labels == {(0, 0): ["no-op"], (0, 1): []}


def test_labelling_rule_margin_pretrained_and_several_labels():
    low = torch.tensor([[0.16, 0.14], [0.60, 0.60]])
    baselines = {"uniform": 0.10, "positional": torch.tensor([0.02, 0.05])}
    assert best_baseline(baselines, (2, 2)).eq(0.10).all()
    # threshold = 0.10 + max(0.05, 0.025) = 0.15
    assert beats_baselines(low, baselines).tolist() == [[True, False], [True, True]]
    with_pretrained = dict(baselines, pretrained=torch.tensor([[0.0, 0.0], [0.5, 0.1]]))
    # head (1, 0): the pretrained head already scores 0.5 -> needs > 0.625
    assert beats_baselines(low, with_pretrained).tolist() == [[True, False], [False, True]]
    assert not beats_baselines(torch.full((2, 2), float("nan")), baselines).any()
    labels = label_heads(
        {"aspect_mass": low, "phrase_context_mass": low}, {"aspect_mass": baselines, "phrase_context_mass": baselines}
    )
    assert labels[(1, 1)] == ["aspect", "phrase"] and labels[(0, 1)] == []
    assert DEFAULT_RULE.absolute_margin == 0.05


def test_bootstrap_ci_contains_the_mean_and_narrows():
    generator = torch.Generator().manual_seed(0)
    small = torch.rand(30, 2, 3, generator=generator)
    large = torch.rand(3000, 2, 3, generator=generator)
    for values in (small, large):
        low, high = bootstrap_ci(values, iterations=500, seed=0)
        mean = values.mean(0)
        assert low.shape == (2, 3) and (low <= mean).all() and (mean <= high).all()
    width_small = (lambda b: b[1] - b[0])(bootstrap_ci(small, 500, 0))
    width_large = (lambda b: b[1] - b[0])(bootstrap_ci(large, 500, 0))
    assert (width_large < width_small / 3).all()
    assert torch.equal(bootstrap_ci(small, 200, seed=7)[0], bootstrap_ci(small, 200, seed=7)[0])
    # about 0.5 +- 1.96 * sqrt(1/12 / 3000)
    assert width_large.mean() == pytest.approx(2 * 1.96 * math.sqrt(1 / 12 / 3000), rel=0.15)


def test_statistic_accumulator_streams_and_skips_nan():
    acc = StatisticAccumulator()
    acc.add("aspect_mass", torch.ones(2, 3))
    acc.add("aspect_mass", torch.full((2, 3), float("nan")))  # no gold term: skipped
    acc.add("aspect_mass", torch.zeros(4, 2, 3))  # a batch
    assert acc.count("aspect_mass") == 5 and acc.values("aspect_mass").shape == (5, 2, 3)
    assert torch.allclose(acc.mean("aspect_mass"), torch.full((2, 3), 0.2))
    summary = acc.summary("aspect_mass", iterations=200)
    assert summary.count == 5 and (summary.low <= summary.mean).all()


def test_statistics_added_together_equal_each_added_alone():
    torch.manual_seed(0)
    scores = {name: torch.rand(5, 2, 3) for name in ("aspect_mass", "sep", "opinion_mass")}
    scores["opinion_mass"][[1, 3]] = float("nan")  # pairs without opinion words: skipped for that statistic only
    scores["sep"][:] = float("nan")  # a statistic no pair of the batch has: no rows at all
    together, alone = StatisticAccumulator(), StatisticAccumulator()
    for _ in range(2):
        together.add_all(scores, prefix="x_")
        for name, value in scores.items():
            alone.add("x_" + name, value)
    assert together.names == alone.names == ["x_aspect_mass", "x_opinion_mass"]
    for name in alone.names:
        assert torch.equal(together.values(name), alone.values(name))
    assert together.count("x_opinion_mass") == 6


def test_js_distance_zero_on_itself_and_symmetric():
    torch.manual_seed(0)
    attention = torch.rand(2, 3, 6, 6).softmax(-1)
    attention[1, 2] = attention[0, 0]  # a duplicate head
    acc = JensenShannonAccumulator()
    acc.add(attention)
    acc.add(torch.rand(2, 3, 6, 6).softmax(-1))
    d = acc.matrix()
    assert d.shape == (6, 6)
    assert torch.allclose(d.diagonal(), torch.zeros(6), atol=1e-6)
    assert torch.allclose(d, d.T, atol=1e-6)
    assert ((d >= 0) & (d <= 1)).all()
    single = head_js_distances(attention)
    assert single[0, 5] == pytest.approx(0, abs=1e-7)
    # Two one-hot heads on different keys are at the maximal distance 1.
    disjoint = torch.zeros(1, 2, 2, 2)
    disjoint[0, 0, :, 0] = 1
    disjoint[0, 1, :, 1] = 1
    assert head_js_distances(disjoint)[0, 1] == pytest.approx(1)


@pytest.mark.parametrize("chunk_elements", [None, 200, 216 * 4, 1 << 24])  # a head a chunk, 4 (the last 2), all
def test_head_js_distances_equal_scipy_in_any_chunks(chunk_elements):
    """Every pair of heads (some rows with zeros) against scipy's jensenshannon (base 2) of each query row, averaged
    over the valid rows; the same with the heads in chunks of any size."""
    from scipy.spatial.distance import jensenshannon

    attention = torch.rand(2, 3, 7, 7, generator=torch.Generator().manual_seed(4)).softmax(-1)
    attention[0, 1, :, 2:] = 0  # rows with zeros: 0 log 0 = 0
    attention[..., 6] = 0  # a padded key (its query row is left out by `valid`)
    attention /= attention.sum(-1, keepdim=True)
    valid = torch.tensor([True] * 6 + [False])
    found = head_js_distances(attention, valid, chunk_elements=chunk_elements)
    heads = attention[:, :, :6, :6].reshape(6, 6, 6).double().numpy()
    for a in range(6):
        for b in range(6):
            expected = np.mean([jensenshannon(heads[a, q], heads[b, q], base=2) for q in range(6)])
            assert found[a, b].item() == pytest.approx(expected, abs=2e-6), (a, b)


def test_js_of_half_precision_rows_with_zeros():
    """0 log 0 = 0 in half precision too (its smallest normal number inside the log, where 1e-30 would be 0)."""
    from app.core.stats.streaming import js_divergence_rows

    p = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    q = torch.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    expected = js_divergence_rows(p, q)
    assert expected.tolist() == pytest.approx([0.5, 0.0])
    assert torch.allclose(js_divergence_rows(p.half(), q.half()).float(), expected, atol=1e-3)


def test_mds_recovers_the_order_of_points_on_a_line():
    points = np.array([0.0, 1.0, 3.0, 3.5, 7.0])
    distances = np.abs(points[:, None] - points[None, :])
    coords = classical_mds(distances, dims=2)
    assert coords.shape == (5, 2)
    order = np.argsort(coords[:, 0])
    assert list(order) in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0])
    assert np.allclose(np.abs(coords[:, 1]), 0, atol=1e-6)
    recovered = np.abs(coords[:, None, 0] - coords[None, :, 0])
    assert np.allclose(recovered, distances, atol=1e-6)


def test_interpretability_rate_hand_made_case():
    # Tokens: [CLS] the pasta ##s were cold [SEP] -> words 0..5; pasta##s is word 2.
    word_ids = [0, 1, 2, 2, 3, 4, 5]
    excluded = [0, 5]

    def example(cls_row_per_head):
        attention = torch.zeros(1, 2, 7, 7)
        attention[0, :, 0] = torch.tensor(cls_row_per_head)
        return attention

    acc = InterpretabilityAccumulator(k=3)
    # Head 0 puts its [CLS] attention on the term's pieces, head 1 on [SEP]/[CLS]: the sum still ranks the term in
    # the top 3.
    hit = example([[0.0, 0.1, 0.2, 0.2, 0.1, 0.0, 0.4], [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]])
    assert acc.add(hit, word_ids, [2], excluded) is True
    # The term gets the least attention of all words in both heads: miss.
    miss = example([[0.0, 0.5, 0.0, 0.0, 0.3, 0.2, 0.0], [0.0, 0.3, 0.0, 0.0, 0.3, 0.4, 0.0]])
    assert acc.add(miss, word_ids, [2], excluded) is False
    assert acc.add(miss, word_ids, [], excluded) is None  # no gold span: skipped
    assert acc.rate == 0.5 and acc.count == 2
    # Per head: head 0 hits once; head 1 (all mass on excluded words) picks words by tie order: word 1, 2, 3 -> hits
    # too.
    rates = acc.head_rates()
    assert rates[0] == 0.5
    assert acc.best_head()[1] == pytest.approx(float(rates.max()))
    # 3 words drawn among 4 candidates: a one-word gold span is picked with probability 3/4.
    assert acc.random == pytest.approx(0.75)
    assert acc.to_json()["best_head"]["layer"] == 0


def test_lies_within_and_random_rate():
    top = torch.tensor([4, 7, 1])
    assert bool(lies_within(top, [7])) and bool(lies_within(top, [1, 4]))
    assert not bool(lies_within(top, [7, 9]))  # every gold word must be in the top 3
    assert bool(lies_within(top, [1, 4, 7, 9, 11]))  # a longer span: the top 3 all gold
    assert random_rate(10, 1) == pytest.approx(0.3)
    assert random_rate(10, 2) == pytest.approx(3 / 45)
    assert random_rate(2, 1) == 1.0
    assert top_words(torch.tensor([9.0, 1.0, 5.0, 3.0]), torch.tensor([True, False, False, False]), 2).tolist() == [
        2,
        3,
    ]


def test_statistics_on_real_attention(absa):
    result = inspect(absa, InspectionInput("The grilled salmon was great, but the waiter was rude.", "salmon"))
    attention, encoded = result.attention, result.encoded
    assert encoded.spans["aspect_term"] and encoded.spans["aspect_query"]
    other = encoded.char_span_to_tokens("a", *[(m, m + 6) for m in [encoded.segments["a"].find("waiter")]][0])
    opinion = encoded.char_span_to_tokens(
        "a", encoded.segments["a"].find("great"), encoded.segments["a"].find("great") + 5
    )
    stats = absa_statistics(attention, encoded, opinion=opinion, other_aspects=other)
    layers, heads = attention.shape[:2]
    for name, value in stats.items():
        assert value.shape == (layers, heads), name
        assert torch.isfinite(value).all(), name
        if name == "entropy":
            assert ((value >= 0) & (value <= math.log(attention.shape[-1]) + 1e-5)).all()
        else:
            assert ((value >= -1e-6) & (value <= 1 + 1e-6)).all(), name
    sets = token_sets(encoded)
    # Baselines on the same example run through the same functions.
    scores = baseline_scores(
        lambda maps: mass(maps, sets["aspect_query"], sets["aspect_term"]),
        attention.shape[-1],
        sets["cls"],
        sets["sep"],
    )
    assert scores["uniform"] == pytest.approx(len(sets["aspect_term"]) / attention.shape[-1])
    acc = InterpretabilityAccumulator()
    acc.add(attention, *interpretability_words(encoded, ["aspect_term"]))
    assert acc.count == 1 and 0 <= acc.random <= 1 and acc.head_rates().shape == (heads,)
    js = JensenShannonAccumulator()
    js.add(attention)
    assert js.matrix().shape == (layers * heads, layers * heads)
    assert classical_mds(js.matrix()).shape == (layers * heads, 2)


def test_relation_statistics_on_real_attention(relation):
    result = inspect(relation, InspectionInput("The <e1>fire</e1> was caused by a <e2>cigarette</e2> ."))
    stats = relation_statistics(result.attention, result.encoded)
    for name, value in stats.items():
        assert torch.isfinite(value).all(), name
        if name != "entropy":
            assert ((value >= -1e-6) & (value <= 1 + 1e-6)).all(), name


# --- batched statistics, fine-tune change, typical examples ----------


def test_row_js_divergence_known_values():
    from app.core.stats.streaming import row_js_divergence

    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])  # two query rows
    same = row_js_divergence(p[None, None], p[None, None])
    assert same.shape == (1, 1) and same[0, 0] == pytest.approx(0.0, abs=1e-7)
    disjoint = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    # row 0: disjoint supports -> 1 bit; row 1: identical -> 0; mean over the two rows 0.5
    assert row_js_divergence(p[None, None], disjoint[None, None])[0, 0] == pytest.approx(0.5, abs=1e-6)
    half = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    # JSD([1, 0], [.5, .5]) = H([.75, .25]) - (0 + 1) / 2 = 0.811278 - 0.5
    expected = (-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)) - 0.5) / 2
    assert row_js_divergence(p[None, None], half[None, None])[0, 0] == pytest.approx(expected, abs=1e-6)
    # Padding: only valid rows count, padded keys hold 0 in both models.
    padded_a = torch.zeros(1, 1, 1, 3, 3)
    padded_b = torch.zeros(1, 1, 1, 3, 3)
    padded_a[0, 0, 0, :2, :2], padded_b[0, 0, 0, :2, :2] = p, disjoint
    padded_a[0, 0, 0, 2] = torch.tensor([0.0, 0.0, 1.0])  # garbage in a padding row: ignored
    valid = torch.tensor([[True, True, False]])
    assert row_js_divergence(padded_a, padded_b, valid)[0, 0, 0] == pytest.approx(0.5, abs=1e-6)


def test_top_examples_keep_the_highest_scores_per_head():
    from app.core.stats.streaming import TopExamples

    top = TopExamples(k=2)
    top.add("s", torch.tensor([[[0.1, 0.9]], [[0.5, float("nan")]]]), [0, 1])  # [B=2, L=1, H=2]
    top.add("s", torch.tensor([[[0.7, 0.2]], [[0.3, 0.8]]]), [2, 3])
    assert top.head("s", 0, 0) == [(2, pytest.approx(0.7)), (1, pytest.approx(0.5))]
    assert top.head("s", 0, 1) == [(0, pytest.approx(0.9)), (3, pytest.approx(0.8))]
    assert top.values["s"].shape == (2, 1, 2)  # bounded whatever the number of batches
    lone = TopExamples(k=3)
    lone.add("s", torch.tensor([[[float("nan")]], [[0.4]]]), [5, 6])
    assert lone.head("s", 0, 0) == [(6, pytest.approx(0.4))]  # NaN examples never enter


@pytest.mark.parametrize("model_id, dataset", [("demo-absa-qa-m", "demo-absa"), ("demo-re", "demo-re")])
def test_batched_statistics_equal_the_single_example_ones(registry, model_id, dataset):
    from app.core.data.demo import demo_dataset
    from app.core.heads.batched import batch_masks, batch_statistics
    from app.core.heads.statistics import absa_statistics, relation_statistics
    from app.core.inputs.batching import pad_batch
    from app.core.inputs.units import encode_unit, unit_specs
    from app.core.model.attention import forward_with_attention

    loaded = registry.get(model_id)
    task = loaded.info.task
    specs, _ = unit_specs(loaded, list(demo_dataset(dataset).examples))
    units = [encode_unit(loaded, s) for s in specs[:10]]
    if task == "absa":  # give some pairs opinions, so the opinion statistics are finite somewhere
        for unit in units[::2]:
            unit.opinion = unit.encoded.spans["aspect_query"][:1] or [1]
    with torch.inference_mode():
        batch = pad_batch([u.encoded for u in units], loaded.tokenizer.pad_token_id, loaded.device)
        _, attention = forward_with_attention(loaded.model, batch)
        batched = batch_statistics(task, attention, batch_masks(task, units, attention.shape[-1]))
        lengths = {len(u.encoded.input_ids) for u in units}
        assert len(lengths) > 1  # really padded
        for row, unit in enumerate(units):
            n = len(unit.encoded.input_ids)
            example = attention[row, :, :, :n, :n]
            single = (
                relation_statistics(example, unit.encoded)
                if task == "re"
                else absa_statistics(example, unit.encoded, unit.opinion, unit.other_aspects)
            )
            assert set(single) == set(batched)
            for name, value in single.items():
                assert torch.equal(torch.isnan(value), torch.isnan(batched[name][row])), (name, row)
                assert torch.allclose(value.nan_to_num(), batched[name][row].nan_to_num(), atol=1e-5), (name, row)


def test_interpretability_batch_equals_one_by_one(absa):
    from app.core.data.demo import demo_dataset
    from app.core.inputs.batching import pad_batch
    from app.core.inputs.units import encode_unit, unit_specs
    from app.core.model.attention import forward_with_attention

    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    units = [encode_unit(absa, s) for s in specs[:12]]
    with torch.inference_mode():
        batch = pad_batch([u.encoded for u in units], absa.tokenizer.pad_token_id, absa.device)
        _, attention = forward_with_attention(absa.model, batch)
    single, batched = InterpretabilityAccumulator(), InterpretabilityAccumulator()
    words = [interpretability_words(u.encoded, ["aspect_term"]) for u in units]
    for row, (unit, w) in enumerate(zip(units, words)):
        n = len(unit.encoded.input_ids)
        single.add(attention[row, :, :, :n, :n], *w)
    batched.add_batch(attention, *zip(*words))
    assert single.count == batched.count == 12
    assert single.hits == batched.hits and torch.equal(single.head_hits, batched.head_hits)
    assert single.random == pytest.approx(batched.random)


@pytest.mark.parametrize(
    "fixture, data, pairs", [("tiny_absa", "demo-absa", {"pairs": "terms"}), ("tiny_relation", "demo-re", {})]
)
def test_batched_rule_maps_equal_each_example_alone(request, fixture, data, pairs):
    """The analysis builds the uniform and positional maps of a whole padded batch at once, on the device.
    Only the checkpoint's task and tokenizer matter here: the tiny checkpoints (nothing trained)."""
    from app.core.data.demo import demo_dataset
    from app.core.heads.baselines import batch_baseline_maps
    from app.core.heads.batched import batch_masks
    from app.core.heads.statistics import token_sets
    from app.core.inputs.units import encode_unit, unit_specs

    checkpoint = request.getfixturevalue(fixture)
    specs, _ = unit_specs(checkpoint, list(demo_dataset(data).examples), **pairs)
    units = [u for u in (encode_unit(checkpoint, s) for s in specs[:30]) if u is not None]
    length = max(len(u.encoded.input_ids) for u in units)
    assert min(len(u.encoded.input_ids) for u in units) < length  # padding is exercised
    masks = batch_masks(checkpoint.info.task, units, length)
    batched = batch_baseline_maps(masks["valid"], masks["cls"], masks["sep"])
    for row, unit in enumerate(units):
        n, sets = len(unit.encoded.input_ids), token_sets(unit.encoded)
        alone = torch.cat([uniform_attention(n), positional_attention(n, sets["cls"], sets["sep"])], dim=1)[0]
        assert torch.equal(batched[row, :, :n, :n], alone)
        assert not batched[row, :, n:].any() and not batched[row, :, :, n:].any()


@pytest.mark.parametrize(
    "fixture, data, pairs",
    [
        ("tiny_absa", "demo-absa", {"pairs": "terms"}),
        ("tiny_absa", "demo-absa", {"pairs": "categories"}),
        ("tiny_relation", "demo-re", {}),
    ],
)
def test_rule_statistics_equal_the_statistics_of_the_rule_maps(request, fixture, data, pairs):
    """The pass scores the uniform and positional baselines from the token masks alone (baselines.RuleMaps):
    every statistic equals the batched statistics of the maps themselves (to float rounding, NaN where they
    are NaN), and the rows the agreement ranks equal the maps' rows from the readout queries."""
    from app.core.data.demo import demo_dataset
    from app.core.heads.baselines import RuleMaps, batch_baseline_maps, rule_statistics
    from app.core.heads.batched import batch_masks, batch_statistics
    from app.core.inputs.units import encode_unit, unit_specs

    checkpoint = request.getfixturevalue(fixture)
    if pairs.get("pairs") == "categories":
        checkpoint.info.metadata["categories"] = ["food", "service", "price", "ambience"]
    specs, _ = unit_specs(checkpoint, list(demo_dataset(data).examples), **pairs)
    units = [u for u in (encode_unit(checkpoint, s) for s in specs[:40]) if u is not None]
    length = max(len(u.encoded.input_ids) for u in units)
    task = checkpoint.info.task
    masks = batch_masks(task, units, length)
    query = "e1" if task == "re" else "query"
    masks[query] = masks[query].clone()
    masks[query][0] = False  # a pair without query tokens: its masses and top-1 are 0 / 0
    maps = batch_baseline_maps(masks["valid"], masks["cls"], masks["sep"])
    expected = batch_statistics(task, maps[:, None], masks)
    found = rule_statistics(task, masks)
    top1 = "entity_top1" if task == "re" else "aspect_top1"
    assert found[top1][0].isnan().all() and not found[top1][1:].isnan().all()
    assert list(found) == list(expected)
    for name, value in expected.items():
        assert found[name].shape == value.shape, name
        assert torch.allclose(found[name], value, rtol=1e-6, atol=1e-7, equal_nan=True), name
    if task == "absa":  # pairs without opinions or other aspects: empty key sets are exercised
        assert any(value.isnan().any() for value in expected.values())
    weights = torch.zeros(maps.shape[0], length)
    weights[:, 0] = 0.5
    weights[:, 2] = 0.5  # two query tokens, as the entity-start markers of a relation
    rows = RuleMaps(masks["valid"], masks["cls"], masks["sep"]).query_rows(weights)
    assert torch.equal(rows, torch.einsum("brqk,bq->brk", maps, weights))

"""The head-analysis job end to end on small slices with the real demo checkpoints."""

import json
import math

import pytest
from analysis_support import run_analysis
from locations import FIXTURES_DIR  # tests/ is on sys.path (rootdir conftest)
from typer.testing import CliRunner

from app.cli import cli
from app.core.data.readers import load_dataset
from app.core.heads.sections import statistic_range
from app.core.inputs.units import AnalysisError, encode_unit, unit_specs
from app.core.model.pretrained import load_pretrained_baseline

FIXTURES = FIXTURES_DIR / "datasets"
RESTAURANTS, TRIPLETS, MAMS = FIXTURES / "restaurants.xml", FIXTURES / "toy_triplets.txt", FIXTURES / "mams_atsa.xml"
SEMEVAL2010, LEXICON = FIXTURES / "semeval2010_train.txt", FIXTURES / "lexicon"
FAST = {"bootstrap": 200, "js_sample": 4}


@pytest.fixture(scope="module")
def absa_pretrained(absa):
    return load_pretrained_baseline(absa)


@pytest.fixture(scope="module")
def categories_result(absa, absa_pretrained):
    return run_analysis(absa, RESTAURANTS, pretrained=absa_pretrained, limit=12, lexicon=LEXICON, **FAST)


@pytest.fixture(scope="module")
def triplets_result(absa, absa_pretrained):
    return run_analysis(absa, TRIPLETS, pretrained=absa_pretrained, limit=12, **FAST)


@pytest.fixture(scope="module")
def relation_result(relation):
    return run_analysis(relation, SEMEVAL2010, pretrained=load_pretrained_baseline(relation), limit=12, **FAST)


def check_result(result, loaded, statistics):
    json.dumps(result, allow_nan=False)  # strict JSON: NaN became null
    info = loaded.info
    assert result["model"]["id"] == info.id
    assert len(result["data"]["sha256"]) == 64 and result["data"]["pairs"] > 0
    assert result["importance"] is None and result["ablation"] is None
    assert result["pairs_per_s"] > 0
    assert result["rule"]["absolute_margin"] > 0
    assert set(statistics) <= set(result["statistics"])
    heads = result["heads"]
    assert [(h["layer"], h["head"]) for h in heads] == [
        (l, h) for l in range(info.num_layers) for h in range(info.num_heads)
    ]
    differs = False
    for head in heads:
        assert set(head["labels"]) == set(head["evidence"])
        for name, entry in head["statistics"].items():
            low, high = statistic_range(name)
            high = math.log(info.max_length) if high is None else high
            score, (lo, hi) = entry["score"], entry["ci"]
            assert low - 1e-5 <= score <= high + 1e-5, (name, score)
            assert lo - 1e-4 <= score <= hi + 1e-4, (name, lo, score, hi)
            baselines = entry["baselines"]
            assert set(baselines) == {"uniform", "positional", "positional_rule", "pretrained", "best"}
            present = [baselines[k] for k in ("uniform", "positional", "pretrained") if baselines[k] is not None]
            assert baselines["best"] == pytest.approx(max(present), abs=1e-6)
            if lo is not None:
                assert entry["margin"] == pytest.approx(lo - baselines["best"], abs=2e-6)
            if baselines["pretrained"] is not None and abs(baselines["pretrained"] - score) > 1e-3:
                differs = True
    assert differs, "the pretrained baseline equals the fine-tuned score for every head"
    for label, members in result["labelled"].items():
        for layer, head in members:
            assert label in heads[layer * info.num_heads + head]["labels"]
    rate = result["interpretability"]
    assert set(rate) >= {"rate", "random", "pretrained", "best_head"}


def test_category_pairs_give_the_noop_contrast_and_lexicon_opinions(absa, categories_result):
    result = categories_result
    check_result(result, absa, ["noop_contrast", "query_sep_mass", "opinion_mass", "entropy", "to_sep"])
    assert result["data"]["pairing"] == "categories" and result["data"]["pairs"] == 12
    support = result["support"]
    assert support["no-op"]["absent"] > 0 and support["no-op"]["present"] > 0
    assert "lexicon" in support["aspect-sentiment"]["source"]
    head_map = result["head_map"]
    size = absa.info.num_layers * absa.info.num_heads
    assert len(head_map["js_distance"]) == size and len(head_map["mds"]) == size and len(head_map["mds"][0]) == 2


def test_aste_pairs_carry_gold_opinions_and_interpretability(absa, triplets_result):
    result = triplets_result
    check_result(
        result, absa, ["aspect_mass", "aspect_top1", "opinion_mass", "phrase_context_mass", "other_aspect_mass"]
    )
    assert result["data"]["pairing"] == "triplets"
    assert result["support"]["aspect-sentiment"]["source"] == "gold ASTE opinion spans"
    assert "noop_contrast" not in result["statistics"] and result["support"]["no-op"]["examples"] == 0
    rate = result["interpretability"]
    assert 0 <= rate["rate"] <= 1 and 0 < rate["random"] < 1 and 0 <= rate["pretrained"] <= 1
    assert (
        0 <= rate["best_head"]["head"] < absa.info.num_heads and rate["best_head"]["layer"] == absa.info.num_layers - 1
    )


def test_relation_analysis(relation, relation_result):
    check_result(relation_result, relation, ["entity_mass", "entity_top1", "cls_entity_mass", "entropy"])
    assert relation_result["data"]["pairing"] == "relations"
    assert relation_result["support"]["entity"]["examples"] == relation_result["data"]["pairs"]


def test_mams_pairs_point_at_the_other_aspect(absa):
    specs, pairing = unit_specs(absa, list(load_dataset(MAMS).examples))
    assert pairing == "terms" and len(specs) == 4
    for spec in specs:
        unit = encode_unit(absa, spec)
        term, other = unit.encoded.spans["aspect_term"], unit.other_aspects
        assert term and other and not set(term) & set(other)
        assert " ".join(unit.encoded.tokens[i].text for i in term).replace(" ##", "") in spec.text.lower()
    sentences = list(load_dataset(RESTAURANTS).examples)  # terms and categories: category pairs unless asked
    assert unit_specs(absa, sentences)[1] == "categories"
    specs, pairing = unit_specs(absa, sentences, pairs="terms")
    assert pairing == "terms" and [s.aspect for s in specs] == ["soup", "staff", "Fish & chips"]


def test_wrong_task_is_refused(relation):
    with pytest.raises(AnalysisError, match="relation"):
        run_analysis(relation, RESTAURANTS, pretrained=None, **FAST)


def test_cli_analyze_writes_json(models_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    from app.config import get_settings

    get_settings.cache_clear()
    out = tmp_path / "result.json"
    try:
        result = CliRunner().invoke(
            cli,
            [
                "analyze",
                "--model",
                "demo-absa-qa-m",
                "--data",
                str(TRIPLETS),
                "--out",
                str(out),
                "--limit",
                "4",
                "--bootstrap",
                "100",
                "--js-sample",
                "0",
                "--no-progress",
                "--lexicon",
                str(LEXICON),
            ],
        )
        missing = CliRunner().invoke(cli, ["analyze", "--model", "no-such-model", "--data", str(TRIPLETS)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["data"]["pairs"] == 4 and written["head_map"] is None
    assert {"heads", "interpretability", "importance", "ablation", "pairs_per_s"} <= set(written)
    assert "interpretability rate" in result.output
    assert missing.exit_code != 0 and "no-such-model" in missing.output


def test_finetune_change_and_typical_examples(absa, categories_result):
    result = categories_result
    heads = result["heads"]
    change = [h["finetune_change"]["js"] for h in heads]
    assert all(0 <= c <= 1 for c in change) and max(change) > 1e-3  # fine-tuning moved some head
    for h in heads:
        entry = h["finetune_change"]
        assert entry["ci"][0] - 1e-6 <= entry["js"] <= entry["ci"][1] + 1e-6 and entry["n"] == result["data"]["pairs"]
    matrix = result["finetune_change"]["js"]
    assert len(matrix) == absa.info.num_layers and len(matrix[0]) == absa.info.num_heads
    assert matrix[2][5] == heads[2 * absa.info.num_heads + 5]["finetune_change"]["js"]
    # typical examples: at most k per head and statistic, best first, all resolvable
    k = result["settings"]["typical_k"]
    for h in heads:
        for name, entry in h["statistics"].items():
            scores = [s for _, s in entry["typical"]]
            assert len(scores) <= k and scores == sorted(scores, reverse=True), name
            for index, _ in entry["typical"]:
                example = result["examples"][str(index)]
                assert example["inspect"]["text"] and example["inspect"]["aspect"]
    top = heads[0]["statistics"]["to_cls"]["typical"]
    assert len(top) == k and top[0][1] >= heads[0]["statistics"]["to_cls"]["score"]


def test_pretrained_identical_to_the_model_changes_nothing(absa):
    """The fine-tune change of a model against itself is 0 for every head (same inputs, same attention)."""
    result = run_analysis(absa, TRIPLETS, pretrained=absa, limit=6, **FAST)
    assert all(abs(h["finetune_change"]["js"]) < 1e-6 for h in result["heads"])


def test_progress_callback_and_runner_see_every_batch(absa):
    calls, runs = [], []

    def runner(work):
        runs.append(1)
        return work()

    result = run_analysis(
        absa,
        RESTAURANTS,
        pretrained=None,
        limit=10,
        batch_size=4,
        bootstrap=50,
        js_sample=0,
        progress=lambda done, total, phase: calls.append((done, total, phase)),
        runner=runner,
        importance=True,
        ablation_draws=1,
    )
    assert calls[:3] == [(4, 10, "statistics"), (8, 10, "statistics"), (10, 10, "statistics")]
    assert [c[2] for c in calls[3:]] == ["importance", "done"]
    assert len(runs) >= 3 + 3  # three statistics batches, then importance and ablation batches
    assert result["finetune_change"] is None and "finetune_change" not in result["heads"][0]


def test_relation_typical_examples_carry_entity_tags(relation_result):
    examples = relation_result["examples"]
    assert examples
    for example in examples.values():
        text = example["inspect"]["text"]
        assert text.count("<e1>") == text.count("</e1>") == 1 and text.count("<e2>") == 1
        assert example["inspect"]["aspect"] is None


def test_cli_analyze_reads_the_bundled_demo_data(models_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HEADSCOPE_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("HEADSCOPE_DEVICE", "cpu")
    from app.config import get_settings

    get_settings.cache_clear()
    out = tmp_path / "demo.json"
    try:
        result = CliRunner().invoke(
            cli,
            [
                "analyze",
                "--model",
                "demo-re",
                "--data",
                "demo-re",
                "--out",
                str(out),
                "--limit",
                "4",
                "--bootstrap",
                "50",
                "--js-sample",
                "0",
                "--no-progress",
                "--no-importance",
                "--typical-k",
                "1",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["data"]["format"] == "demo-re" and written["data"]["pairs"] == 4
    assert all(len(s["typical"]) <= 1 for s in written["heads"][0]["statistics"].values())
    assert "fine-tune change" in result.output


def test_statistics_on_few_examples_label_nothing(relation, relation_result):
    """Below LabelRule.min_examples a statistic is reported but earns no label (4 examples can give CI [1, 1])."""
    from app.core.heads.labels import LABEL_STATISTICS, LabelRule

    assert relation_result["rule"]["min_examples"] == 20 and relation_result["data"]["pairs"] < 20
    assert all(not head["labels"] for head in relation_result["heads"]) and not any(
        relation_result["labelled"].values()
    )
    # the count is what held them back: heads above their best baseline are told so by name ...
    too_few = "fewer than the 20 a label needs"
    assert any(
        too_few in (s.get("no_label") or "") for head in relation_result["heads"] for s in head["statistics"].values()
    )
    # ... and with a rule that asks for one example, the same data is judged on its bounds alone (whether a
    # head clears them on 12 pairs is the model's business, not this rule's)
    permissive = run_analysis(
        relation,
        SEMEVAL2010,
        pretrained=load_pretrained_baseline(relation),
        limit=12,
        rule=LabelRule(min_examples=1),
        **FAST,
    )
    label_of = {stat: label for label, stats in LABEL_STATISTICS.items() for stat in stats}
    above = 0
    for head in permissive["heads"]:
        for name, entry in head["statistics"].items():
            best = entry["baselines"].get("best")
            if name not in label_of or entry["score"] is None or best is None or entry["score"] <= max(0.0, best):
                continue
            above += 1  # above its best baseline: the label, or why not, and never for want of examples
            reason = entry.get("no_label")
            assert reason is not None or label_of[name] in head["labels"], (head["layer"], head["head"], name)
            assert "fewer than" not in (reason or ""), reason
    assert above


def test_ablating_further_labels(absa, absa_pretrained):
    """--ablate adds the heads of other labels to the ablation, each against random heads."""
    from app.core.heads.labels import LabelRule

    result = run_analysis(
        absa,
        RESTAURANTS,
        pretrained=absa_pretrained,
        limit=12,
        lexicon=LEXICON,
        importance=True,
        ablation_draws=2,
        # the most permissive rule (a lower bound above the best baseline on 12 pairs): what is tested is the
        # ablation of every labelled head, not which heads clear a margin on so few pairs
        rule=LabelRule(min_examples=1, absolute_margin=0.0, relative_margin=0.0),
        ablate_labels=["aspect-sentiment", "entity"],
        **FAST,
    )
    sentiment_heads = result["labelled"].get("aspect-sentiment", [])
    assert sentiment_heads, "the permissive rule labels aspect-sentiment heads on this slice"
    ablation = result["ablations"]["aspect-sentiment"]
    assert ablation["label"] == "aspect-sentiment" and ablation["heads"] == sentiment_heads
    assert len(ablation["random"]["draws"]) == 2 and 0 <= ablation["masked"] <= 1
    assert result["ablation"] is result["ablations"].get("aspect") or result["ablation"] == result["ablations"].get(
        "aspect"
    )
    assert "no head carries the label 'entity'" in result["not_computed"]["ablation:entity"]
    with pytest.raises(ValueError, match="ablate_labels"):
        run_analysis(absa, RESTAURANTS, ablate_labels=["no-such"], **FAST)

"""The Python API on the tiny checkpoints: the same answers as POST /api/inspect (no second implementation),
the three ways of loading, bad input refused with its field, bertviz's inputs both ways, and the views'
documents self-contained (scripts inline, allowed by hash, nothing fetched)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re

import numpy as np
import pytest
from tiny_model import TINY_ABSA_ID, TINY_RE_ID  # tests/ is on sys.path (rootdir conftest)

import headscope

REVIEW = "The pasta was great but the waiter was rude."
RELATION = "The <e1>fire</e1> was caused by a <e2>cigarette</e2>."


@pytest.fixture(scope="module")
def absa(tiny_models_dir):
    return headscope.load(tiny_models_dir / TINY_ABSA_ID)


@pytest.fixture(scope="module")
def relation(tiny_models_dir):
    return headscope.load(TINY_RE_ID, models_dir=tiny_models_dir)


def test_an_inspection_is_the_servers_answer(absa, tiny_client):
    result = headscope.inspect(absa, REVIEW, aspect="service")
    served = tiny_client.post(
        "/api/inspect", json={"model": TINY_ABSA_ID, "text": REVIEW, "aspect": "service", "attention": "full"}
    ).json()
    assert result.tokens == [t["text"] for t in served["tokens"]]
    assert result.prediction == served["prediction"]["label"]
    assert result.probabilities == pytest.approx(served["prediction"]["probabilities"], abs=1e-6)
    assert result.attention.shape == (6, 12, len(result.tokens), len(result.tokens))
    np.testing.assert_allclose(result.attention, np.asarray(served["attention"]["values"]), atol=1e-5)
    assert result.spans == served["spans"]
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-4)  # rows are distributions


def test_a_relation_and_its_attribution(relation, tiny_client):
    result = headscope.inspect(relation, RELATION, attribution=["rollout"])
    served = tiny_client.post(
        "/api/inspect", json={"model": TINY_RE_ID, "text": RELATION, "attribution": ["rollout"]}
    ).json()
    assert result.task == "re" and result.spans["e1"] and result.spans["e2"]
    assert result.attribution is not None and set(result.attribution["methods"]) == {"rollout"}
    assert result.attribution["methods"] == served["attribution"]["methods"]


def served_intervention(client, intervene: dict) -> dict:
    """POST /api/inspect's `intervention` for the review's service aspect on the tiny ABSA checkpoint."""
    body = {"model": TINY_ABSA_ID, "text": REVIEW, "aspect": "service", "intervene": intervene}
    return client.post("/api/inspect", json=body).json()["intervention"]


def test_heads_switched_off_give_the_servers_before_and_after(absa, tiny_client):
    heads = [[5, 1], [4, 3]]
    result = headscope.inspect(absa, REVIEW, aspect="service", heads_off=heads, mode="scale", factor=0.0)
    served = served_intervention(tiny_client, {"heads": heads, "mode": "scale", "factor": 0.0})
    assert result.intervention is not None
    assert result.intervention["heads"] == served["heads"]
    assert result.intervention["before"]["probabilities"] == pytest.approx(served["before"]["probabilities"])
    assert result.intervention["after"]["probabilities"] == pytest.approx(served["after"]["probabilities"])
    plain = headscope.inspect(absa, REVIEW, aspect="service")
    assert not np.allclose(result.attention[5], plain.attention[5])  # the intervened run's own attention


def test_an_in_memory_model_answers_like_its_folder(absa):
    memory = headscope.load(absa.model, absa.tokenizer, task="absa", id="mine")
    assert memory.id == "mine" and memory.labels == absa.labels
    ours = headscope.inspect(memory, REVIEW, aspect="food")
    theirs = headscope.inspect(absa, REVIEW, aspect="food")
    assert ours.prediction == theirs.prediction
    np.testing.assert_allclose(ours.attention, theirs.attention, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: headscope.inspect(m, REVIEW), "aspect is required"),
        (lambda m: headscope.inspect(m, "   ", aspect="food"), "text is empty"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="food", heads_off=[(9, 0)]), "layer"),
        (lambda m: headscope.load(m.model, m.tokenizer, task="ner"), "task must be"),
        (lambda m: headscope.load(m.model, m.tokenizer, task="absa", labels=["a"]), "labels"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="food", heads_off=[5]), r"\(layer, head\) pairs"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="pasta", aspect_span=(14, 19)), "marks 'great'"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="service", aspect_span=(28, 34)).head_view(layer=-1), "layer"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="pasta", aspect_span=(8, 4)), "empty or reversed"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="food").head_view(layer=6), r"layer number 0\.\.5"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="food").head_view(heads=[20]), r"head numbers 0\.\.11"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="food").save_html("x.html", view="modle"), "view must be"),
        (lambda m: headscope.analyze(m, "demo-absa", limit=4), "unknown argument 'limit'; accepted: .*max_examples"),
        (lambda m: headscope.load("demo-re", device="tpu"), "device must be one of"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="food", mode="mean"), "apply to heads_off"),
        (lambda m: headscope.inspect(m, REVIEW, aspect="food", ig_steps=8), "apply to attribution"),
    ],
)
def test_bad_input_says_what_is_accepted(absa, call, message):
    with pytest.raises(ValueError, match=message):
        call(absa)


def test_an_unknown_id_names_the_known_ones(tiny_models_dir):
    with pytest.raises(KeyError, match=TINY_RE_ID):
        headscope.load("no-such-model", models_dir=tiny_models_dir)


def test_a_path_that_is_no_checkpoint_folder_says_so(tmp_path):
    from app.core.model.errors import CheckpointError

    with pytest.raises(CheckpointError, match="is not there"):
        headscope.load(tmp_path / "nope" / "checkpoint")
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(CheckpointError, match="is a file"):
        headscope.load(tmp_path / "weights.bin")


def test_an_in_memory_model_without_a_classification_head_is_refused(absa):
    with pytest.raises(TypeError, match="no classification head"):
        headscope.load(absa.loaded.model.bert, absa.loaded.tokenizer, task="absa")


def test_one_method_or_one_head_given_alone(absa):
    one = headscope.inspect(absa, REVIEW, aspect="service", attribution="rollout")
    assert set(one.attribution["methods"]) == {"rollout"}  # "rollout", not r, o, l, ...
    off = headscope.inspect(absa, REVIEW, aspect="service", heads_off=(0, 1))
    assert off.intervention["heads"] == [[0, 1]]
    label, probability = off.intervention["before"]["label"], off.intervention["before"]["probabilities"]
    assert f"p({label}) {probability[label]:.3f} -> " in off.summary()  # the change the label's probability made


def test_bertviz_inputs_both_ways(absa):
    result = headscope.inspect(absa, REVIEW, aspect="service")
    attention, tokens = result.to_bertviz()
    assert tokens == result.tokens and len(attention) == result.num_layers
    assert tuple(attention[2].shape) == (1, result.num_heads, len(tokens), len(tokens))
    np.testing.assert_array_equal(attention[2][0].numpy(), result.attention[2])
    view = headscope.from_bertviz(attention, tokens, sentence_b_start=tokens.index("[SEP]") + 1)
    compact = view.snapshot["attention"]
    decoded = np.frombuffer(base64.b64decode(compact["layers"]["2"]), dtype=np.uint8).reshape(compact["shape"][1:])
    np.testing.assert_allclose(decoded / 255, result.attention[2], atol=1 / 255 + 1e-6)
    assert {t["segment"] for t in view.snapshot["tokens"]} == {"a", "b"}
    with pytest.raises(ValueError, match="tokens were given"):
        headscope.from_bertviz(attention, tokens[:-1])


def test_bertviz_itself_reads_the_inputs(absa):
    bertviz = pytest.importorskip("bertviz", reason="bertviz is not installed (pip install 'headscope[bench]')")
    attention, tokens = headscope.inspect(absa, REVIEW, aspect="service").to_bertviz()
    shown = bertviz.head_view(attention, tokens, html_action="return")
    assert "attention" in shown.data and tokens[2] in shown.data


def _scripts_allowed(document: str) -> None:
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', document).group(1))
    assert "connect-src 'none'" in csp and "default-src 'none'" in csp
    scripts = re.findall(r"<script(?: type=\"module\")?>(.*?)</script>", document, re.S)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_views_are_self_contained(absa, tmp_path):
    result = headscope.inspect(absa, REVIEW, aspect="service")
    for view in (result.head_view(layer=3, heads=[0, 1]), result.model_view(heatmap=False)):
        document = view.html
        _scripts_allowed(document)
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", document)  # nothing loaded from anywhere
        assert "import " not in re.sub(r"//.*", "", document.split('<script type="module">')[1])[:200]
        framed = view._repr_html_()
        assert framed.startswith("<iframe") and 'sandbox="allow-scripts allow-downloads"' in framed
    saved = result.save_html(tmp_path / "view.html")
    assert saved.read_text(encoding="utf-8") == result.head_view().html
    # plotly.js (4.6 MB) is inlined for the model view's heatmap only
    assert len(result.model_view().html) > 4_000_000 > 1_000_000 > len(result.model_view(heatmap=False).html)


def _cli_json(cli_env, tiny_models_dir, tmp_path, args: list[str]) -> dict:
    from typer.testing import CliRunner

    from app.cli import cli

    cli_env(HEADSCOPE_MODELS_DIR=str(tiny_models_dir), HEADSCOPE_DEVICE="cpu")
    out = tmp_path / "cli.json"
    done = CliRunner().invoke(cli, [*args, "--no-progress", "--out", str(out)])
    assert done.exit_code == 0, done.output
    return json.loads(out.read_text())


CLOCK = ("timings_s", "computed_at", "run_id", "pairs_per_s", "inputs_per_s")


def _without_clock(result):
    """The result without what the clock decides (times, rates, ids), at any depth."""
    if isinstance(result, dict):
        return {k: _without_clock(v) for k, v in result.items() if k not in CLOCK}
    if isinstance(result, list):
        return [_without_clock(v) for v in result]
    return result


def test_an_analysis_is_what_the_command_line_writes(absa, cli_env, tiny_models_dir, tmp_path):
    settings = {"max_examples": 12, "batch_size": 4, "bootstrap": 20, "js_sample": 0}
    analysis = headscope.analyze(absa, "demo-absa", pretrained=False, importance=False, progress=False, **settings)
    written = _cli_json(
        cli_env,
        tiny_models_dir,
        tmp_path,
        ["analyze", "--model", TINY_ABSA_ID, "--data", "demo-absa", "--limit", "12", "--batch-size", "4"]
        + ["--bootstrap", "20", "--js-sample", "0", "--no-pretrained", "--no-importance"],
    )
    ours = _without_clock(json.loads(json.dumps(analysis.to_json())))
    assert ours == _without_clock(written)
    grid = analysis.scores()
    assert grid.shape == (6, 12) and np.isfinite(grid).all()
    shown = analysis._repr_html_()
    assert shown.count("class='headscope-heatmap'") >= 1 and "class='headscope-ranked'" in shown
    best = analysis.ranked(top=1)[0]
    assert f"<td>{best.layer}.{best.head}</td>" in shown  # the top row of the ranked table
    assert "interpretability rate" in analysis.summary()


def test_robustness_is_what_the_command_line_writes(relation, cli_env, tiny_models_dir, tmp_path):
    view = headscope.robustness(relation, "demo-re", tests=("q1-typo",), max_examples=8, bootstrap=20, progress=False)
    written = _cli_json(
        cli_env,
        tiny_models_dir,
        tmp_path,
        ["robustness", "--model", TINY_RE_ID, "--data", "demo-re", "--tests", "q1-typo", "--limit", "8"]
        + ["--bootstrap", "20"],
    )
    assert _without_clock(json.loads(json.dumps(view.to_json()))) == _without_clock(written)
    assert "q1-typo" in view.summary() and "q1-typo" in view._repr_html_()


def test_a_report_is_what_the_command_line_writes(relation, cli_env, tiny_models_dir, tmp_path):
    view = headscope.report([relation], max_examples=12, attacks=(), interpretability=False, progress=False)
    written = _cli_json(
        cli_env,
        tiny_models_dir,
        tmp_path,
        ["report", "--model", TINY_RE_ID, "--limit", "12", "--attacks", "", "--no-interpretability"],
    )
    ours = _without_clock(json.loads(json.dumps(view.to_json())))
    assert ours == _without_clock(written)
    assert "Model report" in view.summary() and TINY_RE_ID in view._repr_html_()


def test_a_knockout_map_is_the_servers_answer(absa, tiny_client):
    found = headscope.knockout(absa, REVIEW, aspect="service")
    served = tiny_client.post(
        "/api/inspect/knockout", json={"model": TINY_ABSA_ID, "text": REVIEW, "aspect": "service"}
    ).json()
    assert found.label == served["label"] and found.ranking == served["ranking"]
    np.testing.assert_allclose(found.effects, np.asarray(served["heads"]["effect"]))
    np.testing.assert_allclose(found.layer_effects, np.asarray(served["layers"]["effect"]))
    assert found.layer_effects.shape == (6,) and "knock-out map" in repr(found)
    assert found.effects.shape == (6, 12) and "class='headscope-heatmap'" in found._repr_html_()
    with pytest.raises(ValueError, match="aspect"):
        headscope.knockout(absa, REVIEW)


def test_faithfulness_is_the_servers_answer(absa, tiny_client):
    options = {"methods": ["attention", "rollout"], "k": [10, 50]}
    found = headscope.faithfulness(absa, REVIEW, aspect="service", **options)
    served = tiny_client.post(
        "/api/inspect/faithfulness", json={"model": TINY_ABSA_ID, "text": REVIEW, "aspect": "service", **options}
    ).json()
    assert found.label == served["label"]
    # the response model adds extra: null; timings are the clock's
    assert {k: v for k, v in found.json.items() if k != "timings_ms"} == {
        k: v for k, v in served.items() if k not in ("timings_ms", "extra")
    }
    assert found.heads().shape == (6, 12) and "rollout" in found.summary()
    with pytest.raises(ValueError, match="accepted"):
        headscope.faithfulness(absa, REVIEW, aspect="service", methods=["palmistry"])


def test_norm_based_attention_is_the_servers(absa, tiny_client):
    found = headscope.inspect(absa, REVIEW, aspect="service", attention_kind="norm")
    assert found.attention_kind == "norm" and "norm-based attention" in found.summary()  # never taken for weights
    assert "norm-based attention" in found.head_view().title
    body = {"model": TINY_ABSA_ID, "text": REVIEW, "aspect": "service", "attention": "full", "attention_kind": "norm"}
    served = tiny_client.post("/api/inspect", json=body).json()
    np.testing.assert_allclose(found.attention, np.asarray(served["attention"]["values"]), atol=1e-5)
    assert not np.allclose(found.attention, headscope.inspect(absa, REVIEW, aspect="service").attention)


def test_patching_is_the_servers_answer(absa, tiny_client):
    corrupted = "The pasta was great but the waiter was polite."
    found = headscope.patching(absa, REVIEW, corrupted, aspect="service")
    served = tiny_client.post(
        "/api/compare/patching",
        json={"left": {"model": TINY_ABSA_ID, "text": REVIEW, "aspect": "service"}, "right": {"text": corrupted}},
    ).json()
    assert found.json == {k: v for k, v in served.items() if k in found.json} and set(found.json) <= set(served)
    assert found.heads("denoise").shape == (6, 12) and found.directions == ["denoise", "noise"]
    assert "denoise" in found.summary() and "class='headscope-heatmap'" in found._repr_html_()
    with pytest.raises(ValueError, match="corrupted: .*share no token"):
        headscope.patching(absa, REVIEW, "zebra xylophone", aspect="service")
    with pytest.raises(ValueError, match="direction"):
        headscope.patching(absa, REVIEW, corrupted, aspect="service", direction="sideways")


def test_mean_ablation_over_a_chosen_reference_set(absa, tiny_client):
    asked = {"heads_off": [(0, 1)], "mode": "mean"}
    demo = headscope.inspect(absa, REVIEW, aspect="service", reference="demo-absa", **asked)
    served = served_intervention(tiny_client, {"heads": [[0, 1]], "mode": "mean", "reference": "demo-absa"})
    assert demo.intervention["after"]["probabilities"] == pytest.approx(served["after"]["probabilities"], abs=1e-6)
    with pytest.raises(ValueError, match="reference"):
        headscope.inspect(absa, REVIEW, aspect="service", reference="demo-re", **asked)  # the other task's data

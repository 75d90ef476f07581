"""The pretrained baseline checkpoints written by `headscope prepare`: listed, clearly marked,
the untouched MiniLM encoder with an untrained head, and reused rather than rewritten."""

import pytest
from safetensors import safe_open

from app.core.model.checkpoint import load_checkpoint, read_checkpoint_info, scan_models_dir
from app.core.training.demo_checkpoints import (
    ABSA_LABELS,
    BASELINES,
    DEFAULT_ENTITY_MARKERS,
    DEMO_RE_LABELS,
    embedded_base_model,
    prepare_demo_models,
)

BASELINE_IDS = {"pretrained-minilm-absa-qa-m": "demo-absa-qa-m", "pretrained-minilm-re": "demo-re"}
ENCODER_TENSORS = (
    "encoder.layer.0.attention.self.query.weight",
    "encoder.layer.3.intermediate.dense.weight",
    "encoder.layer.5.output.LayerNorm.weight",
    "embeddings.position_embeddings.weight",
)


def tensors(folder, names):
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return {name: f.get_tensor(name) for name in names}


def test_baselines_are_listed_and_marked(models_dir):
    infos = {i.id: i for i in scan_models_dir(models_dir)}
    absa, relation = infos["pretrained-minilm-absa-qa-m"], infos["pretrained-minilm-re"]
    assert (absa.task, absa.format, absa.labels) == ("absa", "qa-m", tuple(ABSA_LABELS))
    assert (relation.task, relation.format, relation.labels) == ("re", "re-markers", DEMO_RE_LABELS)
    assert relation.entity_markers == DEFAULT_ENTITY_MARKERS
    for info in (absa, relation):
        assert info.metadata["baseline"] == "pretrained"
        assert "NOT fine-tuned" in info.description
        assert info.metrics == {} and "data" not in info.metadata["training"]
        assert info.to_json()["id"] == info.id
    assert {b.name for b in BASELINES} == set(BASELINE_IDS)


@pytest.mark.parametrize("baseline_id", sorted(BASELINE_IDS))
def test_encoder_is_the_embedded_minilm_and_head_is_untrained(models_dir, baseline_id):
    from pathlib import Path

    folder, demo = models_dir / baseline_id, models_dir / BASELINE_IDS[baseline_id]
    base = tensors(Path(embedded_base_model()), ENCODER_TENSORS + ("embeddings.word_embeddings.weight",))
    ours = tensors(
        folder, [f"bert.{n}" for n in ENCODER_TENSORS] + ["bert.embeddings.word_embeddings.weight", "classifier.weight"]
    )
    for name in ENCODER_TENSORS:
        assert ours[f"bert.{name}"].equal(base[name]), name
    vocab = base["embeddings.word_embeddings.weight"]
    assert ours["bert.embeddings.word_embeddings.weight"][: vocab.shape[0]].equal(vocab)
    fine_tuned = tensors(demo, ["classifier.weight", "bert.encoder.layer.0.attention.self.query.weight"])
    assert ours["classifier.weight"].shape == fine_tuned["classifier.weight"].shape
    assert not ours["classifier.weight"].equal(fine_tuned["classifier.weight"])
    # and the demo checkpoint's encoder did move: the baseline is a real comparison
    assert not fine_tuned["bert.encoder.layer.0.attention.self.query.weight"].equal(
        base["encoder.layer.0.attention.self.query.weight"]
    )


def test_re_baseline_loads_with_entity_markers(models_dir):
    loaded = load_checkpoint(read_checkpoint_info(models_dir / "pretrained-minilm-re"))
    assert all(
        loaded.tokenizer.convert_tokens_to_ids(m) != loaded.tokenizer.unk_token_id for m in DEFAULT_ENTITY_MARKERS
    )
    assert loaded.model.get_input_embeddings().weight.shape[0] == len(loaded.tokenizer)


def test_second_prepare_does_not_rewrite_baselines(models_dir):
    def stamps():
        return {
            b: [(models_dir / b / f).stat().st_mtime_ns for f in ("model.safetensors", "headscope.json")]
            for b in BASELINE_IDS
        }

    before = stamps()
    assert prepare_demo_models(models_dir, progress=False) == []
    assert stamps() == before


def test_registry_default_stays_the_demo_checkpoints(models_dir):
    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry

    registry = ModelRegistry(models_dir, pick_device("cpu"))
    ids = {i.id for i in registry.refresh()}
    assert set(BASELINE_IDS) <= ids
    assert (registry.default_id("absa"), registry.default_id("re")) == ("demo-absa-qa-m", "demo-re")


def test_untrained_checkpoints_say_so_and_trained_ones_do_not(models_dir, tiny_models_dir):
    infos = {i.id: i for i in scan_models_dir(models_dir)}
    for baseline in BASELINE_IDS:
        assert "not fine-tuned" in infos[baseline].untrained
        assert infos[baseline].to_json()["untrained"] == infos[baseline].untrained
    for trained in BASELINE_IDS.values():
        assert infos[trained].untrained is None and infos[trained].to_json()["untrained"] is None
    # the tiny test checkpoints' cards record data but no training run (never trained)
    for tiny in scan_models_dir(tiny_models_dir):
        assert "no training run recorded" in tiny.untrained

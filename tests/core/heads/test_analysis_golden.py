"""The analysis result on the demo data equals the one stored before the analysis became probes over one pass.

The stored files (tests/fixtures/analysis/*-v2.json.gz) were written by the pre-refactor `analyze`
(result version 2) with the settings below. Deliberate differences since, and only these: the
version, per head statistic `margin`, `baselines.best` and `no_label`, each example's `inspect.marks` (new
fields), and the agreement with attribution (turned off below; what remains of it: the `attribution` section,
its settings and the rule's "attribution" label). Run-specific values (times, run id, speed, the data file's location)
are not compared, nor where the pretrained base is installed (the virtual environment's location).

Each is run on exactly the data it was written for: the relations file, and the first 320 demo reviews (the
reviews appended after them, to train a better demo checkpoint, are left out; the data's sha256 is compared).
The relations file was written with the demo-re checkpoint still in use. demo-absa-v2.json.gz was written
again when the demo ABSA checkpoint was retrained on the grown reviews (the head statistics are the model's):
by the analysis code as it was then, unchanged (run from a `git archive` of the commit that grew the reviews),
on the new checkpoint and the same 320 reviews, with these SETTINGS, stored as `without_new_fields` of its result.
The checkpoint is the one `headscope prepare` trains on two cores, as `make` and CI do: its weights depend on the
number of torch threads (a one-thread training gives another checkpoint, and other head statistics) and on
the CPU's SIMD kernels: where this machine trains a known other ABSA checkpoint (`OTHER_CHECKPOINTS`, told by the
bare model's logits), its comparison is skipped, saying so; any other checkpoint is compared.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
from locations import FIXTURES_DIR  # tests/ is on sys.path (rootdir conftest)

from app.core.data.demo import demo_dataset, read_review_sentences
from app.core.data.readers.formats import Dataset
from app.core.heads.analysis import analyze
from app.core.heads.settings import AnalysisSettings
from app.core.model.pretrained import load_pretrained_baseline

STORED = FIXTURES_DIR / "analysis"
SETTINGS = AnalysisSettings(
    max_examples=48,
    batch_size=16,
    bootstrap=200,
    seed=0,
    js_sample=8,
    typical_k=3,
    importance=True,
    ablation_draws=2,
    agreement=False,
)
RUN_SPECIFIC = ("computed_at", "run_id", "timings_s", "pairs_per_s")
ORIGINAL_REVIEWS = 320  # the demo reviews there were when the stored analysis was written


def data_written_for(name: str, folder: Path) -> Dataset:
    """The demo data `name` as it was when its stored analysis was written (the reviews' first lines)."""
    demo = demo_dataset(name)
    if name != "demo-absa":
        return demo
    lines = demo.path.read_text(encoding="utf-8").splitlines(keepends=True)[:ORIGINAL_REVIEWS]
    original = folder / demo.path.name
    original.write_text("".join(lines), encoding="utf-8")
    return Dataset(original, demo.format, tuple(read_review_sentences(original)))


def installed_relative(path: str) -> str:
    """The pretrained base's folder from its package on: the same model wherever the venv lies."""
    return path.split("site-packages/")[-1]


def comparable(result: dict) -> dict:
    result = {k: v for k, v in result.items() if k not in RUN_SPECIFIC}
    result["data"] = {k: v for k, v in result["data"].items() if k != "path"}
    for section in ("settings", "finetune_change"):
        if isinstance(result.get(section), dict) and isinstance(result[section].get("pretrained"), str):
            result[section] = {**result[section], "pretrained": installed_relative(result[section]["pretrained"])}
    return result


def without_new_fields(result: dict) -> dict:
    result["version"] = 2
    result.pop("attribution")
    del result["rule"]["labels"]["attribution"]
    for key in ("agreement", "ig", "ig_steps", "ig_limit", "attention"):
        del result["settings"][key]
    for head in result["heads"]:
        for entry in head["statistics"].values():
            del entry["margin"]
            del entry["baselines"]["best"]
            entry.pop("no_label", None)  # why a head above its baselines has no label (new)
    for example in result["examples"].values():
        example["inspect"].pop("marks", None)  # the other aspects' and opinions' spans /inspect highlights (new)
    return result


def last_digit(path: str) -> float:
    """The tolerance of a stored float: one unit of its last decimal (6, the head map's 5), with room for the float
    itself; a CPU with other SIMD kernels sums in another order and may round the last digit the other way."""
    return 1.01e-5 if ".head_map." in path else 2e-6


def differences(old, new, path="result", found=None) -> list[str]:
    found = [] if found is None else found
    if isinstance(old, dict) and isinstance(new, dict):
        if set(old) != set(new):
            found.append(f"{path}: keys {sorted(set(old) ^ set(new))}")
        for key in set(old) & set(new):
            differences(old[key], new[key], f"{path}.{key}", found)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            found.append(f"{path}: length {len(old)} != {len(new)}")
        for i, (a, b) in enumerate(zip(old, new)):
            differences(a, b, f"{path}[{i}]", found)
    elif isinstance(old, float) and isinstance(new, (int, float)) and not isinstance(new, bool):
        if not math.isclose(old, new, rel_tol=1e-5, abs_tol=last_digit(path)):
            found.append(f"{path}: {old} != {new}")
    elif old != new:
        found.append(f"{path}: {old!r} != {new!r}")
    return found


# The checkpoints `headscope prepare` is known to train on CPUs other than the one the stored analysis was written
# on, as the logits of the bare model (the tokenizer's own pair encoding, none of the analysis's code) on
# FINGERPRINT_PAIRS. Other SIMD kernels (AVX-512 and AMX against AVX2, say) round differently, and over the demo
# ABSA recipe's 828 steps that gives another checkpoint with other head statistics (its dev accuracy and macro-F1
# the same to three decimals). Only a checkpoint found here is skipped; any other is compared in full.
FINGERPRINT_PAIRS = [
    ("The pizza was great but the service was slow.", "what do you think of the service of it ?"),
    (
        "Our waiter explained that the fish comes in fresh every Tuesday and Friday.",
        "what do you think of the food of it ?",
    ),
]
OTHER_CHECKPOINTS = {
    "demo-absa-qa-m as a Xeon with AVX-512 and AMX trains it (2026-12-06)": [
        [0.6368, -1.7226, 3.1347, 0.5511, -3.1666],
        [-0.9102, 3.9455, -2.0269, -0.0873, -0.5259],
    ],
}


def fingerprint(loaded) -> list[list[float]]:
    import torch

    texts, questions = zip(*FINGERPRINT_PAIRS)
    encoded = loaded.tokenizer(list(texts), list(questions), padding=True, return_tensors="pt")
    with torch.inference_mode():
        return loaded.model(**encoded.to(loaded.device)).logits.tolist()


def known_other_checkpoint(loaded) -> str | None:
    """The name of the known other checkpoint `loaded` is (its logits within 1e-3 of the stored ones), or None."""
    found = fingerprint(loaded)
    for name, logits in OTHER_CHECKPOINTS.items():
        if all(math.isclose(a, b, abs_tol=1e-3) for row, known in zip(found, logits) for a, b in zip(row, known)):
            return name
    return None


@pytest.mark.parametrize("model_id, data", [("demo-absa-qa-m", "demo-absa"), ("demo-re", "demo-re")])
def test_demo_analysis_is_unchanged(registry, model_id, data, tmp_path):
    loaded = registry.get(model_id)
    stored = json.loads(gzip.decompress((STORED / f"{data}-v2.json.gz").read_bytes()))
    dataset = data_written_for(data, tmp_path)
    result = analyze(loaded, dataset, SETTINGS, pretrained=load_pretrained_baseline(loaded)).to_json()
    other = known_other_checkpoint(loaded) if model_id == "demo-absa-qa-m" else None
    if other:
        pytest.skip(f"this machine trained {other}, not the checkpoint the stored analysis was written with")
    found = differences(comparable(stored), without_new_fields(comparable(result)))
    assert not found, "\n".join(found[:20])

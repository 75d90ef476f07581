"""Shared set-up for the benchmarks: the demo checkpoint and a fixed 40-token review–aspect pair."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS_DIR = Path(os.environ.get("HEADSCOPE_MODELS_DIR", ROOT / "models")).resolve()
MODEL_ID = "demo-absa-qa-m"
CHECKPOINT = MODELS_DIR / MODEL_ID
# 40 tokens as a QA-M pair with the MiniLM tokenizer (checked by each script).
REVIEW = (
    "The pasta was great and fresh, but our waiter was rude and we waited forty long minutes for the bill "
    "on a busy Friday night."
)
ASPECT = "service"
PAIR_TOKENS = 40


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def require_checkpoint() -> None:
    if not (CHECKPOINT / "headscope.json").exists():
        sys.exit(f"{CHECKPOINT} is missing: run `make prepare` (or `headscope prepare`) first")


def load_demo():
    """The demo checkpoint through the models folder's registry, on the best device (exits when it is missing)."""
    from app.core.model.checkpoint import pick_device
    from app.core.model.registry import ModelRegistry

    require_checkpoint()
    registry = ModelRegistry(MODELS_DIR, pick_device("auto"))
    registry.refresh()
    return registry.get(MODEL_ID)


def prepared_demo_pair(loaded):
    """(the demo review-aspect pair prepared for inspection on `loaded`, its token count), checked to be
    PAIR_TOKENS long: the figures speak of that length."""
    from app.core.passes.inspection import InspectionInput, prepare_inspection

    prepared = prepare_inspection(loaded, InspectionInput(REVIEW, ASPECT))
    tokens = len(prepared.encodeds[0].input_ids)
    assert tokens == PAIR_TOKENS, f"the demo pair is {tokens} tokens, not {PAIR_TOKENS}"
    return prepared, tokens


def timing_parser(description: str, rounds: int = 7, repeats: int = 5) -> argparse.ArgumentParser:
    """A benchmark's command line with the timing loop's options (bench/timing.py) and --threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=rounds, help="alternating rounds (the median ratio is printed)")
    parser.add_argument("--repeats", type=int, default=repeats, help="runs per round and side (its median time)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    return parser


def server_env() -> dict[str, str]:
    return {"HEADSCOPE_MODELS_DIR": str(MODELS_DIR), "HEADSCOPE_DEVICE": "cpu"}


def wait_for_fast_path(url: str, model: str = MODEL_ID, timeout_s: float = 120) -> str:
    """Inspect once, then wait until the server's fast path for `model` is built (or refused); its status."""
    import time

    import httpx

    httpx.post(url + "/api/inspect", json={"model": model, "text": REVIEW, "aspect": ASPECT}, timeout=120)
    deadline = time.monotonic() + timeout_s
    status = "building"
    while time.monotonic() < deadline:
        status = httpx.get(url + "/api/health", timeout=10).json().get("fast_path", {}).get(model, "off")
        if status != "building":
            break
        time.sleep(0.2)
    return status


LABELS = ("positive", "neutral", "negative", "conflict", "none")


def text_of_pair_length(tokenizer, words: list[str], second: str, n: int) -> str:
    """The longest prefix of `words` whose pair with `second` is at most n tokens, padded with " ." to exactly n."""

    def count(text: str) -> int:
        return len(tokenizer(text, second)["input_ids"])

    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if count(" ".join(words[:mid])) <= n else (lo, mid - 1)
    text = " ".join(words[:lo])
    while count(text) < n:
        text += " ."
    assert count(text) == n, (n, count(text))
    return text

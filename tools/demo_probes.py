"""Probe reviews for the demo ABSA checkpoint: what a reader would answer, and what each checkpoint answers.

    .venv/bin/python tools/demo_probes.py models/demo-absa-qa-m [OTHER_CHECKPOINT_FOLDER ...]

The probes are reviews of the kind the shipped examples are (two aspects of opposite polarity in one
sentence, steep or fair prices, terse reviews), written for this check and kept out of the demo training
data (the script refuses to run when one is in app/demo_data/restaurants.jsonl). For each checkpoint folder
it prints every wrong answer with the probability of what it said, the number right out of all answers with
a 95% Wilson interval, and its held-out demo dev figures from its headscope.json with the same interval.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scipy.stats import binomtest

import headscope

ROOT = Path(__file__).resolve().parent.parent

# review -> {aspect (category or term): what a reader answers}; "none" for a category the review leaves out.
PROBES: dict[str, dict[str, str]] = {
    "The pizza was delicious, but the prices were steep.": {"food": "positive", "price": "negative", "service": "none"},
    "The steak was bland but the staff were wonderful.": {"food": "negative", "service": "positive"},
    "Cozy room, awful coffee.": {"ambience": "positive", "food": "negative"},
    "Our waitress was rude, but the dessert was great.": {"service": "negative", "food": "positive"},
    "Prices are steep, but the sushi is the best in town.": {"price": "negative", "food": "positive"},
    "Delicious food at overpriced rates.": {"food": "positive", "price": "negative"},
    "Way too expensive for what you get.": {"price": "negative", "ambience": "none"},
    "The menu is cheap and the portions are generous.": {"price": "positive", "food": "positive"},
    "The waiter was friendly and the wine was cheap.": {"service": "positive", "price": "positive"},
    "The bartender was rude but the cocktails were great.": {"service": "negative", "food": "positive"},
    "The noise was unbearable but the pasta was fantastic.": {"ambience": "negative", "food": "positive"},
    "The chef's special was great but the hostess was rude.": {"food": "positive", "service": "negative"},
    "Lovely decor, but the food was cold.": {"ambience": "positive", "food": "negative"},
    "The service was quick and friendly.": {"service": "positive", "food": "none", "price": "none"},
    "A bit pricey, but the view makes up for it.": {"price": "negative", "ambience": "positive"},
    "The pasta was great but it cost a fortune.": {"food": "positive", "price": "negative", "pasta": "positive"},
    "The burgers were great but the waiter was rude.": {
        "food": "positive",
        "service": "negative",
        "price": "none",
        "burgers": "positive",
        "waiter": "negative",
    },
    "We waited an hour for a table.": {"service": "negative", "food": "none"},
    "The prices are steep for such ordinary food.": {"price": "negative", "food": "negative"},
    "Cheap eats, friendly staff, great tacos.": {"price": "positive", "service": "positive", "food": "positive"},
}


def held_out_probes() -> None:
    """Exit when a probe is in the demo training data: it would no longer measure anything held out."""
    reviews = (ROOT / "app/demo_data/restaurants.jsonl").read_text(encoding="utf-8").lower()
    seen = [text for text in PROBES if json.dumps(text).lower() in reviews]
    if seen:
        sys.exit(f"probes in the demo training data: {seen}")


def wilson(right: int, n: int) -> str:
    ci = binomtest(right, n).proportion_ci(method="wilson")
    return f"{right / n:.3f} [{ci.low:.3f}, {ci.high:.3f}] (n={n})"


def probe(folder: Path) -> None:
    checkpoint = headscope.load(str(folder))
    answers = [(text, aspect, want) for text, wanted in PROBES.items() for aspect, want in wanted.items()]
    right = 0
    print(f"== {folder}")
    for text, aspect, want in answers:
        result = headscope.inspect(checkpoint, text, aspect=aspect)
        said = result.prediction
        right += said == want
        if said != want:
            print(f"  wrong: {text!r} {aspect}: {said} ({result.probabilities[said]:.3f}), a reader: {want}")
    print(f"  probes right: {wilson(right, len(answers))} over {len(PROBES)} reviews")
    dev = json.loads((folder / "headscope.json").read_text(encoding="utf-8")).get("metrics", {}).get("dev")
    if dev:
        print(f"  held-out demo dev accuracy: {wilson(round(dev['accuracy'] * dev['n']), dev['n'])}")
        print(f"  held-out demo dev macro-F1: {dev.get('macro_f1')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="demo ABSA checkpoint folders")
    held_out_probes()
    for folder in parser.parse_args().folders:
        probe(folder)


if __name__ == "__main__":
    main()

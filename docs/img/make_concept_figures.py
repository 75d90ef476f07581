"""Draw the small figures of docs/concepts.md as SVG files next to this script.

    .venv/bin/python docs/img/make_concept_figures.py

Where a figure shows a computation (the baseline maps, the bootstrap, the JS divergence), it calls
headscope's own functions, so the picture is what the code does. The numbers in the head-label,
interpretability, ARS, separation, no-op and opposite-aspect pictures are made up for illustration.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from app.core.heads.baselines import POSITIONAL_BASELINES, positional_attention, uniform_attention  # noqa: E402
from app.core.heads.labels import DEFAULT_RULE  # noqa: E402
from app.core.stats.bootstrap import bootstrap_ci, bootstrap_means  # noqa: E402
from app.core.stats.streaming import js_divergence_rows  # noqa: E402

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: small files, searchable
        "svg.hashsalt": "headscope",  # stable ids: regenerating gives the same files
        "font.size": 9,
        "font.family": "sans-serif",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
BLUE, ORANGE, GREY, GREEN, RED = "#2456d6", "#e07b1a", "#8a8f98", "#2e9e5b", "#c8372d"


def save(fig, name: str) -> None:
    fig.tight_layout()
    fig.savefig(HERE / name, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"wrote docs/img/{name}")


def head_label() -> None:
    """Three heads' aspect_mass with 95% CIs against the best baseline and the rule's threshold."""
    best = 0.20
    threshold = float(DEFAULT_RULE.threshold(torch.tensor(best)))
    heads = [("2.7", 0.41, 0.33, 0.49), ("4.1", 0.29, 0.22, 0.36), ("0.3", 0.18, 0.15, 0.21)]
    fig, ax = plt.subplots(figsize=(5.6, 2.2))
    for y, (_, mean, low, high) in enumerate(heads):
        labelled = low > threshold
        color = GREEN if labelled else GREY
        ax.plot([low, high], [y, y], color=color, lw=2)
        ax.plot(mean, y, "o", color=color)
        ax.text(high + 0.01, y, "label: aspect" if labelled else "no label", va="center", color=color)
    ax.axvline(best, color=ORANGE, ls="--")
    ax.text(best, 2.6, "best baseline\n0.20", ha="right", color=ORANGE, fontsize=8)
    ax.axvline(threshold, color=RED, ls=":")
    ax.text(threshold + 0.005, 2.6, f"threshold {threshold:.2f}\n= best + max(0.05, 25%)", color=RED, fontsize=8)
    ax.set_yticks(range(len(heads)), [f"head {h[0]}" for h in heads])
    ax.set_ylim(-0.6, 3.2)
    ax.set_xlim(0.1, 0.65)
    ax.set_xlabel("aspect_mass: mean and 95% bootstrap CI over examples")
    save(fig, "head-label.svg")


def baselines() -> None:
    """The uniform map and Clark et al.'s positional maps of one 8-token input, from baselines.py."""
    tokens = ["[CLS]", "the", "pasta", "was", "great", "[SEP]", "food", "[SEP]"]
    n = len(tokens)
    maps = [uniform_attention(n)[0, 0]] + list(positional_attention(n, cls=[0], sep=[5, 7])[0])
    names = ("uniform",) + POSITIONAL_BASELINES
    fig, axes = plt.subplots(1, len(maps), figsize=(7.2, 1.7))
    for ax, attention, name in zip(axes, maps, names):
        ax.imshow(attention.numpy(), cmap="Blues", vmin=0, vmax=1)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_ylabel("rows: queries\ncolumns: keys", fontsize=7)
    save(fig, "baseline.svg")


def bootstrap() -> None:
    """The resampled means of 60 examples' scores and the 2.5 / 97.5 percentiles, from bootstrap.py."""
    generator = torch.Generator().manual_seed(3)
    values = torch.rand(60, generator=generator) ** 1.5
    means = bootstrap_means(values[:, None, None], 1000, seed=0)[:, 0, 0]
    low, high = bootstrap_ci(values[:, None, None], 1000, seed=0)
    fig, ax = plt.subplots(figsize=(5.6, 2.0))
    ax.hist(means.numpy(), bins=40, color="#b9c9f0")
    ax.axvline(float(values.mean()), color=BLUE, label=f"mean of the 60 examples {float(values.mean()):.3f}")
    for bound in (float(low), float(high)):
        ax.axvline(bound, color=RED, ls="--")
    ax.plot([], [], color=RED, ls="--", label=f"95% CI [{float(low):.3f}, {float(high):.3f}]")
    ax.set_xlabel("mean of one resample (1,000 resamples, examples drawn with replacement)")
    ax.set_yticks([])
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    save(fig, "bootstrap-ci.svg")


def interpretability() -> None:
    """The last layer's [CLS] attention summed over heads, per word; the top 3 and the gold aspect."""
    words = ["the", "pasta", "was", "great", "but", "the", "waiter", "was", "rude", "."]
    scores = [0.4, 1.6, 0.3, 1.2, 0.5, 0.3, 2.1, 0.2, 0.9, 0.5]
    top = sorted(range(len(words)), key=lambda i: -scores[i])[:3]
    gold = 6
    fig, ax = plt.subplots(figsize=(5.6, 2.0))
    colors = [BLUE if i in top else "#c9ced6" for i in range(len(words))]
    ax.bar(range(len(words)), scores, color=colors)
    ax.set_xticks(range(len(words)), words)
    ax.get_xticklabels()[gold].set_color(GREEN)
    ax.get_xticklabels()[gold].set_fontweight("bold")
    ax.set_ylabel("[CLS] → word")
    ax.set_title("aspect term 'waiter' (green) is in the top 3 (blue): this example counts", fontsize=9)
    save(fig, "interpretability-rate.svg")


def finetune_change() -> None:
    """One query row of a head in the pretrained and the fine-tuned model; their JS divergence (streaming.py)."""
    tokens = ["[CLS]", "the", "pasta", "was", "great", "[SEP]", "food", "[SEP]"]
    pretrained = torch.tensor([0.05, 0.10, 0.10, 0.10, 0.05, 0.45, 0.05, 0.10])
    finetuned = torch.tensor([0.03, 0.04, 0.55, 0.04, 0.20, 0.08, 0.02, 0.04])
    js = float(js_divergence_rows(pretrained, finetuned))
    fig, ax = plt.subplots(figsize=(5.6, 2.0))
    x = torch.arange(len(tokens)).float()
    ax.bar(x - 0.2, pretrained, 0.4, color=GREY, label="pretrained base")
    ax.bar(x + 0.2, finetuned, 0.4, color=BLUE, label="fine-tuned")
    ax.set_xticks(range(len(tokens)), tokens)
    ax.set_ylabel("attention from 'food'")
    ax.set_title(f"Jensen–Shannon divergence (base 2) of the two rows: {js:.2f}", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    save(fig, "fine-tune-change.svg")


def ars() -> None:
    """Sources and their variants, right or wrong: ARS counts the sources right on all of them."""
    rows = [
        ("source 1", [True, True, True, True]),
        ("source 2", [True, True, False, True]),
        ("source 3", [False, True, True, False]),
        ("source 4", [True, True, True, None]),
    ]
    fig, ax = plt.subplots(figsize=(5.6, 2.0))
    for y, (_, marks) in enumerate(rows):
        for x, mark in enumerate(marks):
            if mark is None:
                continue
            ax.text(x, y, "✓" if mark else "✗", ha="center", va="center", color=GREEN if mark else RED, fontsize=13)
        counted = all(m for m in marks if m is not None)
        ax.text(4.0, y, "counts" if counted else "does not count", va="center", color=GREEN if counted else GREY)
    ax.set_xticks(range(4), ["source", "RevTgt", "RevNon", "AddDiff"])
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_xlim(-0.5, 5.3)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    ax.set_title("ARS = 2 / 4 = 0.50 (right on the source and on every variant)", fontsize=9)
    save(fig, "ars.svg")


def head_separation() -> None:
    """One head's change on broken and on held pairs; the separation is the difference of the means."""
    generator = torch.Generator().manual_seed(5)
    broken = (0.18 + 0.06 * torch.randn(40, generator=generator)).clamp_min(0.005)  # a divergence is >= 0
    held = (0.08 + 0.04 * torch.randn(120, generator=generator)).clamp_min(0.005)
    fig, ax = plt.subplots(figsize=(5.6, 2.0))
    ax.scatter(broken, torch.full_like(broken, 1) + 0.08 * torch.randn(40, generator=generator), s=8, color=RED)
    ax.scatter(held, torch.zeros_like(held) + 0.08 * torch.randn(120, generator=generator), s=8, color=GREEN)
    for y, values, color in ((1, broken, RED), (0, held, GREEN)):
        ax.plot([float(values.mean())] * 2, [y - 0.3, y + 0.3], color=color, lw=2)
    ax.annotate(
        "",
        xy=(float(broken.mean()), 0.5),
        xytext=(float(held.mean()), 0.5),
        arrowprops={"arrowstyle": "<->", "color": BLUE},
    )
    ax.text(float(held.mean() + broken.mean()) / 2, 0.55, "separation", ha="center", color=BLUE)
    ax.set_yticks([0, 1], ["held pairs", "broken pairs"])
    ax.set_xlabel("head 4.9: JS divergence of its entity rows, source vs variant")
    save(fig, "head-separation.svg")


def no_op() -> None:
    """[SEP] mass of a head from the aspect, on pairs whose aspect is absent and on pairs where it is present."""
    fig, ax = plt.subplots(figsize=(5.6, 2.0))
    values = {"aspect absent (label none)": 0.71, "aspect present": 0.32}
    ax.barh(list(values), list(values.values()), color=[ORANGE, BLUE])
    for y, value in enumerate(values.values()):
        ax.text(value + 0.01, y, f"{value:.2f}", va="center")
    ax.set_xlim(0, 1)
    ax.set_xlabel("attention mass from the aspect to [SEP]")
    ax.set_title("no-op contrast = 0.71 − 0.32 = 0.39", fontsize=9)
    save(fig, "no-op.svg")


def opposite_aspect() -> None:
    """Arcs from the aspect in the auxiliary sentence: to its own term, and to another aspect's term."""
    words = ["the", "pasta", "was", "great", "but", "the", "waiter", "was", "rude", "[SEP]", "service"]
    fig, ax = plt.subplots(figsize=(6.4, 1.9))
    for x, word in enumerate(words):
        color = {1: ORANGE, 6: GREEN, 10: BLUE}.get(x, "black")
        ax.text(x, 0, word, ha="center", va="top", color=color, fontweight="bold" if color != "black" else None)
    for target, color, width, label in ((1, ORANGE, 3, "other aspect"), (6, GREEN, 1, "own term")):
        ax.annotate(
            "",
            xy=(target, 0.05),
            xytext=(10, 0.05),
            arrowprops={"arrowstyle": "->", "color": color, "lw": width, "connectionstyle": "arc3,rad=0.35"},
        )
        ax.text((target + 10) / 2, 0.75 if target == 1 else 0.45, label, ha="center", color=color)
    ax.set_xlim(-0.7, 10.7)
    ax.set_ylim(-0.35, 1.1)
    ax.axis("off")
    ax.set_title("an opposite-aspect head: from 'service' mostly to 'pasta', the other aspect", fontsize=9)
    save(fig, "opposite-aspect.svg")


FIGURES = [head_label, baselines, bootstrap, interpretability, finetune_change, ars, head_separation, no_op]
FIGURES.append(opposite_aspect)

if __name__ == "__main__":
    for figure in FIGURES:
        figure()

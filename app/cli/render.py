"""Rich tables and lines for typed results (what `headscope analyze` prints)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from app.core.heads.agreement_dataset import summary_lines
from app.core.heads.result import AnalysisResult


def render_analysis(console: Console, result: AnalysisResult) -> None:
    data = result.data
    speed = f"{result.pairs_per_s:.1f}" if result.pairs_per_s else "–"
    console.print(
        f"{result.model.id} on {data.path}: {data.pairs} pairs ({data.pairing}), {speed} pairs/s", soft_wrap=True
    )
    console.print(labelled_table(result) if result.labelled else no_label_line(result), soft_wrap=True)
    console.print(interpretability_line(result), soft_wrap=True)
    for line in summary_lines(result.attribution):  # agreement with attribution; IG's own pairs/s
        console.print(line, soft_wrap=True)
    for line in ranking_lines(result):
        console.print(line, soft_wrap=True)
    if result.settings.get("importance"):
        for key, reason in result.not_computed.items():
            console.print(f"{key}: not computed ({reason})", soft_wrap=True)


def no_label_line(result: AnalysisResult) -> str:
    """Why no head has a label: too few examples for the rule, or no head's lower bound clears its baselines."""
    reasons = [s.no_label for head in result.heads for s in head.statistics.values() if s.no_label]
    few = [r for r in reasons if "fewer than" in r]
    if few:
        minimum = result.rule.get("min_examples") if result.rule else None
        return (
            f"no head labelled: {len(few)} head statistics beat their baselines but rest on fewer examples than the "
            f"{minimum} a label needs (run it on more pairs); e.g. {few[0]}"
        )
    if reasons:
        return f"no head labelled: no lower 95% bound clears its baselines by the rule's margin; e.g. {reasons[0]}"
    return "no head labelled: no head scores above its baselines"


def labelled_table(result: AnalysisResult) -> Table:
    table = Table("label", "heads (layer.head)", "supported by")
    for label, heads in sorted(result.labelled.items()):
        family = result.support.get(label, {})
        table.add_row(
            label,
            " ".join(f"{layer}.{head}" for layer, head in heads),
            f"{family.get('examples', '')} ex.: {family.get('source', '')}",
        )
    return table


def interpretability_line(result: AnalysisResult) -> str:
    rate = result.interpretability
    if rate.examples == 0:
        return "interpretability rate: no example with a gold span (aspect term or entities) in this data"
    best = rate.best_head
    pretrained = "–" if rate.pretrained is None else f"{rate.pretrained:.3f}"
    return (
        f"interpretability rate {rate.rate:.3f} (random {rate.random:.3f}, pretrained {pretrained}); "
        f"best single head {best['layer']}.{best['head']}: {best['rate']:.3f}"
    )


def top_heads(matrix, count: int = 5) -> str:
    """The `count` largest entries of a [layers][heads] matrix as "layer.head=value"."""
    rows = matrix.tolist() if hasattr(matrix, "tolist") else matrix
    ranked = sorted(((v, l, h) for l, row in enumerate(rows) for h, v in enumerate(row) if v == v), reverse=True)
    return " ".join(f"{l}.{h}={v:.3f}" for v, l, h in ranked[:count])


def ranking_lines(result: AnalysisResult) -> list[str]:
    """Importance, fine-tune change and every ablation, one line each (those that were computed)."""
    lines = []
    if result.importance is not None:
        lines.append(
            f"head importance ({result.importance.examples} ex., per-layer L2): top "
            + top_heads(result.importance.scores)
        )
    if result.finetune_change is not None:
        lines.append(
            f"fine-tune change (JS divergence vs the pretrained model, {result.finetune_change.examples} ex.): "
            "most changed " + top_heads(result.finetune_change.js)
        )
    for ablation in result.ablations.values():
        random = "–" if ablation.random.mean is None else f"{ablation.random.mean:.3f}"
        lines.append(
            f"ablation of {len(ablation.heads)} {ablation.label} heads: accuracy {ablation.accuracy:.3f} -> "
            f"{ablation.masked:.3f} (drop {ablation.drop:.3f}); random heads: mean {random} "
            f"({ablation.draws} draws)"
        )
    return lines


def _rate(value) -> str:
    if value is None or value.value is None:
        return "–"
    low, high = value.ci
    return f"{value.value:.3f} [{low:.3f}, {high:.3f}]"


def render_robustness(console: Console, result) -> None:
    """One row per test: accuracy on sources and variants, flips, ARS / debiased accuracy, the heads that moved."""
    overall = result.overall
    accuracy = "–" if overall["source_accuracy"] is None else f"{overall['source_accuracy']:.3f}"
    console.print(
        f"{result.model.id} on {result.data['name']}: {result.data['sources']} sources, "
        f"{result.data['variants']} variants; accuracy on the sources {accuracy}",
        soft_wrap=True,
    )
    table = Table(
        "test",
        "family",
        "variants",
        "source acc.",
        "variant acc.",
        "flip rate",
        "ARS / debiased / kept",
        "broken",
        "heads that moved (focus)",
    )
    for t in result.tests:
        special = t.aspect_robustness or t.debiased_accuracy or t.kept_source_label
        moved = t.moved.get("focus") or t.moved.get("cls")
        heads = " ".join(f"{h['layer']}.{h['head']}" for h in moved.top) if moved else "–"
        table.add_row(
            t.test,
            t.family,
            str(t.variants),
            _rate(t.source_accuracy),
            _rate(t.variant_accuracy),
            _rate(t.flip_rate),
            _rate(special),
            str(t.broken),
            heads,
        )
    console.print(table)
    if result.baseline:
        before = {t["test"]: t for t in result.baseline["tests"]}
        compare = Table(
            "test",
            f"variant acc. {result.baseline['model']}",
            f"variant acc. {result.model.id}",
            "flip rate before",
            "flip rate after",
        )
        for t in result.tests:
            old = before.get(t.test, {})
            compare.add_row(
                t.test,
                _rate(old.get("variant_accuracy")),
                _rate(t.variant_accuracy),
                _rate(old.get("flip_rate")),
                _rate(t.flip_rate),
            )
        console.print(compare)
    if result.settings.get("patch"):
        render_carriers(console, result)
    for name, reason in result.not_run.items():
        console.print(f"{name}: not run ({reason})", soft_wrap=True)


def _heads(heads) -> str:
    return " ".join(f"{layer}.{head}" for layer, head in heads) or "–"


def render_carriers(console: Console, result) -> None:
    """Per test: the heads whose patched output restores the flips beyond a same-layer random head, and the moved."""
    limit = result.settings.get("patch_limit")
    console.print(
        f"heads that carry the flips: each head patched from the source into the variant over at most {limit} "
        "flipped pairs per test (--patch-limit), restored fraction of the logit difference, mean [95% CI], "
        "against a random head of the same layer per pair",
        soft_wrap=True,
    )
    table = Table("test", "pairs", "carry the flips: restored [CI] vs control [CI]", "moved", "moved and carry")
    for t in result.tests:
        p = t.patched
        if p is None:
            table.add_row(t.test, "0", "no flipped pair to patch", _heads(_moved(t)), "–")
            continue
        carriers = "; ".join(
            f"{h['layer']}.{h['head']} {h['restored']:.2f} [{h['ci'][0]:.2f}, {h['ci'][1]:.2f}] vs "
            f"{h['control']:.2f} [{h['control_ci'][0]:.2f}, {h['control_ci'][1]:.2f}]"
            for h in p.carriers[:5]
        )
        more = f" (+{len(p.carriers) - 5} more)" if len(p.carriers) > 5 else ""
        table.add_row(
            t.test,
            f"{p.pairs} of {p.eligible}",
            (carriers or "none above its control") + more,
            _heads(p.moved),
            _heads(p.both),
        )
    console.print(table)


def _moved(t) -> list[list[int]]:
    moved = t.moved.get("focus") or t.moved.get("cls")
    return [[h["layer"], h["head"]] for h in moved.top] if moved else []

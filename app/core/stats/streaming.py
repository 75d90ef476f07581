"""Streaming accumulators: what the 95% bootstrap CIs, the no-op contrast and the heads x heads
Jensen-Shannon map need, without keeping any attention matrix.

* StatisticAccumulator keeps one [L, H] float32 row per example per statistic (N * L * H floats:
  144 heads x 10,000 examples is 5.8 MB per statistic) and nothing else; examples whose score is
  NaN (the statistic is undefined for them, e.g. no gold term) are skipped.
* NoOpContrast splits the [SEP] mass by whether the aspect is present in the review:
  contrast = mean(sep mass | aspect absent) - mean(sep mass | aspect present), CI by a
  stratified bootstrap (each group resampled on its own).
* JensenShannonAccumulator sums, over examples, the mean over query tokens of the Jensen-Shannon
  distance between every two heads' attention rows on the same input (Clark et al. 2019 compare
  heads by the JS divergence of their attention distributions). With base-2 logarithms the JS
  divergence is in [0, 1]; the distance is its square root (a metric, also in [0, 1]).
* classical_mds embeds the resulting distance matrix in 2-D (Torgerson's classical MDS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from app.core.stats.bootstrap import bootstrap_ci, bootstrap_difference_ci
from app.core.stats.entropy import plogp_sum


@dataclass
class Summary:
    """A statistic over examples: mean, 95% CI bounds (each [L, H]) and the number of examples."""

    mean: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    count: int


class StatisticAccumulator:
    """Per-statistic store of per-example [L, H] scores; `add` takes [L, H] or a batch [B, L, H]."""

    def __init__(self) -> None:
        self._chunks: dict[str, list[torch.Tensor]] = {}

    def add(self, name: str, scores: torch.Tensor) -> None:
        scores = scores.detach().float().cpu()
        if scores.dim() == 2:
            scores = scores.unsqueeze(0)
        keep = ~torch.isnan(scores).flatten(1).all(1)  # an example is NaN for every head or none
        if keep.any():
            self._chunks.setdefault(name, []).append(scores[keep])

    def add_all(self, scores: dict[str, torch.Tensor], prefix: str = "") -> None:
        """`add` of every statistic of a batch; statistics of one shape [B, L, H] are stacked so that the copy to
        the host and the NaN test run once for all of them, not once per statistic."""
        shapes = {value.shape for value in scores.values()}
        if len(scores) < 2 or len(shapes) > 1 or len(next(iter(shapes))) != 3:
            for name, value in scores.items():
                self.add(prefix + name, value)
            return
        stacked = torch.stack(list(scores.values())).detach().float().cpu()  # [S, B, L, H]
        keep = ~torch.isnan(stacked).flatten(2).all(2)  # [S, B]: an example is NaN for every head or none
        for name, values, kept, any_kept in zip(scores, stacked, keep, keep.any(1).tolist()):
            if any_kept:
                self._chunks.setdefault(prefix + name, []).append(values[kept])

    def merge(self, other: StatisticAccumulator) -> None:
        """Append `other`'s examples after this one's (shards merged in data order keep the rows' order)."""
        for name, chunks in other._chunks.items():
            self._chunks.setdefault(name, []).extend(chunks)

    @property
    def names(self) -> list[str]:
        return sorted(self._chunks)

    def values(self, name: str) -> torch.Tensor:
        """[N, L, H] of every kept example (N may be 0: an empty [0] tensor)."""
        chunks = self._chunks.get(name)
        if not chunks:
            return torch.empty(0)
        if len(chunks) > 1:  # compact, so repeated reads stay cheap
            self._chunks[name] = chunks = [torch.cat(chunks)]
        return chunks[0]

    def count(self, name: str) -> int:
        return sum(c.shape[0] for c in self._chunks.get(name, []))

    def mean(self, name: str) -> torch.Tensor:
        return self.values(name).mean(0)

    def summary(self, name: str, iterations: int = 1000, seed: int = 0) -> Summary:
        values = self.values(name)
        if values.numel() == 0:
            raise KeyError(f"no example carried statistic {name!r}")
        low, high = bootstrap_ci(values, iterations, seed)
        return Summary(values.mean(0), low, high, values.shape[0])


class MeanAccumulator:
    """Running NaN-skipping means per name (each value a tensor of a fixed shape per name)."""

    def __init__(self) -> None:
        self.total: dict[str, torch.Tensor] = {}
        self.count: dict[str, torch.Tensor] = {}

    def add(self, name: str, value: torch.Tensor) -> None:
        self.add_batch(name, value.unsqueeze(0))

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

    def add_all(self, values: dict[str, torch.Tensor]) -> None:
        """`add_batch` of several names at once: values of one shape are stacked so that the host copy, the NaN
        test and the sums run once for all of them (each name's sums are the same: one reduction per name)."""
        shapes = {value.shape for value in values.values()}
        if len(values) < 2 or len(shapes) > 1:
            for name, value in values.items():
                self.add_batch(name, value)
            return
        stacked = torch.stack(list(values.values())).detach().float().cpu()  # [S, B, ...]
        ok = ~torch.isnan(stacked)
        totals = torch.where(ok, stacked, torch.zeros_like(stacked)).double().sum(1)
        counts = ok.double().sum(1)
        for name, total, count, found in zip(values, totals, counts, ok.flatten(1).any(1).tolist()):
            if not found:
                continue
            if name not in self.total:
                self.total[name] = torch.zeros(total.shape, dtype=torch.float64)
                self.count[name] = torch.zeros(count.shape, dtype=torch.float64)
            self.total[name] += total
            self.count[name] += count

    def merge(self, other: MeanAccumulator) -> None:
        for name, total in other.total.items():
            if name in self.total:
                self.total[name] += total
                self.count[name] += other.count[name]
            else:
                self.total[name], self.count[name] = total.clone(), other.count[name].clone()

    def mean(self, name: str) -> torch.Tensor | None:
        if name not in self.total:
            return None
        return (self.total[name] / self.count[name]).float()  # 0/0 -> NaN


class NoOpContrast:
    """[SEP] mass on pairs whose aspect is absent (label none) minus on pairs where it is present."""

    def __init__(self) -> None:
        self.absent = StatisticAccumulator()
        self.present = StatisticAccumulator()

    def add(self, sep_mass: torch.Tensor, aspect_present: bool | torch.Tensor) -> None:
        """sep_mass [L, H] with a bool, or [B, L, H] with a bool tensor [B]."""
        if sep_mass.dim() == 2:
            (self.present if bool(aspect_present) else self.absent).add("sep", sep_mass)
            return
        present = torch.as_tensor(aspect_present, dtype=torch.bool).cpu()
        sep_mass = sep_mass.detach().cpu()
        if present.any():
            self.present.add("sep", sep_mass[present])
        if (~present).any():
            self.absent.add("sep", sep_mass[~present])

    def merge(self, other: NoOpContrast) -> None:
        self.absent.merge(other.absent)
        self.present.merge(other.present)

    @property
    def counts(self) -> tuple[int, int]:
        """(absent, present) example counts."""
        return self.absent.count("sep"), self.present.count("sep")

    def contrast(self) -> torch.Tensor:
        return self.absent.mean("sep") - self.present.mean("sep")

    def summary(self, iterations: int = 1000, seed: int = 0) -> Summary:
        absent, present = self.absent.values("sep"), self.present.values("sep")
        if absent.numel() == 0 or present.numel() == 0:
            raise KeyError("the no-op contrast needs pairs with the aspect absent and pairs with it present")
        low, high = bootstrap_difference_ci(absent, present, iterations, seed)
        return Summary(absent.mean(0) - present.mean(0), low, high, absent.shape[0] + present.shape[0])


def _entropy_bits(p: torch.Tensor) -> torch.Tensor:
    """Entropy in bits on the last axis, 0 log 0 = 0."""
    return plogp_sum(p).div_(-np.log(2))


def js_divergence_rows(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between distributions on the last axis (broadcasting).

    JSD(p, q) = H((p + q) / 2) - (H(p) + H(q)) / 2 with H the entropy in bits.
    """
    return (_entropy_bits((first + second) / 2) - (_entropy_bits(first) + _entropy_bits(second)) / 2).clamp(0, 1)


def js_distance_rows(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon distance sqrt(JSD_base2) between distributions on the last axis (a metric, in [0, 1])."""
    return js_divergence_rows(first, second).sqrt()


# floats alive at once in head_js_distances: on a CPU what its cache holds (a MiniLM input's 72 x 72 heads of 64
# tokens: 172 ms with 2^24, 25 with 2^20), on a GPU enough to keep its launches few
JS_CHUNK_ELEMENTS = {"cpu": 1 << 20, "device": 1 << 24}


def head_js_distances(
    attention: torch.Tensor, valid: torch.Tensor | None = None, chunk_elements: int | None = None
) -> torch.Tensor:
    """[L*H, L*H] mean over valid query rows of the JS distance between every two heads (one example).

    Heads are flattened layer-major (index = layer * H + head). Runs on the attention's device in
    float32, computing each pair once (upper triangle, mirrored; the diagonal is 0 by definition) in
    chunks of heads so that at most about `chunk_elements` floats are alive at once (JS_CHUNK_ELEMENTS).
    """
    if chunk_elements is None:
        chunk_elements = JS_CHUNK_ELEMENTS["cpu" if attention.device.type == "cpu" else "device"]
    layers, heads, length, _ = attention.shape
    flat = attention.reshape(layers * heads, length, length).float()
    if valid is not None:
        valid = valid.to(flat.device)
        flat = flat[:, valid][:, :, valid]
    count, rows = flat.shape[0], flat.shape[1]
    own = _entropy_bits(flat)  # [N, rows]
    step = max(1, chunk_elements // max(1, count * rows * flat.shape[2]))
    out = torch.zeros(count, count, dtype=torch.float32)
    for start in range(0, count, step):
        stop = min(start + step, count)
        block = flat[start:stop, None]
        others = flat[None, start:]
        mixture = _entropy_bits((block + others) / 2)  # [c, N - start, rows]
        divergence = mixture - (own[start:stop, None] + own[None, start:]) / 2
        out[start:stop, start:] = divergence.clamp(0, 1).sqrt().mean(-1).cpu()
    upper = torch.triu(out, diagonal=1)
    return upper + upper.T


class JensenShannonAccumulator:
    """Mean over examples of `head_js_distances`: a heads x heads distance matrix [L*H, L*H]."""

    def __init__(self) -> None:
        self.total: torch.Tensor | None = None
        self.count = 0

    def add(self, attention: torch.Tensor, valid: torch.Tensor | None = None) -> None:
        self.add_distances(head_js_distances(attention, valid))

    def add_distances(self, distances: torch.Tensor) -> None:
        """Add one example's `head_js_distances`."""
        self.total = distances if self.total is None else self.total + distances
        self.count += 1

    def matrix(self) -> torch.Tensor:
        if self.total is None:
            raise ValueError("no example added")
        return (self.total / self.count).float()


def classical_mds(distances: np.ndarray | torch.Tensor, dims: int = 2) -> np.ndarray:
    """Classical (Torgerson) MDS: coordinates [N, dims] whose Euclidean distances approximate `distances`.

    B = -1/2 J D^2 J with J = I - 11^T/N; coordinates = top eigenvectors of B scaled by the square
    root of their (non-negative) eigenvalues. Signs of the axes are arbitrary (fixed here so that the
    largest-magnitude coordinate on each axis is positive).
    """
    d = np.asarray(distances, dtype=np.float64)
    n = d.shape[0]
    centering = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * centering @ (d**2) @ centering
    eigenvalues, eigenvectors = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(eigenvalues)[::-1][:dims]
    coords = eigenvectors[:, order] * np.sqrt(np.clip(eigenvalues[order], 0, None))
    for axis in range(coords.shape[1]):
        if coords[np.argmax(np.abs(coords[:, axis])), axis] < 0:
            coords[:, axis] *= -1
    if coords.shape[1] < dims:
        coords = np.pad(coords, ((0, 0), (0, dims - coords.shape[1])))
    return coords


# --- fine-tuned vs pretrained: how far fine-tuning moved each head ------------------------------


def row_js_divergence(first: torch.Tensor, second: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over valid query rows of JSD_base2(first row || second row): [..., L, H, T, T] -> [..., L, H].

    The two attentions come from two models on the same input (fine-tuned and pretrained), so
    row q of one and row q of the other are distributions over the same keys. JSD(p, q) =
    H((p + q) / 2) - (H(p) + H(q)) / 2 in bits, in [0, 1]: 0 for identical rows, 1 for rows
    with disjoint support. valid [..., T] marks the real (non-padding) tokens: only their rows
    count; padded keys carry 0 attention in both models and add nothing. NaN when no row is valid.
    """
    divergence = js_divergence_rows(first.float(), second.float())  # [..., L, H, T]
    if valid is None:
        return divergence.mean(-1)
    weights = valid.to(divergence.dtype)[..., None, None, :]
    return (divergence * weights).sum(-1) / weights.sum(-1)


# --- most typical examples per head ------------------------------------------------------------


class TopExamples:
    """Per statistic and head, the `k` examples with the highest score, kept as tensors [k, L, H].

    `add(name, scores [B, L, H], index [B])` merges a batch into the running top-k with one topk
    over k + B rows (NaN scores never enter); memory is O(statistics * k * L * H) whatever the
    dataset size.
    """

    def __init__(self, k: int = 3) -> None:
        self.k = k
        self.values: dict[str, torch.Tensor] = {}
        self.index: dict[str, torch.Tensor] = {}

    def add(self, name: str, scores: torch.Tensor, index: torch.Tensor | list[int]) -> None:
        if self.k <= 0:
            return
        scores = scores.detach().float().cpu()
        index = torch.as_tensor(index, dtype=torch.long).view(-1, *([1] * (scores.dim() - 1))).expand(scores.shape)
        scores = torch.nan_to_num(scores, nan=float("-inf"))
        if name in self.values:
            scores = torch.cat([self.values[name], scores])
            index = torch.cat([self.index[name], index])
        self._keep(name, scores, index)

    def _keep(self, name: str, scores: torch.Tensor, index: torch.Tensor) -> None:
        top = scores.topk(min(self.k, scores.shape[0]), dim=0)
        self.values[name] = top.values
        self.index[name] = index.gather(0, top.indices)

    def add_all(self, scores: dict[str, torch.Tensor], index: torch.Tensor | list[int]) -> None:
        """`add` of every statistic of a batch; statistics of one shape whose running top-k are alike (all new, or
        all of one size) are stacked, so that one topk over [S, k + B, ...] keeps each one's top-k."""
        shapes = {value.shape for value in scores.values()}
        kept = {self.values[name].shape if name in self.values else None for name in scores}
        if self.k <= 0 or len(scores) < 2 or len(shapes) > 1 or len(kept) > 1:
            for name, value in scores.items():
                self.add(name, value, index)
            return
        stacked = torch.nan_to_num(torch.stack(list(scores.values())).detach().float().cpu(), nan=float("-inf"))
        index = torch.as_tensor(index, dtype=torch.long).view(1, -1, *([1] * (stacked.dim() - 2))).expand(stacked.shape)
        names = list(scores)
        if names[0] in self.values:
            stacked = torch.cat([torch.stack([self.values[name] for name in names]), stacked], dim=1)
            index = torch.cat([torch.stack([self.index[name] for name in names]), index], dim=1)
        top = stacked.topk(min(self.k, stacked.shape[1]), dim=1)
        for name, values, chosen in zip(names, top.values, index.gather(1, top.indices)):
            self.values[name], self.index[name] = values, chosen

    def merge(self, other: TopExamples) -> None:
        """The top-k of both, as if `other`'s examples had been added after this one's."""
        for name, values in other.values.items():
            index = other.index[name]
            if name in self.values:
                values, index = torch.cat([self.values[name], values]), torch.cat([self.index[name], index])
            self._keep(name, values, index)

    def head(self, name: str, layer: int, head: int) -> list[tuple[int, float]]:
        """[(example index, score)] best first; examples whose score was NaN are absent."""
        if name not in self.values:
            return []
        values, index = self.values[name][:, layer, head], self.index[name][:, layer, head]
        return [(int(i), float(v)) for v, i in zip(values.tolist(), index.tolist()) if v != float("-inf")]

"""Agreement of one input's head rows with every method's scores, compiled (numba): the live path.

A live inspection compares ~72-144 head rows with one to four attributions over ~40 tokens. In
torch that is ~30 small operations (0.7 ms in a request, most of it per-operation overhead and
mispredicted branches of sign comparisons); here it is one pass in registers: per head row, the
pairwise signs of its compared tokens (branch-free), their sums (Spearman: a token's average rank
is (sum of its signs + n + 1) / 2 and Pearson's correlation ignores that affine map) and their
products with each method's signs (Kendall's tau-b numerator), then each top-k overlap.

The definitions are agreement.py's (which the dataset path computes batched in torch): the same
values, top-k ties included (both break them by position, first tokens first).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _sign(a, b):
    """-1, 0 or 1 as an integer: integer sums vectorise (float ones may not be reordered)."""
    return np.int32(a > b) - np.int32(a < b)


@numba.njit(cache=True, nogil=True)
def _top_positions(values, keep, width, out):
    """The `width` largest of values[keep] as indices into keep, ties to the earlier token."""
    for slot in range(width):
        best = -1
        for a in range(keep.shape[0]):
            taken = False
            for earlier in range(slot):
                taken = taken or out[earlier] == a
            if not taken and (best < 0 or values[keep[a]] > values[keep[best]]):
                best = a
        out[slot] = best


@numba.njit(cache=True, nogil=True)
def _method_sides(scores, keep, width):
    """Per method: pairwise signs [M, n, n], sign sums [M, n] (centred: they sum to 0), their
    squared norm, the untied pair count and the top positions."""
    methods, n = scores.shape[0], keep.shape[0]
    signs = np.empty((methods, n, n), np.int32)
    sums = np.zeros((methods, n), np.int64)
    spread = np.zeros(methods, np.int64)
    untied = np.zeros(methods, np.int64)
    tops = np.empty((methods, width), np.int64)
    for m in range(methods):
        for a in range(n):
            for b in range(n):
                signs[m, a, b] = _sign(scores[m, keep[a]], scores[m, keep[b]])
                sums[m, a] += signs[m, a, b]
                untied[m] += signs[m, a, b] * signs[m, a, b]
            spread[m] += sums[m, a] * sums[m, a]
        _top_positions(scores[m], keep, width, tops[m])
    return signs, sums, spread, untied, tops


@numba.njit(cache=True, nogil=True)
def _agreement(rows, scores, keep, k):
    """rows [R, T] against scores [M, T] over the tokens `keep` (n >= 2): Spearman, Kendall's tau-b
    and top-k overlap, each float32 [M, R] (correlations 0 where either side is constant)."""
    heads, methods, n = rows.shape[0], scores.shape[0], keep.shape[0]
    width = min(k, n)
    signs, sums, spread, untied, tops = _method_sides(scores, keep, width)
    spearman = np.zeros((methods, heads), np.float32)
    kendall = np.zeros((methods, heads), np.float32)
    top_k = np.zeros((methods, heads), np.float32)
    x = np.empty(n, rows.dtype)
    row_sums = np.empty(n, np.int64)
    products = np.empty(methods, np.int64)
    row_top = np.empty(width, np.int64)
    for r in range(heads):
        for a in range(n):
            x[a] = rows[r, keep[a]]
        # the row's signs as _method_sides takes them, but not stored: computed where they are used they
        # vectorise (through a stored [n, n] array, as the methods' side does once, 173 vs 67 us)
        row_spread, row_untied = 0, 0
        products[:] = 0
        for a in range(n):
            total, count = 0, 0
            for b in range(n):
                sign = _sign(x[a], x[b])
                total += sign
                count += sign * sign
            row_sums[a] = total
            row_spread += total * total
            row_untied += count
            for m in range(methods):
                product = 0
                for b in range(n):
                    product += _sign(x[a], x[b]) * signs[m, a, b]
                products[m] += product
        _top_positions(rows[r], keep, width, row_top)
        for m in range(methods):
            if row_spread * spread[m] > 0:
                covariance = 0
                for a in range(n):
                    covariance += row_sums[a] * sums[m, a]
                spearman[m, r] = covariance / np.sqrt(float(row_spread) * float(spread[m]))
            if row_untied * untied[m] > 0:
                kendall[m, r] = products[m] / np.sqrt(float(row_untied) * float(untied[m]))
            hits = 0
            for a in range(width):
                for b in range(width):
                    hits += row_top[a] == tops[m, b]
            top_k[m, r] = hits / width
    return spearman, kendall, top_k


@numba.njit(cache=True, nogil=True)
def _head_rows(attention, query):
    """[L * H, T]: each head's attention row from the query tokens (their mean row), in float64."""
    layers, heads, length = attention.shape[0], attention.shape[1], attention.shape[3]
    rows = np.zeros((layers * heads, length))
    for layer in range(layers):
        for head in range(heads):
            for q in query:
                for t in range(length):
                    rows[layer * heads + head, t] += attention[layer, head, q, t]
    return rows / query.shape[0]


@numba.njit(cache=True, nogil=True)
def _agreement_of_heads(attention, query, scores, keep, k):
    return _agreement(_head_rows(attention, query), scores, keep, k)


def agreement_of_rows(
    rows: np.ndarray, scores: np.ndarray, keep: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spearman, Kendall and top-k of rows [R, T] against scores [M, T] (compared in the rows' dtype)
    over the token indices `keep` (at least two), each float32 [M, R]."""
    return _agreement(
        np.ascontiguousarray(rows),
        np.ascontiguousarray(scores, dtype=rows.dtype),
        np.ascontiguousarray(keep, dtype=np.int64),
        k,
    )


def agreement_of_heads(
    attention: np.ndarray, query: np.ndarray, scores: np.ndarray, keep: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """agreement_of_rows for every head of attention [L, H, T, T] (float32), its row the mean of the
    query tokens' rows (float64), against scores [M, T] (float64), each float32 [M, L * H]."""
    if attention.dtype != np.float32 or not attention.flags.c_contiguous:
        attention = np.ascontiguousarray(attention, dtype=np.float32)
    return _agreement_of_heads(attention, query.astype(np.int64), scores.astype(np.float64), keep.astype(np.int64), k)


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the kernels of the live path and the tests' float64 rows:
    run by `make install`."""
    for dtype in (np.float32, np.float64):
        agreement_of_rows(np.zeros((1, 2), dtype), np.zeros((1, 2), dtype), np.arange(2), 3)
    agreement_of_heads(np.zeros((1, 1, 2, 2), np.float32), np.zeros(1), np.zeros((1, 2)), np.arange(2), 3)

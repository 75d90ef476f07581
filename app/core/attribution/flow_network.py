"""The flow network of an attention, in integers: built for the solver, and rebuilt for scipy.

* attention_capacities: attention [L, H, T, T] -> the layered network flow_solver.layered_max_flows
  solves (graph.flow_capacities says what it stands for), in one compiled pass: after the forward
  pass every separate numpy or torch operation costs ~10 us (caches are cold), a dozen of them
  more than this whole pass;
* scipy_max_flows: the same network as a scipy CSR matrix and scipy's general maximum_flow once per
  first-layer node: the reference the tests and the bench check the solver against.

No function here calls another compiled one: numba's cache notices a change to this file only.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def attention_capacities(attention, query, scale):
    """The flow network of attention [L, H, T, T] (float32) from the query tokens, in integer units
    (`scale` per unit; graph.flow_capacities says what it is): capacity [L-1, T, T] with
    capacity[l, j, i] = rint(scale * R_l[i, j]), R_l = 0.5 * head mean + 0.5 * I, and to_sink [T]
    = rint(scale * sum over query tokens q of R_L[q, j]). One pass, the head mean in float64."""
    layers, heads, length = attention.shape[0], attention.shape[1], attention.shape[2]
    summed = np.zeros((layers, length, length))
    for layer in range(layers):
        for head in range(heads):
            for i in range(length):
                for j in range(length):
                    summed[layer, i, j] += attention[layer, head, i, j]
    weight, half = 0.5 * scale / heads, 0.5 * scale
    capacity = np.empty((max(layers - 1, 0), length, length), np.int64)
    for layer in range(layers - 1):
        for i in range(length):
            for j in range(length):
                capacity[layer, j, i] = np.int64(np.rint(summed[layer, i, j] * weight + (half if i == j else 0.0)))
    to_sink = np.zeros(length, np.int64)
    for j in range(length):
        total = 0.0
        for q in query:
            total += summed[layers - 1, q, j] * weight + (half if q == j else 0.0)
        to_sink[j] = np.int64(np.rint(total))
    return capacity, to_sink


def scipy_max_flows(capacity: np.ndarray, to_sink: np.ndarray) -> list[int]:
    """The reference the tests and the bench check against: the same network as a scipy CSR matrix
    (nodes layer by layer, then the sink), scipy's general maximum_flow once per first-layer node."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    layers, length, _ = capacity.shape
    tail, head = np.meshgrid(np.arange(length), np.arange(length), indexing="ij")
    rows = [layer * length + tail.ravel() for layer in range(layers)] + [layers * length + np.arange(length)]
    cols = [(layer + 1) * length + head.ravel() for layer in range(layers)] + [np.full(length, (layers + 1) * length)]
    caps = [capacity[layer].ravel() for layer in range(layers)] + [to_sink]
    size = (layers + 1) * length + 1
    matrix = csr_matrix(
        (np.concatenate(caps).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )
    return [maximum_flow(matrix, source, size - 1).flow_value for source in range(length)]


def compile_kernels() -> None:
    """Compile attention_capacities, or load it from numba's cache (`make install`)."""
    attention_capacities(np.full((2, 1, 2, 2), 0.5, np.float32), np.zeros(1, np.int64), 4.0)

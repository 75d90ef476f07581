"""Attention flow's maximum flows: the way into the compiled solver (maxflow.py), and its compilation.

A general solver is wasteful on the dense layered graph of attention flow: scipy's maximum_flow solves
one source per call and rebuilds its residual graph (reverse arcs, a new CSR matrix, the flow matrix
it returns) on every call, 15 ms for the 40 sources of a 40-token, 6-layer input; maxflow.py takes
~0.9 ms on one thread. The sources are split over numba's threads, not Python threads (with GNU
OpenMP where it is installed: measured right after a torch operation, 1.2 ms on 2 threads where
Python threads took 3 ms, torch's OpenMP workers still spinning).
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from app.core.attribution import maxflow

_parallel = threading.Lock()  # numba's fallback thread pool (workqueue) must not be entered twice at once


def layered_max_flows(capacity: np.ndarray, to_sink: np.ndarray, threads: int = 1) -> np.ndarray:
    """Maximum flow from each first-layer node to the sink of a dense layered graph.

    capacity: integers [K, T, T], capacity[k, j, i] on the arc (k, j) -> (k + 1, i); to_sink: integers
    [T] on the arcs (K, i) -> sink. Returns int64 [T], the value from each node (0, j), the nodes
    shared among `threads` threads (numba's, at most numba.config.NUMBA_NUM_THREADS).
    """
    capacity = np.ascontiguousarray(capacity, dtype=np.int64)
    to_sink = np.ascontiguousarray(to_sink, dtype=np.int64)
    # numba.config sets its NUMBA_* settings at import, from the environment: mypy cannot see them
    threads = max(1, min(threads, numba.config.NUMBA_NUM_THREADS, to_sink.shape[0]))  # type: ignore[attr-defined]
    if threads == 1:
        values = maxflow.solve(capacity, to_sink, 1)
    else:
        with _parallel:
            if numba.get_num_threads() != threads:
                numba.set_num_threads(threads)
            values = maxflow.solve(capacity, to_sink, threads)
    if values is None:
        raise ValueError("capacities must be non-negative and fit in 32 bits")
    return values


def compile_kernels() -> None:
    """Compile the entry points on a tiny network, or load them from numba's cache: `make install`
    runs this (`python -m app.core.attribution`) so that no live request waits for the compiler
    (~15 s for the parallel kernel)."""
    capacity, to_sink = np.ones((1, 2, 2), np.int64), np.ones(2, np.int64)
    layered_max_flows(capacity, to_sink, threads=1)
    layered_max_flows(capacity, to_sink, threads=2)

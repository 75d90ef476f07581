"""The thumbnails' max-pooling on the CPU, compiled (numba): one pass over a long input's attention.

A 12 x 12 model on a 475-token pair holds 32 M attention weights (130 MB). Pooling them to 42 x 42
cells a head with torch needs a gathered copy of the whole tensor (its blocks are of unequal length,
so no view or pooling op fits them exactly) and two reductions over it: ~0.5 s on the shared 2-core
machine. Here each weight is read once, in memory order, and each block's maximum kept in a register
(~40 ms for the same tensor); `max_pooled` (attention.py) uses it for CPU tensors and torch elsewhere,
with the same blocks and the same values.

`python -m app.core.model.pooling_kernel` compiles it into numba's cache (`make install`), so that no
inspection waits for the compiler.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def pool_blocks(attention: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """[N, T, T] float32 -> [N, S, S]: the largest weight of each block of queries x keys, block b
    holding the tokens starts[b] .. starts[b + 1] - 1 (S = len(starts) - 1)."""
    count, side = attention.shape[0], len(starts) - 1
    out = np.zeros((count, side, side), np.float32)
    for i in range(count):
        for row in range(side):
            for query in range(starts[row], starts[row + 1]):
                for col in range(side):
                    largest = out[i, row, col]
                    for key in range(starts[col], starts[col + 1]):
                        if attention[i, query, key] > largest:
                            largest = attention[i, query, key]
                    out[i, row, col] = largest
    return out


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the kernel for float32 attention."""
    pool_blocks(np.zeros((1, 2, 2), np.float32), np.array([0, 1, 2], np.int64))


if __name__ == "__main__":
    compile_kernels()

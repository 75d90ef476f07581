"""Maximum flow on a dense layered graph, from every node of its first layer to one sink (attention flow).

Node (k, i) of layer k has an arc to every node (k + 1, i') and the last layer's nodes an arc to the
sink. A general solver is wasteful there: scipy's maximum_flow solves one source per call and
rebuilds its residual graph (reverse arcs, a new CSR matrix, the flow matrix it returns) on every
call, 17 ms for the 40 sources of a 40-token, 6-layer input; this takes ~2 ms on one thread. It is
Dinic's algorithm on dense arrays, compiled by numba:

* the residual graph is one [nodes, 2T] array copied from a template per source: no graph is built;
* the first phase needs no breadth-first search: every node of layer k is k arcs from the source,
  which is what the search would find (any levels give valid augmentations; later phases search),
  and no arc back to a previous layer can climb a level then, so none is scanned;
* a source stops as soon as its flow reaches an upper bound: all its out-capacity, all the sink's
  in-capacity, or the value for it of a minimum cut found for an earlier source (see _max_flows);
  a flow that reaches a cut's value is maximal, so the last search, which would find no path, is
  saved: in attention graphs a few cuts serve most tokens;
* the sources are split over numba's threads (with GNU OpenMP where it is installed: measured right
  after a torch operation, 1.2 ms on 2 threads where Python threads took 3 ms, torch's OpenMP
  workers still spinning).

Capacities are integers: the values are exact, equal to any exact max-flow's on those integers.
Arcs are numbered per node: 0..T-1 forward to the next layer's tokens (in the last layer, arc 0 is
the one to the sink), T..2T-1 back to the previous layer's tokens (residual = the flow they sent).
"""

from __future__ import annotations

import threading

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _residual_template(capacity, to_sink):
    """Residual capacity of every node's arcs before any flow: [nodes without the sink, 2T]. Row of
    node (k, j): forward arcs 0..T-1 (to (k + 1, i); in the last layer only arc 0, to the sink), then
    the reverse arcs T..2T-1 (to (k - 1, j')), empty until flow passes."""
    top, length = capacity.shape[0], to_sink.shape[0]
    residual = np.zeros(((top + 1) * length, 2 * length), np.int32)  # half the memory int64 would touch
    for layer in range(top):
        for token in range(length):
            residual[layer * length + token, :length] = capacity[layer, token]
    for token in range(length):
        residual[top * length + token, 0] = to_sink[token]
    return residual


@_jit
def _push(residual, node, index, head, amount, length):
    """Send `amount` along arc `index` of `node` (leading to `head`) and credit its reverse arc (none
    for arcs into the sink: no path leaves it). The tokens come from the arc's index and the two
    nodes, with no division: forward, node's token is node - head + index + T; back, node - head +
    index - 2T."""
    residual[node, index] -= amount
    if index >= length:
        residual[head, node - head + index - 2 * length] += amount
    elif head < residual.shape[0]:
        residual[head, node - head + index] += amount


@_jit
def _search(residual, source, level, queue, layer_of, length, top):
    """Breadth-first levels from the source over residual arcs; True when the sink is reached."""
    sink = (top + 1) * length
    level[:] = -1
    level[source] = 0
    queue[0] = source
    head, tail = 0, 1
    while head < tail:
        node = queue[head]
        head += 1
        if level[sink] >= 0 and level[node] >= level[sink]:
            break  # every shortest path is labelled
        ahead, behind = (layer_of[node] + 1) * length, (layer_of[node] - 2) * length
        for index in range(2 * length):
            if residual[node, index] > 0:
                to = ahead + index if index < length else behind + index
                if level[to] < 0:
                    level[to] = level[node] + 1
                    queue[tail] = to
                    tail += 1
    return level[sink] >= 0


@_jit
def _blocking_flow(residual, source, level, current, path_nodes, path_arcs, layer_of, length, top, wanted, forward):
    """Augment along level-increasing residual paths until none is left (current-arc pointers) or
    `wanted` is reached; the value added. forward: the levels are the layers (the first phase), so no
    arc back to the previous layer climbs a level and none is looked at."""
    sink = (top + 1) * length
    current[:] = 0
    added = 0
    depth = 0
    node = source
    while added < wanted:
        if node == sink:
            amount = residual[path_nodes[0], path_arcs[0]]
            for step in range(1, depth):
                amount = min(amount, residual[path_nodes[step], path_arcs[step]])
            saturated = -1
            path_nodes[depth] = sink
            for step in range(depth):
                _push(residual, path_nodes[step], path_arcs[step], path_nodes[step + 1], amount, length)
                if saturated < 0 and residual[path_nodes[step], path_arcs[step]] == 0:
                    saturated = step
            added += amount
            depth = saturated  # resume from the tail of the first saturated arc: the path up to it still leads on
            node = path_nodes[depth]
            continue
        want = level[node] + 1
        # arc i < T leads to ahead + i (the next layer's token i; from the last layer, arc 0 to the
        # sink), arc i >= T to behind + i (the previous layer's token i - T)
        ahead, behind = (layer_of[node] + 1) * length, (layer_of[node] - 2) * length
        index = current[node]
        head = -1
        while index < length:
            if residual[node, index] > 0 and level[ahead + index] == want:
                head = ahead + index
                break
            index += 1
        if head < 0 and forward:
            index = 2 * length
        elif head < 0:
            while index < 2 * length:
                if residual[node, index] > 0 and level[behind + index] == want:
                    head = behind + index
                    break
                index += 1
        current[node] = index
        if head >= 0:
            path_nodes[depth] = node
            path_arcs[depth] = index
            depth += 1
            node = head
        elif depth == 0:
            return added
        else:
            level[node] = -1  # a dead end for the rest of the phase
            depth -= 1
            node = path_nodes[depth]
            current[node] += 1
    return added


@_jit
def _inner_cut(template, reached, length, top):
    """Capacity of the arcs from reached to unreached nodes among layers 1..top and the sink (the part
    of a cut that does not depend on the source)."""
    value = 0
    for node in range(length, (top + 1) * length):
        if reached[node]:
            ahead = (node // length + 1) * length  # the last layer's arc 0 leads to the sink, unreached
            for index in range(length):
                if template[node, index] > 0 and not reached[ahead + index]:
                    value += template[node, index]
    return value


@_jit
def _max_flows(capacity, to_sink, sources):
    """The max-flow from each source. A source stops when its flow reaches an upper bound: all its
    out-capacity, all the sink's in-capacity, or the value for it of a minimum cut found for an
    earlier source (the nodes reachable from that source in its final residual graph): a cut's
    arcs above layer 1 are the same for every source, only the source's own arcs into the
    unreached layer-1 nodes differ, and in attention graphs a few cuts serve most tokens."""
    length = to_sink.shape[0]
    top = capacity.shape[0]
    nodes = (top + 1) * length + 1
    template = _residual_template(capacity, to_sink)
    residual = np.empty_like(template)
    level = np.empty(nodes, np.int64)
    queue = np.empty(nodes, np.int64)
    current = np.empty(nodes, np.int64)
    path_nodes = np.empty(nodes, np.int64)
    path_arcs = np.empty(nodes, np.int64)
    layer_of = np.arange(nodes) // length  # the first phase's levels (the sink's is top + 1)
    cut_inner = np.empty(sources.shape[0], np.int64)  # the minimum cuts found so far
    cut_unreached = np.zeros((sources.shape[0], length), np.bool_)  # their unreached layer-1 nodes
    cuts = 0
    into_sink = to_sink.sum()
    values = np.zeros(sources.shape[0], np.int64)
    for k in range(sources.shape[0]):
        source = sources[k]
        residual[:] = template
        bound = min(into_sink, template[source].sum())
        if top > 0:
            for cut in range(cuts):
                value = cut_inner[cut]
                for token in range(length):
                    if cut_unreached[cut, token]:
                        value += capacity[0, source, token]
                bound = min(bound, value)
        level[:] = layer_of
        total = _blocking_flow(residual, source, level, current, path_nodes, path_arcs, layer_of, length, top, bound, True)
        while total < bound:
            if not _search(residual, source, level, queue, layer_of, length, top):
                if top > 0:  # the search reached exactly the source side of a minimum cut
                    reached = level >= 0
                    cut_inner[cuts] = _inner_cut(template, reached, length, top)
                    cut_unreached[cuts] = ~reached[length:2 * length]
                    cuts += 1
                break
            total += _blocking_flow(residual, source, level, current, path_nodes, path_arcs, layer_of, length, top, bound - total, False)
        values[k] = total
    return values


@numba.njit(cache=True, nogil=True, parallel=True)
def _max_flows_in_parts(capacity, to_sink, parts):
    """Every first-layer node's max-flow, the nodes dealt into `parts` interleaved shares (costly
    sources spread) solved in parallel on numba's threads."""
    length = to_sink.shape[0]
    values = np.zeros(length, np.int64)
    for part in numba.prange(parts):
        share = np.arange(part, length, parts)
        found = _max_flows(capacity, to_sink, share)
        for k in range(share.shape[0]):
            values[share[k]] = found[k]
    return values


_parallel = threading.Lock()  # numba's fallback thread pool (workqueue) must not be entered twice at once


def layered_max_flows(capacity: np.ndarray, to_sink: np.ndarray, threads: int = 1) -> np.ndarray:
    """Maximum flow from each first-layer node to the sink of a dense layered graph.

    capacity: integers [K, T, T], capacity[k, j, i] on the arc (k, j) -> (k + 1, i); to_sink: integers
    [T] on the arcs (K, i) -> sink. Returns int64 [T], the value from each node (0, j), the nodes
    shared among `threads` threads (numba's, at most numba.config.NUMBA_NUM_THREADS).
    """
    if min(capacity.min(initial=0), to_sink.min(initial=0)) < 0 or max(capacity.max(initial=0), to_sink.max(initial=0)) >= 2 ** 31:
        raise ValueError("capacities must be non-negative and fit in 32 bits")
    capacity = np.ascontiguousarray(capacity, dtype=np.int64)
    to_sink = np.ascontiguousarray(to_sink, dtype=np.int64)
    threads = max(1, min(threads, numba.config.NUMBA_NUM_THREADS, to_sink.shape[0]))
    if threads == 1:
        return _max_flows(capacity, to_sink, np.arange(to_sink.shape[0], dtype=np.int64))
    with _parallel:
        numba.set_num_threads(threads)
        return _max_flows_in_parts(capacity, to_sink, threads)


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
    matrix = csr_matrix((np.concatenate(caps).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(size, size))
    return [maximum_flow(matrix, source, size - 1).flow_value for source in range(length)]


def compile_kernels() -> None:
    """Compile both entry points on a tiny network, or load them from numba's cache: `make install`
    runs this so that no live request waits for the compiler (~13 s for the parallel kernel)."""
    capacity, to_sink = np.ones((1, 2, 2), np.int64), np.ones(2, np.int64)
    layered_max_flows(capacity, to_sink, threads=1)
    layered_max_flows(capacity, to_sink, threads=2)


if __name__ == "__main__":
    compile_kernels()

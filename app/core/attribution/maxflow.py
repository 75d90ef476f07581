"""Maximum flow on a dense layered graph, from every node of its first layer to one sink (attention flow).

Node (k, i) of layer k has an arc to every node (k + 1, i'), the last layer's nodes an arc to the sink.
The compiled kernels (numba) of Dinic's algorithm on dense arrays, all of it one call (`solve`;
flow_solver.py is the way in):

* one [nodes, 2T] residual array; per source only its forward half is reset from a template;
* the first phase (almost all the flow) is a depth-first blocking flow whose levels are the layers:
  no search, no arc back scanned or credited (a later phase rebuilds the backward half from the flow);
* arcs are found by bits: each node's residual arcs are word masks (T <= 128: two words), so its next
  admissible arc is the first set bit of (its arcs & the next level's live nodes), and a
  breadth-first search labels a word of a layer at once;
* tokens are numbered, in every layer, sink-first (_sink_first_order): paths try those columns first;
* a source stops at an upper bound: its out-capacity, the sink's in-capacity, or an earlier source's
  minimum cut (_max_flows): a flow that reaches a cut's value is maximal, so the last search is saved;
* the sources are split over numba's threads (_max_flows_in_parts).

Integer capacities: exact values. A node's arcs: 0..T-1 forward to the next layer (the last layer's arc
0: the sink), T..2T-1 back to the previous one; a token is its position in the sink-first order. Every
kernel the solver calls is in this file: numba's cache sees changes to a function's own file only.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

_jit = numba.njit(cache=True, nogil=True)
_ONE = np.uint64(1)


@_jit
def _residual_template(capacity, to_sink, order):
    """Residual capacity of every node's arcs before any flow, [nodes without the sink, 2T], the tokens
    numbered by `order` (position p is token order[p]); reverse arcs empty until flow passes."""
    top, length = capacity.shape[0], to_sink.shape[0]
    residual = np.zeros(((top + 1) * length, 2 * length), np.int32)  # half the memory int64 would touch
    for layer in range(top):
        for tail in range(length):
            for head in range(length):
                residual[layer * length + tail, head] = capacity[layer, order[tail], order[head]]
    for token in range(length):
        residual[top * length + token, 0] = to_sink[order[token]]
    return residual


@_jit
def _set_bit(bits, row, index):
    bits[row, index >> 6] |= _ONE << np.uint64(index & 63)


@_jit
def _clear_bit(bits, row, index):
    bits[row, index >> 6] &= ~(_ONE << np.uint64(index & 63))


@_jit
def _first_bit(arcs, nodes):
    """The first index set in both word rows, or -1."""
    for word in range(arcs.shape[0]):
        both = arcs[word] & nodes[word]
        if both != 0:
            return word * 64 + trailing_zeros(both)
    return -1


@_jit
def _bottleneck(residual, path_nodes, path_arcs, depth):
    """The least residual capacity along the path's `depth` arcs: what it can carry."""
    amount = residual[path_nodes[0], path_arcs[0]]
    for step in range(1, depth):
        amount = min(amount, residual[path_nodes[step], path_arcs[step]])
    return amount


@_jit
def _forward_masks(template, length, top):
    """[nodes, words]: bit i set where forward arc i has capacity (the last layer's bit 0: the sink's)."""
    masks = np.zeros(((top + 1) * length, (length + 63) // 64), np.uint64)
    for node in range((top + 1) * length):
        for index in range(length):
            if template[node, index] > 0:
                _set_bit(masks, node, index)
    return masks


@_jit
def _first_phase(residual, masks, live, source, path_nodes, path_arcs, length, top, wanted):
    """The first phase's blocking flow (levels = layers, depth = layer) until no path is left or `wanted`
    is reached; the value found. Only forward residuals change; masks[node]: its unsaturated forward
    arcs, live[k]: layer k's nodes not found dead ends. After an augmentation the search resumes from
    the tail of the first saturated arc: the path up to it still leads on."""
    sink = (top + 1) * length
    added = 0
    depth = 0
    node = source
    while added < wanted:
        if node == sink:
            amount = _bottleneck(residual, path_nodes, path_arcs, depth)
            saturated = -1
            for step in range(depth):
                tail, index = path_nodes[step], path_arcs[step]
                residual[tail, index] -= amount
                if residual[tail, index] == 0:
                    _clear_bit(masks, tail, index)
                    if saturated < 0:
                        saturated = step
            added += amount
            depth = saturated
            node = path_nodes[depth]
            continue
        head, index = -1, 0
        if depth == top:
            if residual[node, 0] > 0:
                head = sink
        else:
            index = _first_bit(masks[node], live[depth + 1])
            if index >= 0:
                head = (depth + 1) * length + index
        if head >= 0:
            path_nodes[depth] = node
            path_arcs[depth] = index
            depth += 1
            node = head
        elif depth == 0:
            return added
        else:  # a dead end for the rest of the phase
            _clear_bit(live, depth, node - depth * length)
            depth -= 1
            node = path_nodes[depth]
    return added


@_jit
def _credit_reverse_arcs(residual, template, behind, length, top):
    """Every arc's flow (template - residual) as the residual of its reverse arc, stored at its head,
    and behind[node] = the node's reverse arcs with residual (the layer below's tokens that sent flow)."""
    behind[:] = 0
    for layer in range(top):
        for tail in range(length):
            node = layer * length + tail
            for index in range(length):
                flow = template[node, index] - residual[node, index]
                residual[(layer + 1) * length + index, length + tail] = flow
                if flow > 0:
                    _set_bit(behind, (layer + 1) * length + index, tail)


@_jit
def _send(residual, ahead, behind, node, index, amount, length, top):
    """Send `amount` along arc `index` of `node`, credit its reverse arc (none for the sink's arcs),
    and keep both masks of residual arcs (ahead: forward, behind: reverse) in step."""
    layer = node // length
    token = node - layer * length
    residual[node, index] -= amount
    if index < length:
        if residual[node, index] == 0:
            _clear_bit(ahead, node, index)
        if layer < top:
            head = (layer + 1) * length + index
            if residual[head, length + token] == 0:
                _set_bit(behind, head, token)
            residual[head, length + token] += amount
    else:
        if residual[node, index] == 0:
            _clear_bit(behind, node, index - length)
        head = (layer - 1) * length + index - length
        if residual[head, token] == 0:
            _set_bit(ahead, head, token)
        residual[head, token] += amount


@_jit
def _label(arcs, unreached, first_node, next_level, level, queue, tail):
    """Label the unreached nodes of one layer that `arcs` lead to; the new queue length."""
    for word in range(arcs.shape[0]):
        found = arcs[word] & unreached[word]
        unreached[word] &= ~found
        while found != 0:
            node = first_node + word * 64 + trailing_zeros(found)
            found &= found - _ONE
            level[node] = next_level
            queue[tail] = node
            tail += 1
    return tail


@_jit
def _search(ahead, behind, source, level, queue, unreached, length, top):
    """Breadth-first levels from the source over residual arcs, a layer's unreached nodes taken a word
    at a time; True when the sink is reached."""
    sink = (top + 1) * length
    level[:] = -1
    level[source] = 0
    unreached[:] = ~np.uint64(0)
    _clear_bit(unreached, 0, source)
    queue[0] = source
    head, tail = 0, 1
    while head < tail:
        node = queue[head]
        head += 1
        if level[sink] >= 0 and level[node] >= level[sink]:
            break  # every shortest path is labelled
        layer = node // length
        if layer == top:
            if ahead[node, 0] & _ONE and level[sink] < 0:
                level[sink] = level[node] + 1
        else:
            tail = _label(ahead[node], unreached[layer + 1], (layer + 1) * length, level[node] + 1, level, queue, tail)
        if layer > 0:
            tail = _label(behind[node], unreached[layer - 1], (layer - 1) * length, level[node] + 1, level, queue, tail)
    return level[sink] >= 0


@_jit
def _level_sets(level, frontier, length, top):
    """frontier[d, k]: the layer-k nodes at level d, for the levels a path to the sink can pass."""
    goal = level[(top + 1) * length]
    frontier[1:goal] = 0
    for node in range((top + 1) * length):
        if 0 < level[node] < goal:
            layer = node // length
            _set_bit(frontier[level[node]], layer, node - layer * length)


@_jit
def _blocking_flow(residual, ahead, behind, frontier, level, source, path_nodes, path_arcs, length, top, wanted):
    """A later phase: augment along level-increasing residual paths (forward and back) until none is left
    or `wanted` is reached; the value added. Next arc: the first bit of (residual arcs & the next
    level's live nodes) above or below; a dead end leaves its level's set."""
    sink = (top + 1) * length
    goal = level[sink]
    added = 0
    depth = 0
    node = source
    while added < wanted:
        if node == sink:
            amount = _bottleneck(residual, path_nodes, path_arcs, depth)
            saturated = -1
            for step in range(depth):
                _send(residual, ahead, behind, path_nodes[step], path_arcs[step], amount, length, top)
                if saturated < 0 and residual[path_nodes[step], path_arcs[step]] == 0:
                    saturated = step
            added += amount
            depth = saturated
            node = path_nodes[depth]
            continue
        layer = node // length
        want = level[node] + 1
        head, index = -1, -1
        if want == goal:
            if layer == top and ahead[node, 0] & _ONE:
                head, index = sink, 0
        else:
            if layer < top:
                index = _first_bit(ahead[node], frontier[want, layer + 1])
                if index >= 0:
                    head = (layer + 1) * length + index
            if head < 0 and layer > 0:
                index = _first_bit(behind[node], frontier[want, layer - 1])
                if index >= 0:
                    head = (layer - 1) * length + index
                    index += length
        if head >= 0:
            path_nodes[depth] = node
            path_arcs[depth] = index
            depth += 1
            node = head
        elif depth == 0:
            return added
        else:  # a dead end for the rest of the phase
            _clear_bit(frontier[level[node]], layer, node - layer * length)
            depth -= 1
            node = path_nodes[depth]
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
def _max_flows(template, length, top, sources):
    """The max-flow from each source (a first-layer node). A source stops when its flow reaches an
    upper bound: all its out-capacity, all the sink's in-capacity, or the value for it of a minimum
    cut found for an earlier source (the nodes reachable from that source in its final residual
    graph): a cut's arcs above layer 1 are the same for every source, only the source's own arcs
    into the unreached layer-1 nodes differ, and in attention graphs a few cuts serve most tokens."""
    nodes = (top + 1) * length + 1
    residual = template.copy()  # the backward halves are rebuilt from the flow before a search reads them
    mask_template = _forward_masks(template, length, top)
    masks = np.empty_like(mask_template)  # forward arcs with residual
    behind = np.empty_like(mask_template)  # reverse arcs with residual (later phases)
    live = np.empty((top + 1, mask_template.shape[1]), np.uint64)
    frontier = np.empty((nodes + 1, top + 1, mask_template.shape[1]), np.uint64)
    level = np.empty(nodes, np.int64)
    queue = np.empty(nodes, np.int64)
    path_nodes = np.empty(nodes, np.int64)
    path_arcs = np.empty(nodes, np.int64)
    cut_inner = np.empty(sources.shape[0], np.int64)  # the minimum cuts found so far
    cut_unreached = np.zeros((sources.shape[0], length), np.bool_)  # their unreached layer-1 nodes
    cuts = 0
    into_sink = 0
    for token in range(length):
        into_sink += template[top * length + token, 0]
    values = np.zeros(sources.shape[0], np.int64)
    for k in range(sources.shape[0]):
        source = sources[k]
        residual[:, :length] = template[:, :length]
        bound = min(into_sink, template[source, :length].astype(np.int64).sum())
        for cut in range(cuts if top > 0 else 0):
            value = cut_inner[cut]
            for token in range(length):
                if cut_unreached[cut, token]:
                    value += template[source, token]
            bound = min(bound, value)
        masks[:] = mask_template
        live[:] = ~np.uint64(0)
        total = _first_phase(residual, masks, live, source, path_nodes, path_arcs, length, top, bound)
        if total < bound:
            _credit_reverse_arcs(residual, template, behind, length, top)
        while total < bound:
            if not _search(masks, behind, source, level, queue, live, length, top):
                if top > 0:  # the search reached exactly the source side of a minimum cut
                    reached = level >= 0
                    cut_inner[cuts] = _inner_cut(template, reached, length, top)
                    cut_unreached[cuts] = ~reached[length : 2 * length]
                    cuts += 1
                break
            _level_sets(level, frontier, length, top)
            added = _blocking_flow(
                residual, masks, behind, frontier, level, source, path_nodes, path_arcs, length, top, bound - total
            )
            if added == 0:
                break  # cannot happen after a search that reached the sink; never loop on it
            total += added
        values[k] = total
    return values


@numba.njit(cache=True, nogil=True, parallel=True)
def _max_flows_in_parts(template, length, top, parts):
    """Every first-layer node's max-flow, the nodes dealt into `parts` interleaved shares (costly
    sources spread) solved in parallel on numba's threads."""
    values = np.zeros(length, np.int64)
    for part in numba.prange(parts):
        share = np.arange(part, length, parts)
        found = _max_flows(template, length, top, share)
        for k in range(share.shape[0]):
            values[share[k]] = found[k]
    return values


@_jit
def _sink_first_order(capacity, to_sink):
    """Tokens by what their last-layer node can pass to the sink (the less of its in- and out-capacity),
    largest first. On the demo model's attention (8 networks, one thread): 0.64 ms a network in this
    order, 0.99 in token order, 1.40 at random, 2.07 smallest first; one order per layer did no better."""
    passing = to_sink.copy()
    if capacity.shape[0] > 0:
        for token in range(to_sink.shape[0]):
            passing[token] = min(to_sink[token], capacity[-1, :, token].sum())
    return np.argsort(-passing, kind="mergesort")  # stable


@_jit
def _in_range(capacity, to_sink):
    for values in (capacity.ravel(), to_sink):
        for value in values:
            if value < 0 or value >= 2**31:
                return False
    return True


@_jit
def solve(capacity, to_sink, parts):
    """Every first-layer node's max-flow in one compiled call (after the forward pass each separate
    numpy or torch operation costs ~10 us: caches are cold); None when a capacity does not fit."""
    if not _in_range(capacity, to_sink):
        return None
    length, top = to_sink.shape[0], capacity.shape[0]
    order = _sink_first_order(capacity, to_sink)
    template = _residual_template(capacity, to_sink, order)
    if parts == 1:
        found = _max_flows(template, length, top, np.arange(length))
    else:
        found = _max_flows_in_parts(template, length, top, parts)
    values = np.empty_like(found)
    values[order] = found
    return values

// The head view's pictures one mass step lower (headview-paint.js keeps them, paints
// them in idle time and shows them). A lower mass has fewer edges, and strokes cannot
// be taken off a canvas: lowering the mass used to mean painting the bands in view
// again. Pruning knows in advance which edges a lower mass keeps (each edge's `et`, the
// smallest mass at which it is kept: attention.js), so each head shown also keeps
// `v.low`, the picture of its edges at mass - 1, painted afresh (one batch, as a fresh
// view would) on canvases of its own. Lowering the mass by one step swaps the two
// pictures (then only composing, as a toggle does); the next lower picture goes on
// the canvases just let go.

import { NK, headEdges } from "./headview-edges.js";

// a variant's fields that make its picture (the one shown, or the one a step lower)
const PICTURE = ["mass", "batches", "used", "m", "cv", "size", "bi", "pos", "clean"];

/** Set variant v's picture one step lower to mass `mass`, of the edges of parts src[0]
 *  (pruned at a higher mass) kept at that mass, for nb bands; made and painted later.
 *  No picture if mass is 0: its canvases go to `pool`. */
export function setLower(v, mass, src, nb, pool) {
  if (!mass) {
    if (v.low) pool.put(v.low.cv);
    v.low = null;
  } else if (!v.low || v.low.mass !== mass) {
    v.low = Object.assign(v.low || { cv: [], size: 0 }, { mass, src, batches: null, used: new Uint8Array(NK), m: 0,
      bi: new Uint16Array(nb), pos: new Uint32Array(nb), clean: new Uint8Array(nb) });
  }
}

/** The edges of picture `low`, if not made yet. */
export function makeLower(low) {
  if (low.batches) return;
  const [ps, rowOf, dx, H] = low.src, E = headEdges(ps, rowOf, dx, H, 0, low.mass);
  Object.assign(low, { batches: [E], used: E.used, m: E.m });
}

/** Variant v shows its picture one step lower (as far as painted), which keeps v's
 *  canvases (and the rest, to be set again by setLower). */
export function swapLower(v) {
  makeLower(v.low);
  const was = {};
  for (const f of PICTURE) { was[f] = v[f]; v[f] = v.low[f]; }
  Object.assign(v.low, was);
}

/** Canvases let go by pictures a step lower, by layer, for others to take: freeing and
 *  allocating 100 MB of them again (12 heads at 256 tokens) costs more than a frame.
 *  All are one size per layer until the painter is resized (then `free`). */
export class Pool {
  constructor(cap) {
    this.cap = cap; // bytes at most, else freed
    this.free();
  }

  free() {
    for (const c of (this.cv || []).flat()) c.width = c.height = 0;
    this.cv = [];
    this.bytes = 0;
  }

  put(cvs) {
    cvs.forEach((c, L) => {
      if (!c) return;
      const size = c.width * c.height * 4;
      if (this.bytes + size > this.cap()) { c.width = c.height = 0; return; }
      (this.cv[L] = this.cv[L] || []).push(c);
      this.bytes += size;
    });
  }

  /** A canvas for layer L (as a picture left it), or null. */
  take(L) {
    const c = this.cv[L] && this.cv[L].pop();
    if (c) this.bytes -= c.width * c.height * 4;
    return c || null;
  }
}

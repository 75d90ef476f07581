// bertviz-style head view on one <canvas>: queries on the left, keys on the
// right, one straight line per kept edge. bertviz emits one SVG element per
// head per token pair; here edges are batched per (head, opacity level) into
// canvas paths, painted once per head and composited (headview-paint.js, which
// also says what is drawn). Token labels are DOM spans (textContent only), so
// hover/click and text safety come for free.
//
// draw() returns the number of edges actually drawn; edges kept by the mass
// pruning but too faint to draw are counted apart (countText). This matters for
// long diffuse inputs: at 285 tokens layer 0 keeps ~280k edges at 70% mass,
// ~180k of them w = 1.
//
// Hovering/pinning a token only re-shows the bands in view: the composed layers
// dimmed, that token's edges stroked on top. Toggling a head re-composes them
// from the heads' own layers; the mass and pair filter re-prune from rows ranked
// once per layer (attention.js) and repaint the bands in view first, but for the
// mass lowered by one step, which shows each head's picture one step lower (painted
// in idle time beforehand) and only re-composes.

import { ROW, K, NL, LEVEL_ALPHA, X_PAD, DIM } from "./headview-edges.js";
import { Painter } from "./headview-paint.js";

const SPAN_NAMES = { aspect_query: "aspect (query)", aspect_term: "aspect term", e1: "entity 1", e2: "entity 2", markers: "entity markers" };
const SPAN_COLORS = ["#fbd46d", "#9be3a0", "#a8c8ff", "#f6a6c8", "#d3b6ff"];

/** Per-head parts of an edge set that has none (a plain {n, eh, eq, ek, ew}): painted
 *  afresh each time, as nothing says which heads kept their edges. */
function split(edges) {
  const by = new Map();
  for (let e = 0; e < (edges.n || 0); e++) {
    const h = edges.eh[e];
    if (!by.has(h)) by.set(h, []);
    by.get(h).push(e);
  }
  return [...by].map(([head, idx]) => ({ head, bytes: edges, base: "", mass: 0, r: { n: idx.length,
    eq: Uint16Array.from(idx, (e) => edges.eq[e]), ek: Uint16Array.from(idx, (e) => edges.ek[e]), ew: Uint8Array.from(idx, (e) => edges.ew[e]) } }));
}

export class HeadView {
  constructor({ left, right, canvas, legend, onPin }) {
    Object.assign(this, { left, right, canvas, legend, onPin });
    this.rowOf = new Int32Array(0); // token index -> row, -1 when hidden
    this.spans = { left: [], right: [] };
    this.rows = 0;
    this.hover = this.pinned = null; // {side, index}
    this.focusKey = "";             // JSON of the focused token ("" = none)
    this.focus = null;              // its edges: {m, g, ya, yb, list: [[head, edge], ...]}
    this.linked = new Set();
    this.colors = [];
    this.paint = new Painter(canvas);
    this.marks = {};                // per side: the classes set on each token span (bits)
    this.dpr = 1;
    const onOver = (e) => {
      const t = e.target.closest(".token");
      if (t) this.setHover({ side: t.dataset.side, index: +t.dataset.index });
    };
    const onClick = (e) => {
      const t = e.target.closest(".token");
      if (t) this.onPin(t.dataset.side, +t.dataset.index);
    };
    for (const col of [left, right]) {
      col.addEventListener("mouseover", onOver);
      col.addEventListener("mouseleave", () => this.setHover(null));
      col.addEventListener("click", onClick);
    }
    // scrolling brings other bands into view: paint/show them first
    const onScroll = () => { if (this.canvas.dataset.complete !== "1") this.paint.kick(); };
    document.addEventListener("scroll", onScroll, { capture: true, passive: true });
    window.addEventListener("resize", onScroll, { passive: true });
  }

  /** Rebuild both token columns (labels, segment/special/gold-span styling). */
  setTokens(resp, hideSpecial) {
    const tokens = resp.tokens, T = tokens.length, spanOf = new Array(T).fill(null);
    const legendItem = (swatch, label) => {
      const item = document.createElement("span"), sw = document.createElement("i");
      Object.assign(sw, swatch);
      item.append(sw, document.createTextNode(label));
      this.legend.append(item);
    };
    this.legend.replaceChildren();
    Object.entries(resp.spans || {}).forEach(([name, idx], s) => {
      if (!Array.isArray(idx) || !idx.length) return;
      const color = SPAN_COLORS[s % SPAN_COLORS.length], label = SPAN_NAMES[name] || name;
      for (const i of idx) if (i >= 0 && i < T) spanOf[i] = { color, label };
      legendItem({ style: "background:" + color }, label);
    });
    if (tokens.some((t) => t.segment === "b")) {
      legendItem({ className: "seg-a" }, "segment A");
      legendItem({ className: "seg-b" }, "segment B");
    }
    this.rowOf = new Int32Array(T).fill(-1);
    this.spans = { left: [], right: [] };
    let rows = 0;
    const frags = { left: new DocumentFragment(), right: new DocumentFragment() };
    tokens.forEach((tok, i) => {
      if (hideSpecial && tok.special) return;
      this.rowOf[i] = rows++;
      for (const side of ["left", "right"]) {
        const el = document.createElement("span");
        el.className = `token seg-${tok.segment}${tok.special ? " special" : ""}${tok.marker ? " marker" : ""}`;
        el.dataset.index = i;
        el.dataset.side = side;
        el.textContent = tok.text;
        el.title = `#${i} · segment ${String(tok.segment).toUpperCase()}${spanOf[i] ? " · " + spanOf[i].label : ""}`;
        if (spanOf[i]) { el.style.background = spanOf[i].color; el.classList.add("gold"); }
        this.spans[side][i] = el;
        frags[side].append(el);
      }
    });
    this.left.replaceChildren(frags.left);
    this.right.replaceChildren(frags.right);
    this.rows = rows;
    this.classKey = null;
    this.marks = {};
    this.hover = this.pinned = null;
    this.dpr = window.devicePixelRatio || 1;
    this.paint.resize(rows, this.dpr);
    this.setEdges({ n: 0, parts: [] }, this.colors); // row positions changed: the caller sets new edges
  }

  /** New pruned edge set ({n, eh, eq, ek, ew, parts} from pruneEdges): heads
   *  whose edges did not change keep their painted layers; show it at once. */
  setEdges(edges, colors) {
    this.colors = colors;
    this.paint.setEdges(edges.parts || split(edges), colors, this.rowOf);
    this.focusKey = null; // recompute the focused token's edges
    this.update(true);
  }

  setHover(h) {
    if (h && this.rowOf[h.index] < 0) h = null;
    if (JSON.stringify(h) === JSON.stringify(this.hover)) return;
    this.hover = h;
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.update(true); });
  }

  setPinned(p) { this.pinned = p && this.rowOf[p.index] >= 0 ? p : null; }

  /** Call fn(head, edges, o) for each drawn edge of the selected heads, in paint
   *  order: layers most stretched first, within a layer head by head, each head's edges
   *  in the order they were painted (weakest level first, then those a higher mass
   *  added, on top); `keep(E, o)`, if given, picks the edges. */
  each(fn, keep) {
    const H = Math.max(1, this.colors.length);
    for (let L = K.length - 1; L >= 0; L--) {
      for (const v of this.paint.sel) {
        for (const E of v.batches) {
          for (let o = E.start[L]; o < E.start[L + 1]; o++) if (!keep || keep(E, o)) fn(Math.floor(E.g[o] / NL) % H, E, o);
        }
      }
    }
  }

  /** Focus (hovered, else pinned token) changed? Collect its edges and mark
   *  the tokens; then show what is in view (at once when `now`). */
  update(now) {
    const focus = this.hover || this.pinned, fk = focus ? JSON.stringify(focus) : "";
    const view = this.paint.inView(); // before the token classes change: no forced layout
    if (fk !== this.focusKey) {
      this.focusKey = fk;
      this.linked = new Set();
      let F = null;
      if (focus) {
        const left = focus.side === "left", list = [], at = focus.index;
        this.each((h, E, o) => { list.push([h, E, o]); this.linked.add((left ? E.k : E.q)[o]); },
          left ? (E, o) => E.q[o] === at : (E, o) => E.k[o] === at);
        const m = list.length;
        F = { m, list, g: new Uint16Array(m), ya: new Float32Array(m), yb: new Float32Array(m) };
        list.forEach(([h, E, o], i) => { F.g[i] = h * NL + (E.g[o] % NL); F.ya[i] = E.ya[o]; F.yb[i] = E.yb[o]; });
      }
      this.focus = F;
      this.paint.setFocus(F);
    }
    this.markTokens(focus, this.linked);
    if (now) this.paint.work(true, null, view);
    else this.paint.kick();
  }

  /** The picture as plain geometry in css px, with the numbers the painter uses:
   *  every drawn edge in paint order from x = X_PAD to width - X_PAD, with its
   *  colour and opacity; `focus` lists the hovered/pinned token's edges, which are
   *  drawn on top while the rest is dimmed to `dim`. Exports (SVG) are built from this;
   *  `key` is the same for consecutive lines of one canvas path. */
  geometry() {
    const width = this.canvas.width / this.dpr, lines = [], at = new Map(), H = this.colors.length;
    let batch = 0;
    this.each((h, E, o) => {
      const g = E.g[o];
      if (!at.has(E)) at.set(E, { at: new Map(), n: batch++ });
      at.get(E).at.set(o, lines.length);
      // one canvas path per (batch, layer, head, level)
      lines.push({ x1: X_PAD, y1: E.ya[o], x2: width - X_PAD, y2: E.yb[o], key: at.get(E).n * K.length * H * NL + g,
        color: this.colors[h], alpha: LEVEL_ALPHA[g % NL] });
    });
    const rows = [];
    this.rowOf.forEach((row, index) => { if (row >= 0) rows.push({ index, y: row * ROW + ROW / 2 }); });
    const focused = !!(this.hover || this.pinned), F = this.focus;
    return { width, height: this.rows * ROW, row: ROW, rows, lines,
      focus: focused && F ? F.list.map(([, E, o]) => at.get(E).at.get(o)) : [], dim: focused ? DIM : 1 };
  }

  /** Token highlighting: the focused token, and the tokens it links to. Only the
   *  spans whose classes change are touched (a long input has hundreds). */
  markTokens(focus, linked) {
    const k = JSON.stringify([focus, this.pinned]);
    if (k === this.classKey) return;
    this.classKey = k;
    const other = focus && (focus.side === "left" ? "right" : "left"), pin = this.pinned;
    const NAMES = ["focus", "pinned", "hl", "dim"];
    for (const side of ["left", "right"]) {
      const spans = this.spans[side], was = this.marks[side] || new Uint8Array(spans.length), now = new Uint8Array(spans.length);
      if (focus && side === focus.side) now[focus.index] |= 1;
      if (pin && side === pin.side) now[pin.index] |= 2;
      if (focus && side === other) spans.forEach((el, i) => { now[i] |= linked.has(i) ? 4 : 8; });
      spans.forEach((el, i) => {
        const d = was[i] ^ now[i];
        if (el && d) NAMES.forEach((name, bit) => { if (d & (1 << bit)) el.classList.toggle(name, !!(now[i] & (1 << bit))); });
      });
      this.marks[side] = now;
    }
  }

  /** Redraw now (after a pin change); returns the number of edges drawn
   *  (`faint` more were kept by the pruning but are too faint to draw). */
  draw() {
    this.update();
    return this.paint.counts().m;
  }

  /** Text for the edge counter, e.g. "12,345 edges (6,789 too faint to draw)". */
  countText() {
    const f = (x) => x.toLocaleString("en-US"), { m, faint } = this.paint.counts();
    return `${f(m)} edges` + (faint ? ` (${f(faint)} too faint to draw)` : "");
  }
}

// bertviz-style head view on one <canvas>: queries on the left, keys on the
// right, one straight line per kept edge. bertviz emits one SVG element per
// head per token pair; here edges are batched per (head, opacity level) into
// canvas paths. Token labels are DOM spans (textContent only), so hover/click
// and text safety come for free.
//
// What is drawn:
//  - An edge's opacity is its attention weight, as in bertviz: alpha = w/255
//    for the byte w of the compact format, quantised into LEVEL_ALPHA levels
//    (exact up to w = 16, then ~6% wide) so that each (head, level) is one path.
//  - Edges kept by the mass pruning but with w < MIN_W are "too faint to draw"
//    and skipped: Chromium's 8-bit canvas rounds a line of alpha 1/255 away
//    (measured: one such line changes no pixel, 2000 crossing ones a few
//    hundred pixels near their ends). They are counted in `faint`; draw()
//    returns the number of edges actually drawn. This matters for long diffuse
//    inputs: at 285 tokens layer 0 keeps ~280k edges at 70% mass, ~180k w = 1.
//
// How it is painted (a software rasteriser's cost is the pixels it touches):
//  - Steep lines are rasterised at a lower vertical resolution: an edge that
//    drops more than k times its width goes into a layer canvas 1/k as tall
//    (k = 2, 4, 8, 16) that is stretched back when shown. A line that steep
//    covers about one pixel per row either way, so the stretch only blurs it
//    along itself; it costs max(width, drop/k) pixels instead of the drop.
//    Strong edges (w >= CRISP_W) and the hovered token's edges stay full-res.
//  - The picture is painted in horizontal bands of BAND css px, each with the
//    lines cut to it: bands in view first, then the others nearest first,
//    in time-boxed tasks so the page never blocks; a band that scrolls into
//    view jumps the queue. Within a layer edges go weakest first, and the
//    layers are composed most stretched first, so strong edges end on top.
//    `canvas.dataset.painted` is "1" once every band in view is painted and
//    shown, `canvas.dataset.complete` once all bands are.
//  - Hovering/pinning a token only re-composes the bands in view from the
//    layers (dimmed) and strokes that token's edges on top.

const ROW = 18;         // px per token row; must match --row in app.css
const DIM = 0.15;       // opacity of the other edges while a token is hovered/pinned
const SLICE_MS = 12;    // painting budget per task
const BAND = 256;       // band height in css px
const MIN_W = 2;        // visibility floor, in weight bytes (see above)
const CRISP_W = 16;     // edges at least this strong are always drawn full-res (on top)
const K = [1, 2, 4, 8, 16]; // vertical resolution divisors of the layers
const X_PAD = 1;       // css px between a token column and the line ends
const SPAN_NAMES = { aspect_query: "aspect (query)", aspect_term: "aspect term", e1: "entity 1", e2: "entity 2", markers: "entity markers" };
const SPAN_COLORS = ["#fbd46d", "#9be3a0", "#a8c8ff", "#f6a6c8", "#d3b6ff"];

// weight byte -> opacity level; level -> alpha (mean weight of the level / 255)
const LEVEL_OF = new Uint8Array(256), LEVEL_ALPHA = [];
for (let lo = MIN_W; lo <= 255;) {
  const hi = Math.min(255, Math.max(lo, Math.floor(lo * 1.06)));
  LEVEL_OF.fill(LEVEL_ALPHA.length, lo, hi + 1);
  LEVEL_ALPHA.push((lo + hi) / 2 / 255);
  lo = hi + 1;
}
const NL = LEVEL_ALPHA.length;

/** Colour and opacity of the edges under one paint-order key (see setEdges): shared by
 *  the canvas painter and the SVG export (svg-headview.js) so both show the same picture. */
export function edgeStyle(key, per, colors) {
  const H = Math.max(1, colors.length), r = key % per;
  return { color: colors[r % H], alpha: LEVEL_ALPHA[Math.floor(r / H)] };
}

const EMPTY = { m: 0, key: new Uint32Array(0), ya: new Float32Array(0), yb: new Float32Array(0), q: new Uint16Array(0), k: new Uint16Array(0) };

export class HeadView {
  constructor({ left, right, canvas, legend, onPin }) {
    Object.assign(this, { left, right, canvas, legend, onPin });
    this.rowOf = new Int32Array(0); // token index -> row, -1 when hidden
    this.spans = { left: [], right: [] };
    this.rows = 0;
    this.hover = this.pinned = null; // {side, index}
    this.focusKey = "";             // JSON of the focused token ("" = none)
    this.focusList = new Uint32Array(0);
    this.linked = new Set();
    this.colors = [];
    this.E = EMPTY;                 // drawable edges, in paint order (see setEdges)
    this.faint = 0;
    this.nb = 0;                    // bands
    this.bandPos = new Uint32Array(0); // per band: how far into E it is painted
    this.shown = [];                // per band: focusKey it is shown on screen with (null: stale)
    this.chunk = 20000;             // edges scanned per task, adapted to the measured time
    this.layers = K.map(() => document.createElement("canvas")); // [0]: full-res, [i]: 1/K[i] as tall
    this.used = new Uint8Array(K.length);                       // layers with edges in this set
    this.scroller = undefined;
    // painting runs in tasks (not animation frames): no frame waits, input still gets in between
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { this.queued = false; this.work(); };
    this.kick = () => { if (!this.queued) { this.queued = true; ch.port2.postMessage(0); } };
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
    const onScroll = () => { if (this.canvas.dataset.complete !== "1") this.kick(); };
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
    this.hover = this.pinned = null;
    // size the canvas (and its offscreen layers) to the rows, in device pixels;
    // bands are a multiple of 16 device px so that they map to whole layer rows
    const dpr = (this.dpr = window.devicePixelRatio || 1);
    const w = this.canvas.clientWidth || 320, h = Math.max(1, rows * ROW);
    this.canvas.style.height = h + "px";
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.layers.forEach((c, i) => {
      c.width = this.canvas.width;
      c.height = Math.ceil(this.canvas.height / K[i]);
    });
    this.bandDev = Math.max(16, Math.round((BAND * dpr) / 16) * 16);
    this.nb = Math.ceil(this.canvas.height / this.bandDev);
    this.setEdges({ n: 0 }, this.colors); // row positions changed: the caller sets new edges
  }

  /** New pruned edge set ({n, eh, eq, ek, ew} from pruneEdges): drop the ones
   *  too faint to draw, order the rest by (layer, level weakest first, head)
   *  with a counting sort, note their row positions, then start painting. */
  setEdges(edges, colors) {
    const H = Math.max(1, colors.length), per = H * NL, nk = K.length * per;
    const { n, eh, eq, ek, ew } = edges, rowOf = this.rowOf, half = ROW / 2;
    const dx = Math.max(1, this.canvas.width / this.dpr - 2);
    const sortKey = (e) => { // layer: the largest k with drop >= k * width
      const w = ew[e], drop = Math.abs(rowOf[eq[e]] - rowOf[ek[e]]) * ROW;
      let L = 0;
      if (w < CRISP_W) while (L + 1 < K.length && drop >= K[L + 1] * dx) L++;
      return L * per + LEVEL_OF[w] * H + eh[e];
    };
    const count = new Uint32Array(nk + 1);
    let faint = 0;
    for (let e = 0; e < n; e++) {
      if (ew[e] < MIN_W) faint++;
      else count[sortKey(e) + 1]++;
    }
    const m = n - faint;
    this.used.fill(0);
    for (let b = 0; b < nk; b++) {
      if (count[b + 1]) this.used[Math.floor(b / per)] = 1;
      count[b + 1] += count[b];
    }
    const E = m ? { m, key: new Uint32Array(m), ya: new Float32Array(m), yb: new Float32Array(m), q: new Uint16Array(m), k: new Uint16Array(m) } : EMPTY;
    for (let e = 0; e < n; e++) {
      if (ew[e] < MIN_W) continue;
      const key = sortKey(e), o = count[key]++;
      E.key[o] = key;
      E.q[o] = eq[e];
      E.k[o] = ek[e];
      E.ya[o] = rowOf[eq[e]] * ROW + half;
      E.yb[o] = rowOf[ek[e]] * ROW + half;
    }
    Object.assign(this, { E, faint, colors, per, classKey: null });
    this.bandPos = new Uint32Array(this.nb);
    this.shown = new Array(this.nb).fill(null);
    this.focusKey = null; // recompute the focused token's edges
    this.canvas.dataset.complete = "0";
    for (const c of [this.canvas, ...this.layers]) {
      const ctx = c.getContext("2d");
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, c.width, c.height);
    }
    this.update(true);
  }

  /** Which bands are on screen now: [first, last], or null when none is. */
  inView() {
    const r = this.canvas.getBoundingClientRect();
    if (!r.height || !this.nb) return null;
    if (this.scroller === undefined) { // nearest scrolling ancestor (.hv-scroll), looked up once
      let el = this.canvas.parentElement;
      while (el && el !== document.body && !/auto|scroll/.test(getComputedStyle(el).overflowY)) el = el.parentElement;
      this.scroller = el && el !== document.body ? el : null;
    }
    let top = 0, bottom = window.innerHeight;
    if (this.scroller) {
      const s = this.scroller.getBoundingClientRect();
      top = Math.max(top, s.top);
      bottom = Math.min(bottom, s.bottom);
    }
    const scale = this.canvas.height / r.height; // css px -> device px of the canvas
    const lo = Math.max(0, (top - r.top) * scale), hi = Math.min(this.canvas.height, (bottom - r.top) * scale);
    if (hi <= lo) return null;
    return [Math.floor(lo / this.bandDev), Math.min(this.nb - 1, Math.floor((hi - 1) / this.bandDev))];
  }

  /** One time-boxed step: paint (bands in view first, then the others,
   *  nearest first), show what changed, and requeue while anything is left. */
  work() {
    const t0 = performance.now(), { m } = this.E, nb = this.nb, view = this.inView();
    const inView = (v) => !!view && v >= view[0] && v <= view[1];
    while (performance.now() - t0 < SLICE_MS) {
      let b = -1;
      if (view) for (let v = view[0]; v <= view[1] && b < 0; v++) if (this.bandPos[v] < m) b = v;
      if (b < 0) {
        const c = view ? (view[0] + view[1]) / 2 : 0;
        let best = Infinity;
        for (let v = 0; v < nb; v++) if (this.bandPos[v] < m && Math.abs(v - c) < best) { best = Math.abs(v - c); b = v; }
      }
      if (b < 0) break;
      const t1 = performance.now(), lo = this.bandPos[b], hi = Math.min(m, lo + this.chunk);
      this.trace(this.layers.map((c) => c.getContext("2d")), b, lo, hi, null);
      this.bandPos[b] = hi;
      this.present(b); // copying the band makes software canvases rasterise now, so dt is honest
      // a stretched layer row blends with the next band's rows: show the neighbours again
      for (const v of [b - 1, b + 1]) if (v >= 0 && v < nb && this.bandPos[v]) this.shown[v] = null;
      const dt = performance.now() - t1;
      if (hi - lo >= this.chunk || dt > SLICE_MS) { // size the next chunk to the budget
        this.chunk = Math.max(2000, Math.min(1 << 20, Math.round(((hi - lo) * SLICE_MS) / Math.max(dt, 0.5))));
      }
    }
    // bands that show a stale picture or focus: those in view now, the others while time is left
    for (let v = 0; v < nb; v++) {
      if (this.bandPos[v] && this.shown[v] !== this.focusKey && (inView(v) || performance.now() - t0 < SLICE_MS)) this.present(v);
    }
    let visibleDone = true, complete = true;
    for (let v = 0; v < nb; v++) {
      if (this.bandPos[v] >= m && (!m || this.shown[v] === this.focusKey)) continue;
      complete = false;
      if (inView(v)) visibleDone = false;
    }
    this.canvas.dataset.painted = visibleDone ? "1" : "0";
    this.canvas.dataset.complete = complete ? "1" : "0";
    if (!complete) this.kick();
  }

  /** Stroke the part inside band b of each edge E[lo..hi) (or E[list[lo..hi)])
   *  into ctxs[its layer] (device px, identity transform), or all into `flat`
   *  at full resolution. Cutting the lines ourselves instead of clipping the
   *  canvas matters: a clipped hairline is rasterised with other rounding,
   *  which shows as seams at band edges once thousands of faint lines add up. */
  trace(ctxs, b, lo, hi, list, flat) {
    const { key, ya, yb } = this.E, per = this.per, dpr = this.dpr;
    const x0 = X_PAD * dpr, span = this.canvas.width - 2 * X_PAD * dpr;
    const top = (b * this.bandDev) / dpr, bottom = ((b + 1) * this.bandDev) / dpr;
    let cur = -1, ctx = null, s = dpr;
    for (let i = lo; i < hi; i++) {
      const o = list ? list[i] : i, a = ya[o], c = yb[o];
      let t0 = 0, t1 = 1;
      if (a === c) {
        if (a < top || a >= bottom) continue;
      } else {
        const ta = (top - a) / (c - a), tb = (bottom - a) / (c - a);
        t0 = Math.max(0, Math.min(ta, tb));
        t1 = Math.min(1, Math.max(ta, tb));
        if (t1 <= t0) continue;
      }
      if (key[o] !== cur) { // edges arrive grouped by key: one path per (layer, level, head)
        if (cur >= 0) ctx.stroke();
        cur = key[o];
        const L = Math.floor(cur / per), style = edgeStyle(cur, per, this.colors);
        ctx = flat || ctxs[L];
        s = dpr / (flat ? 1 : K[L]);
        // 1 device px lines: software rasterisers have a fast path for them (1.5 px
        // was ~25x slower); on high-dpi screens the opacity makes up for the width
        ctx.lineWidth = 1;
        ctx.strokeStyle = style.color;
        ctx.globalAlpha = Math.min(1, style.alpha * dpr);
        ctx.beginPath();
      }
      ctx.moveTo(x0 + span * t0, (a + (c - a) * t0) * s);
      ctx.lineTo(x0 + span * t1, (a + (c - a) * t1) * s);
    }
    if (cur >= 0) ctx.stroke();
    for (const x of flat ? [flat] : ctxs) if (x) x.globalAlpha = 1;
  }

  setHover(h) {
    if (h && this.rowOf[h.index] < 0) h = null;
    if (JSON.stringify(h) === JSON.stringify(this.hover)) return;
    this.hover = h;
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.update(true); });
  }

  setPinned(p) { this.pinned = p && this.rowOf[p.index] >= 0 ? p : null; }

  /** Focus (hovered, else pinned token) changed? Collect its edges and mark
   *  the tokens; then show/paint what is in view (at once when `now`). */
  update(now) {
    const focus = this.hover || this.pinned, fk = focus ? JSON.stringify(focus) : "";
    if (fk !== this.focusKey) {
      this.focusKey = fk;
      this.canvas.dataset.painted = "0"; // until the bands in view show it (work())
      this.linked = new Set();
      const { m, q, k } = this.E, list = [];
      if (focus) {
        const from = focus.side === "left" ? q : k, to = focus.side === "left" ? k : q;
        for (let o = 0; o < m; o++) if (from[o] === focus.index) { list.push(o); this.linked.add(to[o]); }
      }
      this.focusList = Uint32Array.from(list);
    }
    this.markTokens(focus, this.linked);
    if (now) this.work();
    else this.kick();
  }

  /** Show band b: the layers composed (stretched back to full height), dimmed
   *  while a token is focused, with that token's edges stroked on top. */
  present(b) {
    const ctx = this.canvas.getContext("2d"), focus = !!this.focusKey, w = this.canvas.width;
    const y0 = b * this.bandDev, y1 = Math.min(this.canvas.height, y0 + this.bandDev);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.beginPath();
    ctx.rect(0, y0, w, y1 - y0);
    ctx.clip();
    ctx.clearRect(0, y0, w, y1 - y0);
    ctx.globalAlpha = focus ? DIM : 1;
    for (let L = K.length - 1; L >= 0; L--) {
      if (!this.used[L]) continue;
      const k = K[L], src = this.layers[L];
      // one layer row of margin on each side, so the stretch blends across band edges
      const sy = Math.max(0, y0 / k - 1), sh = Math.min(src.height, Math.ceil(y1 / k) + 1) - sy;
      if (sh > 0) ctx.drawImage(src, 0, sy, w, sh, 0, sy * k, w, sh * k);
    }
    ctx.globalAlpha = 1;
    if (focus && this.focusList.length) this.trace(null, b, 0, this.focusList.length, this.focusList, ctx);
    ctx.restore();
    this.shown[b] = this.focusKey;
  }

  /** The picture as plain geometry in css px, with the numbers the painter uses:
   *  every drawn edge in paint order (weakest first) from x = X_PAD to width - X_PAD,
   *  styled by edgeStyle; `focus` lists the hovered/pinned token's edges, which are
   *  drawn on top while the rest is dimmed to `dim`. Exports (SVG) are built from this. */
  geometry() {
    const { m, key, ya, yb } = this.E, width = this.canvas.width / this.dpr;
    const lines = [];
    for (let o = 0; o < m; o++) {
      lines.push({ x1: X_PAD, y1: ya[o], x2: width - X_PAD, y2: yb[o], key: key[o], ...edgeStyle(key[o], this.per, this.colors) });
    }
    const rows = [];
    this.rowOf.forEach((row, index) => { if (row >= 0) rows.push({ index, y: row * ROW + ROW / 2 }); });
    const focused = !!(this.hover || this.pinned);
    return { width, height: this.rows * ROW, row: ROW, rows, lines, focus: focused ? Array.from(this.focusList) : [], dim: focused ? DIM : 1 };
  }

  /** Token highlighting: the focused token, and the tokens it links to. */
  markTokens(focus, linked) {
    const k = JSON.stringify([focus, this.pinned]);
    if (k === this.classKey) return;
    this.classKey = k;
    const other = focus && (focus.side === "left" ? "right" : "left"), pin = this.pinned;
    for (const side of ["left", "right"]) {
      this.spans[side].forEach((el, i) => {
        if (!el) return;
        el.classList.toggle("focus", !!focus && side === focus.side && i === focus.index);
        el.classList.toggle("pinned", !!pin && side === pin.side && i === pin.index);
        el.classList.toggle("hl", !!focus && side === other && linked.has(i));
        el.classList.toggle("dim", !!focus && side === other && !linked.has(i));
      });
    }
  }

  /** Redraw now (after a pin change); returns the number of edges drawn
   *  (`faint` more were kept by the pruning but are too faint to draw). */
  draw() {
    this.update();
    return this.E.m;
  }

  /** Text for the edge counter, e.g. "12,345 edges (6,789 too faint to draw)". */
  countText() {
    const f = (x) => x.toLocaleString("en-US");
    return `${f(this.E.m)} edges` + (this.faint ? ` (${f(this.faint)} too faint to draw)` : "");
  }
}

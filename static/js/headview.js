// bertviz-style head view on one <canvas>: queries on the left, keys on the
// right, one straight line per kept edge. bertviz emits one SVG element per
// head per token pair; here edges are batched per (head, opacity level) into
// canvas paths. Token labels are DOM spans (textContent only), so hover/click
// and text safety come for free.
//
// What is drawn (semantics):
//  - An edge's opacity is its attention weight, as in bertviz: alpha = w / 255
//    for the byte w of the compact format, quantised into LEVEL_ALPHA levels
//    (exact up to w = 16, then ~6% wide) so that each (head, level) is one path.
//  - Edges kept by the mass pruning but with w < MIN_W are "too faint to
//    draw": Chromium's 8-bit canvas rounds a line of alpha 1/255 away (a
//    single such line changes no pixel; measured), so they are skipped and
//    counted in `faint`. draw() returns the number of edges actually drawn.
//    Long diffuse inputs are where this matters: at 280 tokens layer 0 keeps
//    ~280k edges at 70% mass, ~180k of them with w = 1.
//
// Painting: the picture is painted into an offscreen canvas (`base`) in
// horizontal bands of BAND css px, each band with the lines clipped to it (a
// software rasteriser's cost is the pixels it touches, so a band costs its
// share of the picture). Bands in view are painted first, then the others,
// nearest first, in time-boxed tasks so the page never blocks; a band that
// scrolls into view jumps the queue. Within a band edges go strongest first.
// `canvas.dataset.painted` is "1" once every band in view is painted (and
// `canvas.dataset.complete` once all bands are). Hovering/pinning a token only
// re-copies the painted bands in view (dimmed) and strokes that token's edges
// on top, clipped to the same bands.

const ROW = 18;         // px per token row; must match --row in app.css
const DIM = 0.15;       // opacity of the other edges while a token is hovered/pinned
const SLICE_MS = 12;    // painting budget per task
const BAND = 256;       // band height in css px
const MIN_W = +(new URLSearchParams(location.search).get("minw") || 2);        // visibility floor, in weight bytes (see above)
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

const EMPTY = { m: 0, key: new Uint16Array(0), ya: new Float32Array(0), yb: new Float32Array(0), q: new Uint16Array(0), k: new Uint16Array(0) };

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
    this.base = document.createElement("canvas");
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
    // size the canvas (and its offscreen twin) to the rows, in device pixels
    const dpr = (this.dpr = window.devicePixelRatio || 1);
    const w = this.canvas.clientWidth || 320, h = Math.max(1, rows * ROW);
    this.canvas.style.height = h + "px";
    this.canvas.width = this.base.width = Math.round(w * dpr);
    this.canvas.height = this.base.height = Math.round(h * dpr);
    this.bandDev = Math.max(1, Math.round(BAND * dpr));
    this.nb = Math.ceil(this.canvas.height / this.bandDev);
    this.setEdges({ n: 0 }, this.colors); // row positions changed: the caller sets new edges
  }

  /** New pruned edge set ({n, eh, eq, ek, ew} from pruneEdges): drop the ones
   *  too faint to draw, order the rest strongest level first (counting sort
   *  by (level, head)) with their row positions, then start painting. */
  setEdges(edges, colors) {
    const H = Math.max(1, colors.length), nk = H * NL, count = new Uint32Array(nk + 1);
    const { n, eh, eq, ek, ew } = edges, rowOf = this.rowOf, half = ROW / 2;
    let faint = 0;
    for (let e = 0; e < n; e++) {
      const w = ew[e];
      if (w < MIN_W) faint++;
      else count[(NL - 1 - LEVEL_OF[w]) * H + eh[e] + 1]++;
    }
    for (let b = 0; b < nk; b++) count[b + 1] += count[b];
    const m = n - faint;
    const E = m ? { m, key: new Uint16Array(m), ya: new Float32Array(m), yb: new Float32Array(m), q: new Uint16Array(m), k: new Uint16Array(m) } : EMPTY;
    for (let e = 0; e < n; e++) {
      const w = ew[e];
      if (w < MIN_W) continue;
      const key = (NL - 1 - LEVEL_OF[w]) * H + eh[e], o = count[key]++;
      E.key[o] = key;
      E.q[o] = eq[e];
      E.k[o] = ek[e];
      E.ya[o] = rowOf[eq[e]] * ROW + half;
      E.yb[o] = rowOf[ek[e]] * ROW + half;
    }
    Object.assign(this, { E, faint, colors, classKey: null });
    this.bandPos = new Uint32Array(this.nb);
    this.shown = new Array(this.nb).fill(null);
    this.focusKey = null; // recompute the focused token's edges
    this.canvas.dataset.complete = "0";
    const bctx = this.base.getContext("2d"), ctx = this.canvas.getContext("2d");
    for (const c of [bctx, ctx]) {
      c.setTransform(1, 0, 0, 1, 0, 0);
      c.clearRect(0, 0, this.base.width, this.base.height);
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

  /** One time-boxed step: show the bands in view with the current focus,
   *  paint (bands in view first), then requeue while anything is left. */
  work() {
    const t0 = performance.now(), { m } = this.E, nb = this.nb, view = this.inView();
    if (view) for (let b = view[0]; b <= view[1]; b++) {
      if (this.bandPos[b] && this.shown[b] !== this.focusKey) this.present(b);
    }
    while (performance.now() - t0 < SLICE_MS) {
      let b = -1;
      if (view) for (let v = view[0]; v <= view[1] && b < 0; v++) if (this.bandPos[v] < m) b = v;
      if (b < 0) { // then the others, nearest to the view first
        const c = view ? (view[0] + view[1]) / 2 : 0;
        let best = Infinity;
        for (let v = 0; v < nb; v++) if (this.bandPos[v] < m && Math.abs(v - c) < best) { best = Math.abs(v - c); b = v; }
      }
      if (b < 0) break;
      const t1 = performance.now(), end = Math.min(m, this.bandPos[b] + this.chunk);
      const bctx = this.base.getContext("2d");
      this.clip(bctx, b);
      this.trace(bctx, b, this.bandPos[b], end, null);
      bctx.restore();
      const scanned = end - this.bandPos[b];
      this.bandPos[b] = end;
      this.present(b); // copying the band makes software canvases rasterise now, so dt is honest
      const dt = performance.now() - t1;
      if (scanned >= this.chunk || dt > SLICE_MS) { // size the next chunk to the budget
        this.chunk = Math.max(2000, Math.min(1 << 20, Math.round((scanned * SLICE_MS) / Math.max(dt, 0.5))));
      }
    }
    // bands out of view that still show another focus: refresh them while time is left
    for (let v = 0; v < nb && performance.now() - t0 < SLICE_MS; v++) {
      if (this.bandPos[v] && this.shown[v] !== this.focusKey) this.present(v);
    }
    let visibleDone = true, complete = true;
    for (let v = 0; v < nb; v++) {
      const done = this.bandPos[v] >= m && (!m || this.shown[v] === this.focusKey);
      if (!done) { complete = false; if (view && v >= view[0] && v <= view[1]) visibleDone = false; }
    }
    this.canvas.dataset.painted = visibleDone ? "1" : "0";
    this.canvas.dataset.complete = complete ? "1" : "0";
    if (!complete) this.kick();
  }

  /** Clip a context to band b (save()d: the caller restores) and scale it to css px. */
  clip(ctx, b) {
    const y0 = b * this.bandDev, y1 = Math.min(this.canvas.height, y0 + this.bandDev);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.beginPath();
    ctx.rect(0, y0, this.canvas.width, y1 - y0);
    ctx.clip();
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
  }

  /** Stroke the edges E[lo..hi) (or E[list[lo..hi)]) that cross band b. */
  trace(ctx, b, lo, hi, list) {
    const { key, ya, yb } = this.E, H = Math.max(1, this.colors.length);
    const x1 = this.canvas.width / this.dpr - 1;
    const top = (b * this.bandDev) / this.dpr - 1, bottom = ((b + 1) * this.bandDev) / this.dpr + 1;
    // 1 px lines: software rasterisers have a fast path for them (1.5 px was ~25x slower)
    ctx.lineWidth = 1;
    let cur = -1;
    for (let i = lo; i < hi; i++) {
      const o = list ? list[i] : i, a = ya[o], c = yb[o];
      if ((a < top && c < top) || (a > bottom && c > bottom)) continue;
      if (key[o] !== cur) { // edges arrive grouped by key: one path per (level, head)
        if (cur >= 0) ctx.stroke();
        cur = key[o];
        ctx.strokeStyle = this.colors[cur % H];
        ctx.globalAlpha = LEVEL_ALPHA[NL - 1 - Math.floor(cur / H)];
        ctx.beginPath();
      }
      ctx.moveTo(1, a);
      ctx.lineTo(x1, c);
    }
    if (cur >= 0) ctx.stroke();
    ctx.globalAlpha = 1;
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

  /** Copy band b of the painted edges on screen; with a focused token, dim
   *  them and stroke that token's edges on top. */
  present(b) {
    const ctx = this.canvas.getContext("2d"), focus = !!this.focusKey;
    const y0 = b * this.bandDev, h = Math.min(this.canvas.height, y0 + this.bandDev) - y0, w = this.canvas.width;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, y0, w, h);
    ctx.globalAlpha = focus ? DIM : 1;
    ctx.drawImage(this.base, 0, y0, w, h, 0, y0, w, h);
    ctx.globalAlpha = 1;
    if (focus && this.focusList.length) {
      this.clip(ctx, b);
      this.trace(ctx, b, 0, this.focusList.length, this.focusList);
      ctx.restore();
    }
    this.shown[b] = this.focusKey;
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

// bertviz-style head view on one <canvas>: queries on the left, keys on the
// right, one straight line per kept edge. bertviz emits one SVG element per
// head per token pair; here edges are batched per (head, opacity level) into
// canvas paths. Token labels are DOM spans (textContent only), so hover/click
// and text safety come for free.
//
// Painting is progressive: strongest edges first, a time-boxed chunk per
// animation frame, into an offscreen canvas that is then copied on screen.
// Diffuse heads at 256 tokens can keep 250k+ edges (seconds of rasterising
// without a GPU); this way the page never blocks, and hovering a token only
// re-copies the image (dimmed) and strokes that token's few edges on top.

const ROW = 18;         // px per token row; must match --row in app.css
const LEVELS = 12;      // opacity is quantised so that each (head, level) is one path
const DIM = 0.15;       // opacity of the other edges while a token is hovered/pinned
const FRAME_MS = 12;    // painting budget per animation frame
const SPAN_NAMES = { aspect_query: "aspect (query)", aspect_term: "aspect term", e1: "entity 1", e2: "entity 2", markers: "entity markers" };
const SPAN_COLORS = ["#fbd46d", "#9be3a0", "#a8c8ff", "#f6a6c8", "#d3b6ff"];

export class HeadView {
  constructor({ left, right, canvas, legend, onPin }) {
    Object.assign(this, { left, right, canvas, legend, onPin });
    this.rowOf = new Int32Array(0); // token index -> row, -1 when hidden
    this.spans = { left: [], right: [] };
    this.rows = 0;
    this.hover = this.pinned = null; // {side, index}
    this.edges = { n: 0 };
    this.order = this.key = new Uint32Array(0);
    this.chunk = 3000;              // edges per frame, adapted to the measured paint time
    this.base = document.createElement("canvas");
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
    // size the canvas (and its offscreen twin) to the rows, in device pixels
    const dpr = (this.dpr = window.devicePixelRatio || 1);
    const w = this.canvas.clientWidth || 320, h = Math.max(1, rows * ROW);
    this.canvas.style.height = h + "px";
    this.canvas.width = this.base.width = Math.round(w * dpr);
    this.canvas.height = this.base.height = Math.round(h * dpr);
  }

  /** New pruned edge set: order it strongest level first (counting sort by
   *  (level, head)), then start painting it. */
  setEdges(edges, colors) {
    const H = colors.length, nb = H * LEVELS, count = new Uint32Array(nb + 1);
    const key = new Uint16Array(edges.n);
    for (let e = 0; e < edges.n; e++) {
      const level = Math.ceil((edges.ew[e] * LEVELS) / 255); // 1..LEVELS
      key[e] = (LEVELS - level) * H + edges.eh[e];
      count[key[e] + 1]++;
    }
    for (let b = 0; b < nb; b++) count[b + 1] += count[b];
    const order = new Uint32Array(edges.n);
    for (let e = 0; e < edges.n; e++) order[count[key[e]]++] = e;
    Object.assign(this, { edges, colors, key, order, classKey: null });
    cancelAnimationFrame(this.job);
    const bctx = this.base.getContext("2d");
    bctx.setTransform(1, 0, 0, 1, 0, 0);
    bctx.clearRect(0, 0, this.base.width, this.base.height);
    this.pos = 0;
    this.canvas.dataset.painted = "0";
    this.step();
  }

  /** Paint the next chunk of edges into the offscreen canvas, show it, and
   *  size the next chunk so a frame's work stays near FRAME_MS. */
  step() {
    const t0 = performance.now(), end = Math.min(this.edges.n, this.pos + this.chunk);
    const bctx = this.base.getContext("2d");
    bctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.stroke(bctx, this.pos, end, null);
    this.pos = end;
    this.present(); // copying the image makes software canvases rasterise now, so dt is honest
    const dt = performance.now() - t0;
    this.chunk = Math.max(1000, Math.min(500000, Math.round((this.chunk * FRAME_MS) / Math.max(dt, 1))));
    if (end < this.edges.n) this.job = requestAnimationFrame(() => this.step());
    else this.canvas.dataset.painted = "1";
  }

  /** Stroke edges order[lo..hi) (only those of `focus` when given); returns
   *  the tokens on the other side that the focused token links to. */
  stroke(ctx, lo, hi, focus) {
    const { edges, rowOf, key, order } = this, H = this.colors.length, half = ROW / 2;
    const x1 = this.canvas.width / this.dpr - 1, linked = new Set();
    const from = focus && (focus.side === "left" ? edges.eq : edges.ek);
    const to = focus && (focus.side === "left" ? edges.ek : edges.eq);
    // 1 px lines: software rasterisers have a fast path for them (1.5 px was ~25x slower)
    ctx.lineWidth = 1;
    let cur = -1;
    for (let o = lo; o < hi; o++) {
      const e = order[o];
      if (focus) {
        if (from[e] !== focus.index) continue;
        linked.add(to[e]);
      }
      if (key[e] !== cur) { // edges arrive grouped by key: one path per (level, head)
        if (cur >= 0) ctx.stroke();
        cur = key[e];
        ctx.strokeStyle = this.colors[cur % H];
        ctx.globalAlpha = (LEVELS - Math.floor(cur / H)) / LEVELS;
        ctx.beginPath();
      }
      ctx.moveTo(1, rowOf[edges.eq[e]] * ROW + half);
      ctx.lineTo(x1, rowOf[edges.ek[e]] * ROW + half);
    }
    if (cur >= 0) ctx.stroke();
    ctx.globalAlpha = 1;
    return linked;
  }

  setHover(h) {
    if (h && this.rowOf[h.index] < 0) h = null;
    if (JSON.stringify(h) === JSON.stringify(this.hover)) return;
    this.hover = h;
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.present(); });
  }

  setPinned(p) { this.pinned = p && this.rowOf[p.index] >= 0 ? p : null; }

  /** Copy the painted edges on screen; with a focused (hovered/pinned) token,
   *  dim them and stroke that token's edges on top. */
  present() {
    const { canvas } = this, ctx = canvas.getContext("2d"), focus = this.hover || this.pinned;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = focus ? DIM : 1;
    ctx.drawImage(this.base, 0, 0);
    ctx.globalAlpha = 1;
    if (!focus) return this.markTokens(null, null);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.markTokens(focus, this.stroke(ctx, 0, this.edges.n, focus));
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

  /** Redraw now (after a pin change); returns the number of edges drawn. */
  draw() {
    this.present();
    return this.edges.n;
  }
}

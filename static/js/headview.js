// bertviz-style head view drawn on one <canvas>: queries on the left, keys on
// the right, one straight line per kept edge. bertviz emits one SVG element per
// head per token pair; a canvas with edges batched per (head, opacity level)
// stays fluid at 256 tokens. Token labels are DOM spans (textContent only) so
// hover/click, selection and text safety come for free.

const ROW = 18;         // px per token row; must match --row in app.css
const LEVELS = 12;      // opacity is quantised so each (head, level) is one stroke() call
const DIM = 0.08;       // opacity factor of edges outside the hovered/pinned token
const SPAN_NAMES = { aspect_query: "aspect (query)", aspect_term: "aspect term", e1: "entity 1", e2: "entity 2" };
const SPAN_COLORS = ["#fbd46d", "#9be3a0", "#a8c8ff", "#f6a6c8", "#d3b6ff"];

export class HeadView {
  constructor({ left, right, canvas, legend, onPin }) {
    Object.assign(this, { left, right, canvas, legend, onPin });
    this.rowOf = new Int32Array(0); // token index -> row, -1 when hidden
    this.hover = null;              // {side, index}
    this.pinned = null;
    this.edges = { n: 0 };
    this.colors = [];
    this.spans = { left: [], right: [] };
    this.order = new Uint32Array(0);
    this.bounds = new Uint32Array(1);
    this.rows = 0;
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
    const tokens = resp.tokens, T = tokens.length;
    const spanColor = new Array(T).fill(null), spanName = new Array(T).fill(null);
    this.legend.replaceChildren();
    Object.entries(resp.spans || {}).forEach(([name, idx], s) => {
      if (!Array.isArray(idx) || !idx.length) return;
      const color = SPAN_COLORS[s % SPAN_COLORS.length];
      for (const i of idx) if (i >= 0 && i < T) { spanColor[i] = color; spanName[i] = name; }
      const item = document.createElement("span");
      const sw = document.createElement("i");
      sw.style.background = color;
      item.append(sw, document.createTextNode(SPAN_NAMES[name] || name));
      this.legend.append(item);
    });
    if (tokens.some((t) => t.segment === "b")) {
      for (const seg of ["a", "b"]) {
        const item = document.createElement("span");
        const sw = document.createElement("i");
        sw.className = "seg-" + seg;
        item.append(sw, document.createTextNode("segment " + seg.toUpperCase()));
        this.legend.append(item);
      }
    }
    this.rowOf = new Int32Array(T).fill(-1);
    this.spans = { left: [], right: [] };
    let rows = 0;
    const frags = { left: document.createDocumentFragment(), right: document.createDocumentFragment() };
    tokens.forEach((tok, i) => {
      if (hideSpecial && tok.special) return;
      this.rowOf[i] = rows++;
      for (const side of ["left", "right"]) {
        const el = document.createElement("span");
        el.className = `token seg-${tok.segment}${tok.special ? " special" : ""}${tok.marker ? " marker" : ""}`;
        el.dataset.index = i;
        el.dataset.side = side;
        el.textContent = tok.text;
        el.title = `#${i} · segment ${String(tok.segment).toUpperCase()}${spanName[i] ? " · " + (SPAN_NAMES[spanName[i]] || spanName[i]) : ""}`;
        if (spanColor[i]) { el.style.background = spanColor[i]; el.classList.add("gold"); }
        this.spans[side][i] = el;
        frags[side].append(el);
      }
    });
    this.left.replaceChildren(frags.left);
    this.right.replaceChildren(frags.right);
    this.rows = rows;
    this.resize();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth || 320, h = Math.max(1, this.rows * ROW);
    this.canvas.style.height = h + "px";
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.dpr = dpr;
  }

  /** New pruned edge set: pre-bucket by (head, opacity level) with a counting sort. */
  setEdges(edges, colors) {
    this.edges = edges;
    this.colors = colors;
    const nb = colors.length * LEVELS, count = new Uint32Array(nb + 1);
    const bucket = new Uint16Array(edges.n);
    for (let e = 0; e < edges.n; e++) {
      const b = edges.eh[e] * LEVELS + Math.ceil((edges.ew[e] * LEVELS) / 255) - 1;
      bucket[e] = b;
      count[b + 1]++;
    }
    for (let b = 0; b < nb; b++) count[b + 1] += count[b];
    const start = count.slice(), order = new Uint32Array(edges.n);
    for (let e = 0; e < edges.n; e++) order[start[bucket[e]]++] = e;
    this.order = order;
    this.bounds = count; // edges of bucket b: order[bounds[b] .. bounds[b+1])
  }

  setHover(h) {
    if (h && this.rowOf[h.index] < 0) h = null;
    if (JSON.stringify(h) === JSON.stringify(this.hover)) return;
    this.hover = h;
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.draw(); });
  }

  setPinned(p) { this.pinned = p && this.rowOf[p.index] >= 0 ? p : null; }

  /** Paint all kept edges; with a focused token, its edges on top and the rest dimmed. */
  draw() {
    const { canvas, edges, rowOf } = this, ctx = canvas.getContext("2d");
    const W = canvas.width / this.dpr;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, W, canvas.height);
    ctx.lineWidth = 1.5;
    const focus = this.hover || this.pinned;
    const fa = focus ? (focus.side === "left" ? edges.eq : edges.ek) : null;
    const mark = focus ? (focus.side === "left" ? edges.ek : edges.eq) : null;
    const linked = new Set();
    const x0 = 1, x1 = W - 1, half = ROW / 2;
    // pass 0: everything (dimmed when focused) / pass 1: the focused token's edges
    for (let pass = 0; pass < (focus ? 2 : 1); pass++) {
      for (let b = 0; b + 1 < this.bounds.length; b++) {
        const lo = this.bounds[b], hi = this.bounds[b + 1];
        if (lo === hi) continue;
        const level = (b % LEVELS) + 1;
        ctx.strokeStyle = this.colors[(b / LEVELS) | 0];
        ctx.globalAlpha = (level / LEVELS) * (focus && pass === 0 ? DIM : 1);
        ctx.beginPath();
        for (let o = lo; o < hi; o++) {
          const e = this.order[o];
          if (focus && pass === 0 && fa[e] === focus.index) continue;
          if (pass === 1) {
            if (fa[e] !== focus.index) continue;
            linked.add(mark[e]);
          }
          ctx.moveTo(x0, rowOf[edges.eq[e]] * ROW + half);
          ctx.lineTo(x1, rowOf[edges.ek[e]] * ROW + half);
        }
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;
    // Token highlighting: the focused token and the tokens it is linked to.
    const other = focus && (focus.side === "left" ? "right" : "left");
    for (const side of ["left", "right"]) {
      this.spans[side].forEach((el, i) => {
        if (!el) return;
        el.classList.toggle("focus", !!focus && side === focus.side && i === focus.index);
        el.classList.toggle("pinned", !!this.pinned && side === this.pinned.side && i === this.pinned.index);
        el.classList.toggle("hl", !!focus && side === other && linked.has(i));
        el.classList.toggle("dim", !!focus && side === other && !linked.has(i));
      });
    }
    return edges.n;
  }
}

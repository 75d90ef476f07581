// The head view's painter: per-head edge layers, drawn once per edge set and
// composited, so that toggling a head, hovering a token or scrolling costs
// a few image copies instead of stroking tens of thousands of lines again.
// What an edge looks like is headview-edges.js's business.
//
// How the picture is put together, and cached:
//  - Each head has its own canvas per resolution layer L (`v.cv[L]` of its variant),
//    holding its edges of that layer, weakest level first. They depend only on the
//    head's edge set (layer, pair filter, mass, hidden tokens), not on the others.
//    Where 12 such sets would take more than SHOWN bytes (long inputs on high-dpi
//    screens), neighbouring heads share canvases in groups (painted head by head).
//  - The shown picture of a band is, for L from most stretched to full-res: the
//    selected heads' layer-L canvases copied over each other in head order (1:1,
//    into a per-band tile), stretched onto the visible canvas; the focused token's
//    edges on top, the rest dimmed. Toggling a head only re-composes; canvases are
//    kept (within KEPT bytes for those not shown) while their edge set stays the same.
//  - Each head shown also keeps its picture one mass step lower (`v.low`, see
//    headview-lower.js), painted in idle time once everything shown is: lowering the
//    mass by one step only composes. It takes as many bytes again (LOWER at most):
//    where heads share canvases, or LOWER does not suffice, a lower mass paints afresh.
//  - Work goes in horizontal bands of BAND css px: bands in view first, at once,
//    the others nearest first in idle time between frames. Lines are cut
//    to a band by hand (a clipped hairline is rasterised with other rounding,
//    which shows as seams). `canvas.dataset.painted` is "1" once the bands in view
//    show the current state, `canvas.dataset.complete` once all bands do, and
//    `canvas.dataset.ready` once the pictures one step lower are painted too.

import { ROW, K, NK, NL, LEVEL_ALPHA, X_PAD, DIM, headEdges, trace, style } from "./headview-edges.js";
import { setLower, makeLower, swapLower, Pool } from "./headview-lower.js";

const BAND = 128;              // band height in css px
const SLICE_MS = 8;            // background painting budget per task, at most
const STEP_MS = 3;             // one painting step (a chunk of one head in one band), about
const VISIBLE_MS = 250;        // the bands in view are painted in one go, up to this long
const SPILL = 2;               // layer rows a stroke cut at a band edge may touch past it
const SHOWN = 192 << 20;       // bytes of head canvases for the heads shown, at most (else heads share)
const KEPT = 256 << 20;        // bytes of head canvases kept for settings not shown now
const LOWER = 192 << 20;       // bytes of the shown heads' pictures one mass step lower, at most

export class Painter {
  static shown = SHOWN; // (tests lower it to check heads sharing canvases)
  static lower = LOWER;

  constructor(canvas) {
    this.canvas = canvas;
    this.tiles = [];         // per band, per layer: the selected heads composed (see compose)
    this.vars = new Map();   // "heads|settings" -> variant: {bytes, mass, batches, used, m, faint,
                             //   cv: [canvas per L], size, bi/pos: per band, how far painted, clean, seen,
                             //   low: the same fields for mass - 1 (batches null until made), src}
    this.sel = [];           // the variants shown, by head
    this.pool = new Pool(() => Painter.lower); // canvases of pictures a step lower let go
    this.colors = [];
    this.focus = null;       // {E, colors}: the focused token's edges, on top
    this.nb = 0;
    this.chunk = 20000;      // edges scanned per step, adapted to the measured time
    this.scroller = undefined;
    // background work runs when the page is idle (between frames), else in short tasks
    const ch = new MessageChannel(), run = (d) => { this.queued = false; this.work(false, d); };
    ch.port1.onmessage = () => run(null);
    this.post = typeof requestIdleCallback === "function" ? () => requestIdleCallback(run, { timeout: 300 }) : () => ch.port2.postMessage(0);
  }

  /** New rows (setTokens): size the canvases in device px, drop every cached head. */
  resize(rows, dpr) {
    this.dpr = dpr;
    const c = this.canvas, w = c.clientWidth || 320, h = Math.max(1, rows * ROW);
    c.style.height = h + "px";
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    // bands are a multiple of 16 device px so that they map to whole layer rows
    this.bandDev = Math.max(16, Math.round((BAND * dpr) / 16) * 16);
    this.nb = Math.ceil(c.height / this.bandDev);
    for (const tiles of this.tiles) for (const t of tiles || []) if (t) t.width = t.height = 0;
    this.tiles = [];
    this.drop();
  }

  drop() {
    for (const v of this.vars.values()) this.free(v);
    this.vars.clear();
    this.sel = [];
    this.pool.free();
  }

  free(v) {
    for (const c of v.cv) if (c) c.width = c.height = 0;
    v.cv = [];
    v.size = 0;
    if (v.low) this.free(v.low);
    v.low = null;
  }

  /** The edge set: parts = [{head, r, bytes, base, mass}] from pruneEdges. Each group of
   *  heads (one head, unless SHOWN says otherwise) keeps its canvases per setting but the
   *  mass (a "variant"), within KEPT: heads shown again with the same settings are only
   *  composed; at a higher mass only the edges they gained are painted, on top
   *  (`batches`); one step lower they show their picture a step lower (headview-lower.js);
   *  lower still they are painted again. */
  setEdges(parts, colors, rowOf) {
    if (colors.join() !== this.colors.join()) this.drop();
    this.colors = colors;
    const H = Math.max(1, colors.length), dx = Math.max(1, this.canvas.width / this.dpr - 2);
    const stamp = (this.stamp = (this.stamp || 0) + 1);
    let set = 0; // bytes of one head's canvases
    for (let L = 0; L < NK; L++) set += this.canvas.width * this.layerRows(L) * 4;
    const G = Math.max(1, Math.min(H, Math.floor(Painter.shown / set))), groups = new Map();
    const low = G === H && set * H <= Painter.lower; // room for the pictures a step lower
    for (const p of [...parts].sort((a, b) => a.head - b.head)) {
      const gi = Math.floor((p.head * G) / H);
      if (!groups.has(gi)) groups.set(gi, []);
      groups.get(gi).push(p);
    }
    this.sel = [...groups.values()].map((ps) => {
      const id = ps.map((p) => p.head).join(",") + "|" + ps[0].base, p = ps[0], n = ps.reduce((s, q) => s + q.r.n, 0);
      let v = this.vars.get(id);
      if (!v || v.bytes !== p.bytes) {
        if (v) this.free(v);
        v = { bytes: p.bytes, cv: [], size: 0, low: null };
        this.vars.set(id, v);
        this.repaint(v, p.mass, n, headEdges(ps, rowOf, dx, H));
      } else if (v.low && v.low.mass === p.mass && p.mass < v.mass) { // one step down
        swapLower(v);
        v.faint = n - v.m;
      } else if (p.mass > v.mass && p.r.et) {
        const more = headEdges(ps, rowOf, dx, H, v.mass);
        if (more.m) v.batches.push(more);
        v.used = v.used.map((u, L) => u | more.used[L]);
        Object.assign(v, { mass: p.mass, m: v.m + more.m, faint: n - v.m - more.m });
      } else if (p.mass !== v.mass) {
        this.repaint(v, p.mass, n, headEdges(ps, rowOf, dx, H));
      }
      v.seen = stamp;
      setLower(v, low && p.r.et && p.mass > 1 ? p.mass - 1 : 0, [ps, rowOf, dx, H], this.nb, this.pool);
      return v;
    });
    // variants not shown keep their canvases while they fit in KEPT (least recently shown dropped first)
    let spare = 0;
    const off = [...this.vars].filter(([, v]) => v.seen !== stamp).sort((a, b) => b[1].seen - a[1].seen);
    for (const [id, v] of off) {
      setLower(v, 0, null, 0, this.pool);
      spare += v.size;
      if (spare > KEPT) { this.free(v); this.vars.delete(id); }
    }
    this.used = new Uint8Array(NK);
    for (const v of this.sel) for (let L = 0; L < NK; L++) this.used[L] |= v.used[L];
    this.needMix = new Uint8Array(this.nb).fill(1);
    this.needShow = new Uint8Array(this.nb).fill(1);
    this.canvas.dataset.painted = this.canvas.dataset.complete = this.canvas.dataset.ready = "0";
  }

  /** Paint variant v afresh (on its canvases, band by band) with the edges E (n kept in all). */
  repaint(v, mass, n, E) {
    Object.assign(v, { mass, batches: [E], used: E.used, m: E.m, faint: n - E.m,
      bi: new Uint16Array(this.nb), pos: new Uint32Array(this.nb), clean: new Uint8Array(this.nb) });
  }

  /** Are the pictures one step lower painted, all bands? */
  lowDone() {
    for (const v of this.sel) {
      if (!v.low) continue;
      if (!v.low.batches) return false;
      for (let b = 0; b < this.nb; b++) if (this.left(v.low, b)) return false;
    }
    return true;
  }

  /** Edges of the selected heads that are drawn, and those too faint to draw. */
  counts() {
    let m = 0, faint = 0;
    for (const v of this.sel) { m += v.m; faint += v.faint; }
    return { m, faint };
  }

  /** The focused token's edges (or null), drawn on top of the dimmed picture. */
  setFocus(E) {
    this.focus = E;
    this.needShow.fill(1);
    this.canvas.dataset.painted = this.canvas.dataset.complete = this.canvas.dataset.ready = "0";
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

  /** Queue background work. */
  kick() {
    if (this.queued) return;
    this.queued = true;
    this.post();
  }

  /** What is left to paint of variant v in band b: [edges, from], or null. */
  left(v, b) {
    while (v.bi[b] < v.batches.length && v.pos[b] >= v.batches[v.bi[b]].m) { v.bi[b]++; v.pos[b] = 0; }
    return v.bi[b] < v.batches.length ? v.batches[v.bi[b]] : null;
  }

  /** Paint band b of variant v (or of a picture a step lower, not `shown`), one chunk of edges. */
  paintStep(v, b, shown = true) {
    const E = this.left(v, b), dpr = this.dpr, c = this.canvas;
    if (!E) return;
    const lo = v.pos[b], hi = Math.min(E.m, lo + this.chunk), t0 = performance.now();
    for (let L = 0; L < NK; L++) {
      if (E.used[L] && !v.cv[L]) {
        let cv = this.pool.take(L);
        if (cv) { // cleared band by band, but for the bands painted already
          if (v.clean.some((x) => x)) cv.getContext("2d").clearRect(0, 0, cv.width, cv.height);
        } else {
          cv = document.createElement("canvas");
          cv.width = c.width;
          cv.height = this.layerRows(L);
        }
        v.size += cv.width * cv.height * 4;
        v.cv[L] = cv;
      }
    }
    if (!v.clean[b]) this.clear(v, b);
    const top = (b * this.bandDev) / dpr, bottom = ((b + 1) * this.bandDev) / dpr, H = Math.max(1, this.colors.length);
    trace(E, lo, hi, top, bottom, X_PAD * dpr, c.width - 2 * X_PAD * dpr, (g) => {
      const L = Math.floor(g / (H * NL)), ctx = v.cv[L].getContext("2d");
      style(ctx, this.colors[Math.floor(g / NL) % H], LEVEL_ALPHA[g % NL], dpr);
      return [ctx, dpr / K[L]];
    });
    for (const cv of v.cv) if (cv) cv.getContext("2d").globalAlpha = 1;
    v.pos[b] = hi;
    // a stroke cut at a band edge reaches a pixel into the next band, whose tile also holds
    // a row of this one: compose the neighbours again
    if (shown) for (let u = Math.max(0, b - 1); u <= Math.min(this.nb - 1, b + 1); u++) this.needMix[u] = 1;
    const dt = performance.now() - t0;
    if (hi - lo >= this.chunk || dt > STEP_MS) { // size the next chunk to the step
      this.chunk = Math.max(1000, Math.min(1 << 20, Math.round(((hi - lo) * STEP_MS) / Math.max(dt, 0.25))));
    }
  }

  /** Clear what an earlier edge set left in band b of a head's canvases, before painting
   *  it: band by band, as a clear of whole canvases costs as much as painting. Strokes
   *  reach SPILL rows past their band, so a band also clears SPILL rows of each neighbour
   *  not cleared yet, and leaves alone those a cleared neighbour took (and painted). */
  clear(v, b) {
    const y0 = b * this.bandDev, y1 = Math.min(this.canvas.height, y0 + this.bandDev);
    for (let L = 0; L < NK; L++) {
      const cv = v.cv[L];
      if (!cv) continue;
      const k = K[L], lo = y0 / k + (b > 0 && v.clean[b - 1] ? SPILL : -SPILL);
      const hi = Math.ceil(y1 / k) + (b + 1 < this.nb && v.clean[b + 1] ? -SPILL : SPILL);
      cv.getContext("2d").clearRect(0, lo, cv.width, hi - lo);
    }
    v.clean[b] = 1;
  }

  painted(b) { return this.sel.every((v) => !this.left(v, b)); }

  layerRows(L) { return Math.ceil(this.canvas.height / K[L]); }

  /** Compose band b of each layer into its tile: the selected heads' canvases over each
   *  other in head order, the band's layer rows and one more on each side (the stretch
   *  blends across band edges). Tiles are per band, so that showing a band never waits
   *  for a copy of a canvas another band still reads from. */
  compose(b) {
    const w = this.canvas.width, y0 = b * this.bandDev, y1 = Math.min(this.canvas.height, y0 + this.bandDev);
    const tiles = this.tiles[b] || (this.tiles[b] = []);
    for (let L = 0; L < NK; L++) {
      if (!this.used[L]) continue;
      const k = K[L], top = y0 / k - 1, r0 = Math.max(0, top), r1 = Math.min(this.layerRows(L), Math.ceil(y1 / k) + 1);
      let tile = tiles[L];
      if (!tile) {
        tile = tiles[L] = document.createElement("canvas");
        tile.width = w;
        tile.height = this.bandDev / k + 2;
      }
      const ctx = tile.getContext("2d");
      ctx.clearRect(0, 0, w, tile.height);
      for (const v of this.sel) if (v.used[L]) ctx.drawImage(v.cv[L], 0, r0, w, r1 - r0, 0, r0 - top, w, r1 - r0);
    }
    this.needMix[b] = 0;
    this.needShow[b] = 1;
  }

  /** Show band b: its tiles stretched back to full height (most stretched first),
   *  dimmed while a token is focused, with that token's edges stroked on top. */
  present(b) {
    const c = this.canvas, ctx = c.getContext("2d"), w = c.width, dpr = this.dpr, F = this.focus;
    const y0 = b * this.bandDev, y1 = Math.min(c.height, y0 + this.bandDev);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.beginPath();
    ctx.rect(0, y0, w, y1 - y0);
    ctx.clip();
    ctx.clearRect(0, y0, w, y1 - y0);
    ctx.globalAlpha = F ? DIM : 1;
    for (let L = NK - 1; L >= 0; L--) {
      if (!this.used[L]) continue;
      const k = K[L], top = y0 / k - 1, tile = this.tiles[b][L];
      const sy = Math.max(0, top), sh = Math.min(this.layerRows(L), Math.ceil(y1 / k) + 1) - sy;
      if (sh > 0) ctx.drawImage(tile, 0, sy - top, w, sh, 0, sy * k, w, sh * k);
    }
    ctx.globalAlpha = 1;
    if (F && F.m) {
      trace(F, 0, F.m, y0 / dpr, y1 / dpr, X_PAD * dpr, w - 2 * X_PAD * dpr, (g) => {
        style(ctx, this.colors[Math.floor(g / NL)], LEVEL_ALPHA[g % NL], dpr);
        return [ctx, dpr];
      });
    }
    ctx.restore();
    this.needShow[b] = 0;
  }

  /** Compose and show the painted bands of `bands` that need it, until `end` (ms). */
  show(bands, end) {
    for (const v of bands) {
      if (performance.now() > end) return;
      if (!this.painted(v)) continue;
      if (this.needMix[v]) this.compose(v);
      if (this.needShow[v]) this.present(v);
    }
  }

  /** Do the work: the bands in view at once, then, unless `now`, the others, nearest
   *  first, until the idle deadline (or SLICE_MS). Each call paints, then composes, then
   *  shows: a canvas written to while another one's pending drawing still reads it is
   *  copied whole first, so reads and writes are not interleaved. */
  work(now, deadline, view = this.inView()) {
    const t0 = performance.now(), nb = this.nb;
    const end = t0 + (now ? VISIBLE_MS : Math.max(1, Math.min(SLICE_MS, deadline ? deadline.timeRemaining() : SLICE_MS)));
    const c = view ? (view[0] + view[1]) / 2 : 0, near = [...Array(nb).keys()].sort((a, b) => Math.abs(a - c) - Math.abs(b - c));
    const inView = (v) => !!view && v >= view[0] && v <= view[1];
    const bands = now ? near.filter(inView) : [...near.filter(inView), ...near.filter((v) => !inView(v))];
    if (!now) this.show(bands, end); // what earlier tasks painted
    let done = true;
    paint: for (const v of bands) {
      for (const hv of this.sel) {
        while (this.left(hv, v)) {
          this.paintStep(hv, v);
          if (performance.now() > end) { done = false; break paint; }
        }
      }
    }
    this.show(bands, now ? Infinity : end);
    // then, in idle time, the pictures a step lower
    if (!now && done) {
      low: for (const v of bands) {
        for (const hv of this.sel) {
          if (!hv.low) continue;
          makeLower(hv.low);
          while (performance.now() < end && this.left(hv.low, v)) this.paintStep(hv.low, v, false);
          if (performance.now() >= end) break low;
        }
      }
    }
    this.flags(view);
  }

  flags(view) {
    let visibleDone = true, complete = true;
    for (let v = 0; v < this.nb; v++) {
      if (this.painted(v) && !this.needMix[v] && !this.needShow[v]) continue;
      complete = false;
      if (view && v >= view[0] && v <= view[1]) visibleDone = false;
    }
    const ready = complete && this.lowDone();
    this.canvas.dataset.painted = visibleDone ? "1" : "0";
    this.canvas.dataset.complete = complete ? "1" : "0";
    this.canvas.dataset.ready = ready ? "1" : "0";
    if (!ready) this.kick();
  }
}

// What the head view draws, and how an edge becomes a stroke (headview-paint.js
// caches and composes the strokes; svg-headview.js writes the same lines as SVG):
//  - An edge's opacity is its attention weight, as in bertviz: alpha = w/255 for
//    the byte w, quantised into LEVEL_ALPHA levels (exact up to w = 16, then ~6%
//    wide) so that each (head, level) is one canvas path, 1 device px wide.
//  - Edges with w < MIN_W are "too faint to draw" (Chromium's 8-bit canvas rounds
//    a line of alpha 1/255 away) and counted in `faint`.
//  - Steep lines are rasterised at a lower vertical resolution: an edge that drops
//    more than k times the width goes into a layer 1/k as tall (k = 2, 4, 8, 16),
//    stretched back when shown; strong edges (w >= CRISP_W) stay full-res.

export const ROW = 18;         // px per token row; must match --row in app.css
export const MIN_W = 2;        // visibility floor, in weight bytes (see above)
const CRISP_W = 16;            // edges at least this strong are always drawn full-res (on top)
export const K = [1, 2, 4, 8, 16]; // vertical resolution divisors of the layers
export const X_PAD = 1;        // css px between a token column and the line ends
export const DIM = 0.15;       // opacity of the other edges while a token is hovered/pinned

// weight byte -> opacity level; level -> alpha (mean weight of the level / 255)
// (one name per export statement: the offline export's bundler reads them so)
export const LEVEL_OF = new Uint8Array(256);
export const LEVEL_ALPHA = [];
for (let lo = MIN_W; lo <= 255;) {
  const hi = Math.min(255, Math.max(lo, Math.floor(lo * 1.06)));
  LEVEL_OF.fill(LEVEL_ALPHA.length, lo, hi + 1);
  LEVEL_ALPHA.push((lo + hi) / 2 / 255);
  lo = hi + 1;
}
export const NL = LEVEL_ALPHA.length;
export const NK = K.length;

/** The drawable edges of some heads (parts of pruneEdges, by head; those kept above mass
 *  `above`, if given, and at mass `upto`, if given) ordered by (layer L, head, level),
 *  keeping the pruning's order within each: group g = (L * H + head) * NL + level;
 *  `start[L]` indexes layer L. */
export function headEdges(parts, rowOf, dx, H, above = 0, upto = 0) {
  const half = ROW / 2, count = new Uint32Array(NK * H * NL + 1);
  const grps = parts.map(({ head, r }) => {
    const { n, eq, ek, ew, et } = r, grp = new Int32Array(n).fill(-1);
    for (let e = 0; e < n; e++) {
      const w = ew[e];
      if (w < MIN_W || (above && et[e] <= above) || (upto && et[e] > upto)) continue;
      const drop = Math.abs(rowOf[eq[e]] - rowOf[ek[e]]) * ROW; // layer: the largest k with drop >= k * width
      let L = 0;
      if (w < CRISP_W) while (L + 1 < NK && drop >= K[L + 1] * dx) L++;
      grp[e] = (L * H + head) * NL + LEVEL_OF[w];
      count[grp[e] + 1]++;
    }
    return grp;
  });
  for (let g = 0; g < NK * H * NL; g++) count[g + 1] += count[g];
  const m = count[NK * H * NL], start = new Uint32Array(NK + 1), used = new Uint8Array(NK);
  for (let L = 0; L <= NK; L++) start[L] = count[L * H * NL];
  for (let L = 0; L < NK; L++) used[L] = start[L + 1] > start[L] ? 1 : 0;
  const E = { m, start, used, g: new Uint16Array(m), ya: new Float32Array(m), yb: new Float32Array(m),
    q: new Uint16Array(m), k: new Uint16Array(m) };
  parts.forEach(({ r: { n, eq, ek } }, i) => {
    const grp = grps[i];
    for (let e = 0; e < n; e++) {
      if (grp[e] < 0) continue;
      const o = count[grp[e]]++;
      E.g[o] = grp[e];
      E.q[o] = eq[e];
      E.k[o] = ek[e];
      E.ya[o] = rowOf[eq[e]] * ROW + half;
      E.yb[o] = rowOf[ek[e]] * ROW + half;
    }
  });
  return E;
}

/** Stroke the part inside [top, bottom) css px of edges E[lo..hi): a new path whenever
 *  E.g changes, set up by begin(g) -> [ctx, y scale]. x0/span in device px. */
export function trace(E, lo, hi, top, bottom, x0, span, begin) {
  const { g, ya, yb } = E;
  let cur = -1, ctx = null, s = 1;
  for (let o = lo; o < hi; o++) {
    const a = ya[o], c = yb[o];
    let t0 = 0, t1 = 1;
    if (a === c) {
      if (a < top || a >= bottom) continue;
    } else {
      const ta = (top - a) / (c - a), tb = (bottom - a) / (c - a);
      t0 = Math.max(0, Math.min(ta, tb));
      t1 = Math.min(1, Math.max(ta, tb));
      if (t1 <= t0) continue;
    }
    if (g[o] !== cur) { // edges arrive grouped: one path per group
      if (cur >= 0) ctx.stroke();
      cur = g[o];
      [ctx, s] = begin(cur);
      ctx.beginPath();
    }
    ctx.moveTo(x0 + span * t0, (a + (c - a) * t0) * s);
    ctx.lineTo(x0 + span * t1, (a + (c - a) * t1) * s);
  }
  if (cur >= 0) ctx.stroke();
}

// 1 device px lines: software rasterisers have a fast path for them (1.5 px was
// ~25x slower); on high-dpi screens the opacity makes up for the width
export function style(ctx, color, alpha, dpr) {
  ctx.lineWidth = 1;
  ctx.strokeStyle = color;
  ctx.globalAlpha = Math.min(1, alpha * dpr);
}

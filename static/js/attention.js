// Decoding and pruning of the compact attention format (docs/api.md):
// attention.layers["L"] = base64 of H*T*T bytes, laid out [head][query][key],
// value = byte / scale. Pruning works on the raw bytes (integer sums, exact).

const decoded = new WeakMap(); // response -> Map(layer -> Uint8Array)

/** Uint8Array of one layer, decoded once per response and layer; null if not sent. */
export function layerBytes(resp, layer) {
  let perLayer = decoded.get(resp);
  if (!perLayer) decoded.set(resp, (perLayer = new Map()));
  if (perLayer.has(layer)) return perLayer.get(layer);
  const b64 = resp.attention && resp.attention.layers && resp.attention.layers[String(layer)];
  if (!b64) return null;
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  perLayer.set(layer, out);
  return out;
}

export const hasLayer = (resp, layer) =>
  !!(resp && resp.attention && resp.attention.layers && resp.attention.layers[String(layer)]);

// 12 well-separated colours (Tableau-like); beyond 12 heads we walk the hue
// circle by the golden angle so any head count still gets distinct colours.
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#e7ba52"];
export function headColors(n) {
  const out = [];
  for (let h = 0; h < n; h++) {
    out.push(h < PALETTE.length ? PALETTE[h]
      : `hsl(${Math.round((h * 137.508) % 360)} 65% ${h % 2 ? 38 : 52}%)`);
  }
  return out;
}

// pair filter -> [query segment, key segment] (null = any)
const PAIRS = { all: [null, null], ab: ["a", "b"], ba: ["b", "a"], aa: ["a", "a"], bb: ["b", "b"] };

/** Which tokens may be queries (rows) and keys (columns) under the filters. */
export function tokenMasks(tokens, filter, hideSpecial) {
  const [qs, ks] = PAIRS[filter] || PAIRS.all;
  const T = tokens.length, q = new Uint8Array(T), k = new Uint8Array(T);
  tokens.forEach((t, i) => {
    if (hideSpecial && t.special) return;
    if (!qs || t.segment === qs) q[i] = 1;
    if (!ks || t.segment === ks) k[i] = 1;
  });
  return { q, k };
}

const pruned = new WeakMap(); // layer bytes -> Map("T|mass|masks|head" -> that head's kept edges)

/**
 * Keep, for every selected head and visible query row, the smallest set of
 * largest edges whose weights reach `mass`% of the row's mass over the
 * visible keys. Returns parallel typed arrays (one entry per kept edge).
 * Each head's result is cached per (layer, filters, mass): toggling a head
 * only prunes that head (if it was never shown with these settings).
 */
export function pruneEdges(bytes, T, heads, masks, mass) {
  let memo = pruned.get(bytes);
  if (!memo) pruned.set(bytes, (memo = new Map()));
  if (memo.size > 48) memo.clear(); // a few settings × 12 heads
  const tag = `${T}|${mass}|${masks.q.join("")}|${masks.k.join("")}|`;
  const parts = heads.map((h) => {
    let r = memo.get(tag + h);
    if (!r) memo.set(tag + h, (r = pruneHead(bytes, T, h, masks, mass)));
    return r;
  });
  let n = 0;
  for (const r of parts) n += r.n;
  const eh = new Uint8Array(n), eq = new Uint16Array(n), ek = new Uint16Array(n), ew = new Uint8Array(n);
  let o = 0;
  parts.forEach((r, i) => {
    eh.fill(heads[i], o, o + r.n);
    eq.set(r.eq, o);
    ek.set(r.ek, o);
    ew.set(r.ew, o);
    o += r.n;
  });
  return { n, eh, eq, ek, ew };
}

function pruneHead(bytes, T, h, masks, mass) {
  const keys = [];
  for (let j = T - 1; j >= 0; j--) if (masks.k[j]) keys.push(j); // descending: ties go to the larger key
  const rows = [];
  for (let i = 0; i < T; i++) if (masks.q[i]) rows.push(i);
  const cap = rows.length * keys.length;
  const eq = new Uint16Array(cap), ek = new Uint16Array(cap), ew = new Uint8Array(cap);
  const hist = new Uint32Array(256);
  let n = 0;
  for (const i of rows) {
    const base = (h * T + i) * T;
    let total = 0;
    hist.fill(0);
    for (const j of keys) {
      const w = bytes[base + j];
      total += w;
      hist[w]++;
    }
    if (!total) continue;
    // Walking the weights from the top, as a sort by (weight, key) would:
    // every edge above the threshold weight wt, then `take` of those at wt.
    const goal = total * mass; // reached when acc * 100 >= goal
    let acc = 0, wt = 255, take = 0;
    for (; wt > 0; wt--) {
      const c = hist[wt];
      if (!c) continue;
      if ((acc + c * wt) * 100 < goal) { acc += c * wt; continue; }
      take = Math.max(0, Math.ceil((goal - acc * 100) / (wt * 100)));
      break;
    }
    for (const j of keys) {
      const w = bytes[base + j];
      if (w > wt || (w === wt && w && take-- > 0)) { eq[n] = i; ek[n] = j; ew[n] = w; n++; }
    }
  }
  // keep only what was filled (the arrays live in the cache)
  return { n, eq: eq.slice(0, n), ek: ek.slice(0, n), ew: ew.slice(0, n) };
}

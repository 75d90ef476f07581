// Decoding and pruning of the compact attention format (docs/reference/api.md):
// attention.layers["L"] = base64 of H*T*T bytes, laid out [head][query][key],
// value = byte / scale. Pruning works on the raw bytes (integer sums, exact).

const decoded = new WeakMap(); // response -> Map(layer -> Uint8Array)
const decodedThumbs = new WeakMap(); // response -> Map(layer -> Uint8Array) of its thumbnails

/** Uint8Array of one layer, decoded once per response and layer; null if not sent. */
export function layerBytes(resp, layer) {
  return decodeLayer(decoded, resp, resp.attention, layer);
}

/** Uint8Array of one layer's thumbnails (H*s*s bytes, "thumbnails" in docs/reference/api.md); null if not sent. */
export function thumbBytes(resp, layer) {
  return decodeLayer(decodedThumbs, resp, resp.thumbnails, layer);
}

function decodeLayer(cache, resp, part, layer) {
  let perLayer = cache.get(resp);
  if (!perLayer) cache.set(resp, (perLayer = new Map()));
  if (perLayer.has(layer)) return perLayer.get(layer);
  const b64 = part && part.layers && part.layers[String(layer)];
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
const ranked = new WeakMap(); // layer bytes -> Map("T|head" -> rows ranked) and Map("T|masks|head" -> row totals)
const MEMO = 96;              // kept edge sets per layer (a few settings x 12 heads), oldest dropped first

function remember(map, key, make) {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
    for (const k of map.keys()) { if (map.size <= MEMO) break; map.delete(k); }
  }
  return v;
}

/**
 * Keep, for every selected head and visible query row, the smallest set of
 * largest edges whose weights reach `mass`% of the row's mass over the
 * visible keys. Returns parallel typed arrays (one entry per kept edge), and
 * `parts`: per selected head {head, r, bytes, key, base, mass}: r its edges
 * ({n, eq, ek, ew, et}, et = the smallest mass at which the edge is kept, so
 * the edges at a lower mass are those with et <= mass), (bytes, key) naming the
 * settings they were pruned with and (bytes, base) the same but the mass (a
 * painter may keep what it drew for a head while these stay the same).
 * Each row's keys are ranked by weight once per (layer, head), and each head's
 * result is cached per (layer, filters, mass): moving the mass only walks the
 * ranked rows (one step down, only picks the edges of the result one step up),
 * toggling a head only prunes that head (if it was never shown with these settings).
 */
export function pruneEdges(bytes, T, heads, masks, mass) {
  let memo = pruned.get(bytes);
  if (!memo) pruned.set(bytes, (memo = new Map()));
  const mtag = `${masks.q.join("")}|${masks.k.join("")}|`, tag = `${T}|${mass}|${mtag}`;
  const parts = heads.map((h) => ({ head: h, bytes, key: tag + h, base: `${T}|${mtag}${h}`, mass,
    r: remember(memo, tag + h, () => {
      const up = memo.get(`${T}|${mass + 1}|${mtag}${h}`);
      return up ? keptAt(up, mass) : pruneHead(bytes, T, h, masks, mass, mtag);
    }) }));
  let n = 0;
  for (const p of parts) n += p.r.n;
  const eh = new Uint8Array(n), eq = new Uint16Array(n), ek = new Uint16Array(n), ew = new Uint8Array(n);
  let o = 0;
  for (const { head, r } of parts) {
    eh.fill(head, o, o + r.n);
    eq.set(r.eq, o);
    ek.set(r.ek, o);
    ew.set(r.ew, o);
    o += r.n;
  }
  return { n, eh, eq, ek, ew, parts };
}

/** The edges of r (one head pruned at a higher mass) kept at `mass`: those with et <= mass,
 *  in the same order, which is what pruneHead gives at that mass. */
function keptAt(r, mass) {
  let n = 0;
  for (let e = 0; e < r.n; e++) if (r.et[e] <= mass) n++;
  const eq = new Uint16Array(n), ek = new Uint16Array(n), ew = new Uint8Array(n), et = new Uint8Array(n);
  for (let e = 0, o = 0; e < r.n; e++) {
    if (r.et[e] > mass) continue;
    eq[o] = r.eq[e]; ek[o] = r.ek[e]; ew[o] = r.ew[e]; et[o] = r.et[e]; o++;
  }
  return { n, eq, ek, ew, et };
}

/** Each query row's keys of head h by (weight desc, key desc), zero weights left out. */
function rankHead(bytes, T, h) {
  const order = new Uint16Array(T * T), len = new Uint16Array(T), at = new Uint32Array(256);
  for (let i = 0; i < T; i++) {
    const base = (h * T + i) * T;
    at.fill(0);
    for (let j = 0; j < T; j++) at[bytes[base + j]]++;
    let p = i * T;
    for (let w = 255; w > 0; w--) { const c = at[w]; at[w] = p; p += c; }
    len[i] = p - i * T;
    for (let j = T - 1; j >= 0; j--) { const w = bytes[base + j]; if (w) order[at[w]++] = j; }
  }
  return { order, len };
}

function pruneHead(bytes, T, h, masks, mass, mtag) {
  let aux = ranked.get(bytes);
  if (!aux) ranked.set(bytes, (aux = new Map()));
  const { order, len } = remember(aux, `${T}|${h}`, () => rankHead(bytes, T, h));
  const totals = remember(aux, `${T}|${mtag}${h}`, () => { // each row's mass over the visible keys
    const tot = new Float64Array(T);
    for (let i = 0; i < T; i++) {
      if (!masks.q[i]) continue;
      const base = (h * T + i) * T;
      let s = 0;
      for (let j = 0; j < T; j++) if (masks.k[j]) s += bytes[base + j];
      tot[i] = s;
    }
    return tot;
  });
  let cap = 1024, n = 0;
  let eq = new Uint16Array(cap), ek = new Uint16Array(cap), ew = new Uint8Array(cap), et = new Uint8Array(cap);
  const kept = new Uint16Array(T), since = new Uint8Array(T), mk = masks.k;
  for (let i = 0; i < T; i++) {
    const total = totals[i];
    if (!total) continue;
    // The shortest prefix of the ranked row (visible keys only) whose weights reach
    // the goal: every edge above some weight wt, then the largest keys at wt.
    const goal = total * mass; // reached when acc * 100 >= goal
    let acc = 0, c = 0;
    for (let p = i * T, end = p + len[i]; p < end; p++) {
      const j = order[p];
      if (!mk[j]) continue;
      // kept from the mass at which the edges ranked above it stop reaching the goal
      since[j] = Math.floor((acc * 100) / total) + 1;
      kept[c++] = j;
      acc += bytes[(h * T + i) * T + j];
      if (acc * 100 >= goal) break;
    }
    if (n + c > cap) {
      while (n + c > cap) cap *= 2;
      const grow = (a, A) => { const b = new A(cap); b.set(a.subarray(0, n)); return b; };
      eq = grow(eq, Uint16Array); ek = grow(ek, Uint16Array); ew = grow(ew, Uint8Array); et = grow(et, Uint8Array);
    }
    const ks = kept.subarray(0, c).sort(); // written out by key, descending
    for (let x = c - 1; x >= 0; x--) {
      const j = ks[x];
      eq[n] = i; ek[n] = j; ew[n] = bytes[(h * T + i) * T + j]; et[n] = since[j]; n++;
    }
  }
  // keep only what was filled (the arrays live in the cache)
  return { n, eq: eq.slice(0, n), ek: ek.slice(0, n), ew: ew.slice(0, n), et: et.slice(0, n) };
}

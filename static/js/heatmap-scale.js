// What every heatmap shares: the colour scale (linear, log or rank) as positions in 0..1 (or -1..1
// for signed values such as broken − held), the legend's ticks and words, and which labels to write
// when there are too many to write them all: a label every k-th row or column, never a smaller font.

export const SCALES = ["linear", "log", "rank"];
export const LABEL_PX = 11;     // the labels' font size: never shrunk below this (thinned instead)
export const MIN_GAP_PX = 12;   // centre-to-centre room one label needs across its reading direction

const SCALE_WORDS = {
  linear: "linear colour scale",
  log: "log colour scale (values below 1/1000 of the largest share one colour)",
  rank: "rank colour scale (each cell coloured by its rank among all cells)",
};

/** The legend's words for a scale ("colour: log scale ..."). */
export const scaleWords = (scale) => SCALE_WORDS[scale] || SCALE_WORDS.linear;

const finite = (v) => v != null && Number.isFinite(v);

/**
 * Colour positions of `values` (an array or typed array; null/NaN stay null) under `scale`.
 * Non-negative values map to 0..1, signed values to -1..1 (0 stays 0, so a diverging palette
 * keeps its middle). `top` fixes the largest magnitude (the attention's 1) instead of the data's.
 * Returns {pos, ticks: [{pos, label}], signed}: the ticks are original values at their positions.
 */
export function scaled(values, scale, top = null) {
  const n = values.length, pos = new Array(n);
  let max = 0, signed = false;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!finite(v)) continue;
    if (v < 0) signed = true;
    max = Math.max(max, Math.abs(v));
  }
  if (top != null) max = top;
  if (!(max > 0)) max = 1;
  if (scale === "rank") return rankScaled(values, signed);
  const floor = max / 1000, logTop = Math.log10(max / floor);
  const at = scale === "log"
    ? (a) => Math.max(0, Math.log10(Math.max(a, floor) / floor)) / logTop
    : (a) => a / max;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    pos[i] = finite(v) ? Math.sign(v) * Math.min(1, at(Math.abs(v))) : null;
  }
  const marks = scale === "log" ? [floor, max / 100, max / 10, max] : [0, max / 4, max / 2, (3 * max) / 4, max];
  const ticks = [];
  for (const m of marks) {
    ticks.push({ pos: m ? at(m) : 0, label: fmtTick(m) });
    if (signed && m) ticks.unshift({ pos: -at(m), label: fmtTick(-m) });
  }
  return { pos, ticks, signed };
}

/** Rank positions: magnitudes ranked among all finite cells (ties share their mean rank), sign kept. */
function rankScaled(values, signed) {
  const idx = [];
  for (let i = 0; i < values.length; i++) if (finite(values[i])) idx.push(i);
  const mag = (i) => Math.abs(values[i]);
  idx.sort((a, b) => mag(a) - mag(b));
  const pos = new Array(values.length).fill(null), last = Math.max(1, idx.length - 1);
  for (let s = 0; s < idx.length;) {
    let e = s;
    while (e + 1 < idx.length && mag(idx[e + 1]) === mag(idx[s])) e++;
    const r = (s + e) / 2 / last;
    for (let k = s; k <= e; k++) pos[idx[k]] = Math.sign(values[idx[k]]) * r || 0;
    s = e + 1;
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((q) => {
    const i = idx[Math.round(q * (idx.length - 1))];
    return { pos: q, label: i == null ? "" : fmtTick(mag(i)) + (q ? "" : " (lowest)") };
  });
  if (signed) for (const t of ticks.slice(1)) ticks.unshift({ pos: -t.pos, label: "−" + t.label });
  return { pos, ticks, signed };
}

function fmtTick(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 0.01 && a < 1000 ? String(+v.toPrecision(2)) : v.toExponential(0);
}

/** The indices of n rows (or columns) spanning `spanPx` that get a label: every k-th one, k the
 *  smallest of 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, ... that leaves `gapPx` between labels. */
export function thinned(n, spanPx, gapPx = MIN_GAP_PX) {
  const per = spanPx / Math.max(1, n);
  let step = 1;
  const steps = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128];
  for (const s of steps) { step = s; if (s * per >= gapPx) break; }
  const out = [];
  for (let i = 0; i < n; i += step) out.push(i);
  return out;
}

/** A plotly heatmap trace's colour fields for the scale: z as positions, the colour bar's ticks at
 *  original values, its title saying the scale. `base` holds the trace's other colorbar fields. */
export function plotlyScale(z, scale, colorbarTitle) {
  const flat = z.flat(), s = scaled(flat, scale);
  const W = z.length ? z[0].length : 0, pos = [];
  for (let r = 0; r < z.length; r++) pos.push(s.pos.slice(r * W, (r + 1) * W));
  return {
    z: pos, zmin: s.signed ? -1 : 0, zmax: 1, zmid: s.signed ? 0 : undefined,
    colorbar: { title: { text: `${colorbarTitle}<br>(${scale})`, font: { size: LABEL_PX } },
                tickvals: s.ticks.map((t) => t.pos), ticktext: s.ticks.map((t) => t.label), tickfont: { size: LABEL_PX } },
  };
}

/** A "Colour: linear/log/rank" select, placed before `anchor`, calling onChange(scale). */
export function scaleControl(anchor, id, initial, onChange) {
  let sel = document.getElementById(id);
  if (!sel) {
    const label = document.createElement("label");
    label.className = "scale-control";
    sel = document.createElement("select");
    sel.id = id;
    sel.append(...SCALES.map((s) => new Option(s, s)));
    sel.title = "how values map to colours: linear, log (small values told apart), rank (each cell by its rank)";
    label.append("Colour ", sel);
    anchor.before(label);
    sel.addEventListener("change", () => onChange(sel.value));
  }
  sel.value = SCALES.includes(initial) ? initial : "linear";
  return sel;
}

// One head's token x token attention as a canvas heatmap (rows = queries, columns = keys): the matrix
// is one image (a pixel per cell, scaled up without smoothing), the token labels are thinned rather
// than shrunk (a label every k-th token, 11 px, keys at -60°), and a colour bar says the scale. The
// same drawing gives the SVG download (labels as text, the matrix as an embedded image).

import { scaled, scaleWords, thinned, LABEL_PX, MIN_GAP_PX } from "./heatmap-scale.js";

const NS = "http://www.w3.org/2000/svg";
const FONT = `${LABEL_PX}px system-ui, sans-serif`;
const LOW = [255, 255, 255], HIGH = [8, 48, 107]; // white -> navy, as the thumbnails
const MAX_LABEL = 14;                             // characters of a token label before an ellipsis
const ROW_LABELS = 112, COL_LABELS = 96, TITLE = 24, BAR = 70;
// the axes' and the colour bar's titles (what a row, a column and a colour are)
export const AXIS_TITLES = { rows: "query token (row)", cols: "key token (column)", bar: "attention" };

const colour = (t) => LOW.map((c, i) => Math.round(c + (HIGH[i] - c) * t));
const short = (s) => (s.length > MAX_LABEL ? s.slice(0, MAX_LABEL - 1) + "…" : s);

/** The layout of a T-token heatmap in at most `size` css px of matrix. */
function layout(T, size) {
  const cell = Math.max(size / T >= 1 ? Math.floor(size / T) : size / T, 0.5);
  const side = cell * T;
  // keys are written at -60°: two labels need MIN_GAP_PX / sin(60°) apart along the axis
  const rows = thinned(T, side), cols = thinned(T, side, MIN_GAP_PX / Math.sin(Math.PI / 3));
  return { T, cell, side, rows, cols, x0: ROW_LABELS, y0: TITLE, width: ROW_LABELS + side + BAR, height: TITLE + side + COL_LABELS };
}

/** An offscreen canvas of T x T pixels: the cells' colours under the scale. */
function matrixImage(values, T, scale) {
  const s = scaled(values, scale, scale === "rank" ? null : 1);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = T;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(T, T), px = img.data;
  for (let c = 0; c < T * T; c++) {
    const [r, g, b] = colour(s.pos[c] || 0);
    px[4 * c] = r; px[4 * c + 1] = g; px[4 * c + 2] = b; px[4 * c + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return { canvas, ticks: s.ticks };
}

/**
 * Draw into `host` (replacing what it holds). spec: {values (T*T, 0..1, row-major), labels, title, scale}.
 * Returns the drawing (for hover, tests and downloads).
 */
export function drawTokenHeatmap(host, spec, size = 544) {
  const T = spec.labels.length, L = layout(T, size), dpr = window.devicePixelRatio || 1;
  const m = matrixImage(spec.values, T, spec.scale);
  const canvas = document.createElement("canvas");
  canvas.className = "heatmap-canvas";
  canvas.width = Math.round(L.width * dpr);
  canvas.height = Math.round(L.height * dpr);
  canvas.style.width = L.width + "px";
  canvas.style.height = L.height + "px";
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  paint(ctx, L, m, spec);
  const drawing = { ...L, spec, ticks: m.ticks, matrix: m.canvas, canvas };
  canvas.dataset.scale = spec.scale;
  canvas.dataset.rowLabels = L.rows.length;
  canvas.dataset.colLabels = L.cols.length;
  canvas.setAttribute("aria-label", spec.title + " · " + scaleWords(spec.scale));
  canvas.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    const q = Math.floor((e.clientY - r.top - L.y0) / L.cell), k = Math.floor((e.clientX - r.left - L.x0) / L.cell);
    canvas.title = q >= 0 && k >= 0 && q < T && k < T
      ? `${spec.labels[q]} → ${spec.labels[k]}: ${spec.values[q * T + k].toFixed(3)}` : "";
  });
  host.replaceChildren(canvas);
  host.drawing = drawing;
  return drawing;
}

/** Title, matrix, thinned labels and the colour bar, in css px. */
function paint(ctx, L, m, spec) {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, L.width, L.height);
  ctx.fillStyle = "#1d232b";
  ctx.font = `600 ${LABEL_PX + 2}px system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  ctx.fillText(spec.title, 4, TITLE / 2);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(m.canvas, L.x0, L.y0, L.side, L.side);
  ctx.font = FONT;
  ctx.textAlign = "right";
  for (const q of L.rows) ctx.fillText(short(spec.labels[q]), L.x0 - 4, L.y0 + (q + 0.5) * L.cell);
  for (const k of L.cols) {
    ctx.save();
    ctx.translate(L.x0 + (k + 0.5) * L.cell, L.y0 + L.side + 4);
    ctx.rotate(-Math.PI / 3);
    ctx.fillText(short(spec.labels[k]), 0, 0);
    ctx.restore();
  }
  // colour bar: 0..1 bottom to top, ticks at original values
  const bx = L.x0 + L.side + 12, by = L.y0, bh = Math.min(L.side, 240);
  for (let y = 0; y < bh; y++) {
    const [r, g, b] = colour(1 - y / bh);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(bx, by + y, 12, 1);
  }
  ctx.strokeStyle = "#98a2b3";
  ctx.strokeRect(bx, by, 12, bh);
  ctx.fillStyle = "#1d232b";
  ctx.textAlign = "left";
  for (const t of m.ticks) ctx.fillText(t.label, bx + 16, by + bh * (1 - t.pos));
  ctx.fillText(spec.scale, bx, by + bh + 12);
  const t = axisTitles(L);
  ctx.font = `600 ${FONT}`;
  ctx.fillText(AXIS_TITLES.bar, t.bar.x, t.bar.y);
  ctx.textAlign = "center";
  ctx.fillText(AXIS_TITLES.cols, t.cols.x, t.cols.y);
  ctx.save();
  ctx.translate(t.rows.x, t.rows.y);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(AXIS_TITLES.rows, 0, 0);
  ctx.restore();
}

/** Where the axis titles go: the rows' written upwards at the left edge, the columns' under the key
 *  labels, the colour bar's above the bar (the drawing's title line). */
function axisTitles(L) {
  return { rows: { x: 8, y: L.y0 + L.side / 2 }, cols: { x: L.x0 + L.side / 2, y: L.y0 + L.side + COL_LABELS - 8 },
           bar: { x: L.x0 + L.side + 12, y: TITLE / 2 } };
}

const svgEl = (name, attrs, text) => {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text != null) node.textContent = text;
  return node;
};

/** The drawing as an <svg> element (labels as text, the matrix as an embedded PNG). */
export function tokenHeatmapSVG(d) {
  const svg = svgEl("svg", { xmlns: NS, width: d.width, height: d.height, viewBox: `0 0 ${d.width} ${d.height}`,
    "font-family": "system-ui, sans-serif", "font-size": LABEL_PX });
  svg.append(svgEl("rect", { width: d.width, height: d.height, fill: "#fff" }));
  svg.append(svgEl("text", { x: 4, y: TITLE / 2, "dominant-baseline": "central", "font-weight": 600, "font-size": LABEL_PX + 2 }, d.spec.title));
  svg.append(svgEl("image", { x: d.x0, y: d.y0, width: d.side, height: d.side, preserveAspectRatio: "none",
    style: "image-rendering:pixelated", href: d.matrix.toDataURL("image/png") }));
  const rows = svgEl("g", { "text-anchor": "end", "data-axis": "queries" });
  for (const q of d.rows) rows.append(svgEl("text", { x: d.x0 - 4, y: d.y0 + (q + 0.5) * d.cell, "dominant-baseline": "central" }, short(d.spec.labels[q])));
  const cols = svgEl("g", { "text-anchor": "end", "data-axis": "keys" });
  for (const k of d.cols) {
    const x = d.x0 + (k + 0.5) * d.cell, y = d.y0 + d.side + 4;
    cols.append(svgEl("text", { transform: `translate(${x} ${y}) rotate(-60)`, "dominant-baseline": "central" }, short(d.spec.labels[k])));
  }
  const bx = d.x0 + d.side + 12, bh = Math.min(d.side, 240);
  const grad = svgEl("linearGradient", { id: "hm-bar", x1: 0, y1: 1, x2: 0, y2: 0 });
  grad.append(svgEl("stop", { offset: 0, "stop-color": "rgb(255,255,255)" }), svgEl("stop", { offset: 1, "stop-color": `rgb(${HIGH})` }));
  const defs = svgEl("defs", {});
  defs.append(grad);
  svg.append(defs, rows, cols, svgEl("rect", { x: bx, y: d.y0, width: 12, height: bh, fill: "url(#hm-bar)", stroke: "#98a2b3" }));
  for (const t of d.ticks) svg.append(svgEl("text", { x: bx + 16, y: d.y0 + bh * (1 - t.pos), "dominant-baseline": "central" }, t.label));
  svg.append(svgEl("text", { x: bx, y: d.y0 + bh + 12, "dominant-baseline": "central", "data-scale": d.spec.scale }, d.spec.scale));
  const t = axisTitles(d), bold = { "dominant-baseline": "central", "font-weight": 600 };
  svg.append(svgEl("text", { ...bold, x: t.bar.x, y: t.bar.y, "data-axis-title": "bar" }, AXIS_TITLES.bar));
  svg.append(svgEl("text", { ...bold, x: t.cols.x, y: t.cols.y, "text-anchor": "middle", "data-axis-title": "cols" }, AXIS_TITLES.cols));
  svg.append(svgEl("text", { ...bold, transform: `translate(${t.rows.x} ${t.rows.y}) rotate(-90)`, "text-anchor": "middle",
    "data-axis-title": "rows" }, AXIS_TITLES.rows));
  return svg;
}

// SVG copies of figures the pages draw as HTML (the /compare per-head bars and its layers × heads
// grid), read back from the drawn DOM so that a download shows what the screen shows; export-image.js
// adds the caption and makes the PNG. Text goes in as textContent (data, never markup).

const NS = "http://www.w3.org/2000/svg";
const FONT = 11, PAD = 8;

function node(name, attrs, text) {
  const n = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  if (text != null) n.textContent = text;
  return n;
}

function frame(width, height) {
  const svg = node("svg", { xmlns: NS, width, height, viewBox: `0 0 ${width} ${height}`,
    "font-family": "system-ui, sans-serif", "font-size": FONT });
  svg.append(node("rect", { width, height, fill: "#fff" }));
  return svg;
}

/** An HTML table of coloured cells (a caption, a header row, a header cell per row) as an <svg>. */
export function tableSVG(table, { cell = 26, row = 18, rowHeader = 34 } = {}) {
  const rows = [...table.rows];
  const title = table.caption ? table.caption.textContent : "";
  const top = title ? PAD + FONT + 6 : PAD;
  const cols = Math.max(...rows.map((r) => r.cells.length));
  const width = PAD * 2 + rowHeader + (cols - 1) * cell, height = top + rows.length * row + PAD;
  const svg = frame(width, height);
  if (title) svg.append(node("text", { x: PAD, y: PAD + FONT, fill: "#475467" }, title));
  rows.forEach((tr, r) => {
    [...tr.cells].forEach((td, c) => {
      const x = PAD + (c ? rowHeader + (c - 1) * cell : 0), y = top + r * row, w = c ? cell : rowHeader;
      const bg = td.tagName === "TD" ? td.style.background : "";
      if (bg) svg.append(node("rect", { x: x + 0.5, y: y + 0.5, width: w - 1, height: row - 1, fill: bg }));
      const colour = td.tagName === "TD" ? td.style.color || "#1d232b" : "#667085";
      svg.append(node("text", { x: x + w / 2, y: y + row / 2, "text-anchor": "middle", "dominant-baseline": "central",
        fill: colour }, td.textContent));
    });
  });
  return svg;
}

/** The /compare bars (compare-bars.js drawBars: a grid of head, then bar and value per query set) as an <svg>. */
export function barsSVG(root, { bar = 180, row = 16, nameWidth = 44, valueWidth = 52 } = {}) {
  const headers = [...root.querySelectorAll(".hdr")].map((h) => h.textContent).filter(Boolean);
  const names = [...root.querySelectorAll(".hname")];
  const sets = headers.length - 1, block = bar + valueWidth + 12;
  const width = PAD * 2 + nameWidth + sets * block, height = PAD * 2 + (names.length + 1) * row;
  const svg = frame(width, height);
  const y0 = PAD + row;
  headers.forEach((h, i) => svg.append(node("text", { x: PAD + (i ? nameWidth + (i - 1) * block : 0), y: PAD + FONT,
    fill: "#475467", "font-weight": 600 }, h)));
  const bars = [...root.querySelectorAll(".cbar")], values = [...root.querySelectorAll(".val")];
  names.forEach((name, r) => {
    const y = y0 + r * row, dim = name.classList.contains("off") ? 0.35 : 1;
    svg.append(node("text", { x: PAD, y: y + row / 2, "dominant-baseline": "central", fill: name.style.color || "#1d232b",
      opacity: dim }, name.textContent));
    for (let q = 0; q < sets; q++) {
      const b = bars[r * sets + q], x = PAD + nameWidth + q * block;
      const fill = b.querySelector("i"), share = parseFloat(fill.style.width) / 100 || 0;
      svg.append(node("rect", { x, y: y + 2, width: bar, height: row - 4, rx: 3, fill: "#eef0f3", opacity: dim }));
      svg.append(node("rect", { x, y: y + 2, width: bar * share, height: row - 4, rx: 3,
        fill: fill.style.getPropertyValue("--c") || "#7aa2ff", opacity: dim }));
      svg.append(node("text", { x: x + bar + 6, y: y + row / 2, "dominant-baseline": "central", fill: "#1d232b", opacity: dim },
        values[r * sets + q].textContent));
    }
  });
  return svg;
}

const transparent = (c) => !c || c === "transparent" || /rgba\(.*,\s*0\)$/.test(c);

/** Any drawn HTML figure of small boxes (a CSS grid of coloured cells, its labels and legend) as an <svg>: each
 *  element without element children becomes its box (background colour, or a left-to-right gradient) and its text,
 *  where the browser laid it out. Rotated labels are written horizontally, thinned as on screen. */
export function boxesSVG(root) {
  const origin = root.getBoundingClientRect();
  const width = Math.ceil(origin.width) + 2 * PAD, height = Math.ceil(origin.height) + 2 * PAD;
  const svg = frame(width, height), defs = node("defs");
  svg.append(defs);
  let gradients = 0;
  for (const e of root.querySelectorAll("*")) {
    if (e.children.length) continue;
    const r = e.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    const style = getComputedStyle(e), x = r.left - origin.left + PAD, y = r.top - origin.top + PAD;
    let fill = transparent(style.backgroundColor) ? null : style.backgroundColor;
    const stops = style.backgroundImage.startsWith("linear-gradient") ? style.backgroundImage.match(/rgba?\([^)]*\)/g) : null;
    if (stops) {
      const id = `g${gradients++}`, gradient = node("linearGradient", { id, x1: 0, x2: 1, y1: 0, y2: 0 });
      stops.forEach((c, i) => gradient.append(node("stop", { offset: i / Math.max(1, stops.length - 1), "stop-color": c })));
      defs.append(gradient);
      fill = `url(#${id})`;
    }
    if (fill) svg.append(node("rect", { x, y, width: r.width, height: r.height, rx: 2, fill, stroke: "#d0d5dd", "stroke-width": 0.5 }));
    const text = e.textContent.trim();
    if (text) svg.append(node("text", { x: x + 1, y: y + r.height / 2, "dominant-baseline": "central",
      "font-size": parseFloat(style.fontSize) || FONT, fill: style.color }, text));
  }
  return svg;
}

// SVG of a head view, built from HeadView.geometry(): the same line ends, colours
// and opacities the canvas painter uses, so the file matches what is on screen
// (minus the painter's speed tricks: every line is drawn at full resolution).
// Token labels are text nodes (createElementNS + textContent): markup in a
// token is written out escaped by XMLSerializer, never parsed.

const NS = "http://www.w3.org/2000/svg";
const GAP = 6; // css px between a label and the lines, like the .token padding

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text != null) node.textContent = text;
  return node;
}

const num = (x) => String(Math.round(x * 100) / 100);

/** One <path> per paint-order key (a head at one opacity level), as the canvas batches them. */
function pathsOf(lines, indices, x) {
  const out = [];
  let cur = null, d = [];
  const flush = () => {
    if (cur) out.push(el("path", { d: d.join(""), stroke: cur.color, "stroke-opacity": num(cur.alpha) }));
  };
  for (const i of indices) {
    const l = lines[i];
    if (!cur || l.key !== cur.key) { flush(); cur = l; d = []; }
    d.push(`M${num(l.x1 + x)} ${num(l.y1)}L${num(l.x2 + x)} ${num(l.y2)}`);
  }
  flush();
  return out;
}

/** Build the SVG element for a HeadView (hv) whose token columns are in the DOM. */
export function headViewSVG(hv, title) {
  const g = hv.geometry();
  const labels = (side) => g.rows.map((r) => ({ ...r, el: hv.spans[side][r.index] }));
  const lw = Math.ceil(hv.left.getBoundingClientRect().width) || 120;
  const rw = Math.ceil(hv.right.getBoundingClientRect().width) || 120;
  const width = lw + g.width + rw, height = Math.max(1, g.height);
  const svg = el("svg", { xmlns: NS, width, height, viewBox: `0 0 ${width} ${height}`,
    "font-family": "system-ui, sans-serif", "font-size": 12 });
  if (title) svg.append(el("title", {}, title));
  svg.append(el("rect", { width, height, fill: "#fff" }));
  for (const [side, x, anchor] of [["left", lw - GAP, "end"], ["right", lw + g.width + GAP, "start"]]) {
    const col = el("g", { "text-anchor": anchor, "data-side": side });
    for (const r of labels(side)) {
      if (!r.el) continue;
      const bg = r.el.style.background; // gold spans (aspect, entities) keep their colour
      if (bg) col.append(el("rect", { x: side === "left" ? 0 : lw + g.width, y: r.y - g.row / 2, width: side === "left" ? lw : rw, height: g.row, fill: bg, rx: 3 }));
      col.append(el("text", { x, y: r.y, "dominant-baseline": "central", fill: r.el.classList.contains("special") ? "#98a2b3" : "#1d232b" }, r.el.textContent));
    }
    svg.append(col);
  }
  const all = g.lines.map((_, i) => i);
  const edges = el("g", { fill: "none", "stroke-width": 1, opacity: g.dim, "data-edges": g.lines.length });
  edges.append(...pathsOf(g.lines, all, lw));
  svg.append(edges);
  if (g.focus.length) {
    const top = el("g", { fill: "none", "stroke-width": 1, "data-focus": g.focus.length });
    top.append(...pathsOf(g.lines, g.focus, lw));
    svg.append(top);
  }
  return svg;
}

/** The SVG as a standalone file's text. */
export function headViewSVGText(hv, title) {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(headViewSVG(hv, title));
}

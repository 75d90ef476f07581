// PNG and SVG downloads of every figure, one helper for all pages: each download carries a caption
// (model, input, layer, head, settings such as the attention kind and the colour scale) above the
// figure. An SVG figure (head view, token heatmap, model view grid) is wrapped with its caption, and
// its PNG is that SVG drawn at 2x (or a chosen scale); a plotly chart goes through Plotly.toImage
// with the caption as an annotation above the plot. All of it works offline and from file://.

import { headViewSVG } from "./svg-headview.js";

const NS = "http://www.w3.org/2000/svg";
const CAPTION_LINE = 15, CAPTION_PAD = 8, CAPTION_FONT = 12;
// a caption line's width in px, a little over the average glyph of a 12 px sans-serif (a figure is made at least
// this wide, so that no caption line is cut off), and the characters of settings one line holds before wrapping
const CAPTION_CHAR_PX = 6.8, CAPTION_LINE_CHARS = 96;
const captionWidth = (lines) => Math.ceil(Math.max(0, ...lines.map((l) => l.length)) * CAPTION_CHAR_PX) + 2 * CAPTION_PAD;
export const PNG_SCALE = 2;

/** Save a Blob under `name` through a temporary object URL. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob), a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Wait until the painter has finished every band (it paints in time-boxed tasks). */
export function whenPainted(canvas, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const poll = () => {
      if (canvas.dataset.complete === "1") return resolve();
      if (performance.now() - t0 > timeoutMs) return reject(new Error("the head view is still painting; try again"));
      setTimeout(poll, 30);
    };
    poll();
  });
}

function checkHV(hv) {
  if (!hv || !hv.rows) throw new Error("Nothing to save yet: the head view is empty.");
  return hv;
}

/** Caption lines from named parts: {model, input, layer, head, ...settings}; empty parts are left out. */
export function captionLines(parts) {
  const { model, input, ...rest } = parts;
  const lines = [];
  if (model) lines.push(`model: ${model}`);
  if (input) lines.push(`input: ${input.length > 160 ? input.slice(0, 159) + "…" : input}`);
  const settings = Object.entries(rest).filter(([, v]) => v != null && v !== "").map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`);
  let line = "";
  for (const part of settings) {  // the settings " · "-separated, wrapped into lines a figure can hold
    if (line && line.length + 3 + part.length > CAPTION_LINE_CHARS) { lines.push(line); line = ""; }
    line = line ? `${line} · ${part}` : part;
  }
  if (line) lines.push(line);
  return lines;
}

/** A new <svg> holding `figure` (an <svg> element) below the caption lines; {svg, width, height}. */
export function withCaption(figure, lines) {
  const fw = +figure.getAttribute("width"), fh = +figure.getAttribute("height");
  const top = lines.length ? CAPTION_PAD * 2 + CAPTION_LINE * lines.length : 0;
  const width = Math.max(fw, 420, captionWidth(lines)), height = fh + top;
  const svg = document.createElementNS(NS, "svg");
  for (const [k, v] of Object.entries({ xmlns: NS, width, height, viewBox: `0 0 ${width} ${height}`,
    "font-family": "system-ui, sans-serif" })) svg.setAttribute(k, String(v));
  const bg = document.createElementNS(NS, "rect");
  bg.setAttribute("width", width); bg.setAttribute("height", height); bg.setAttribute("fill", "#fff");
  const caption = document.createElementNS(NS, "g");
  caption.setAttribute("data-caption", "1");
  caption.setAttribute("font-size", CAPTION_FONT);
  caption.setAttribute("fill", "#344054");
  lines.forEach((line, i) => {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", CAPTION_PAD);
    t.setAttribute("y", CAPTION_PAD + CAPTION_LINE * (i + 0.75));
    t.textContent = line;
    caption.append(t);
  });
  const inner = figure.cloneNode(true);
  inner.setAttribute("y", top);
  inner.setAttribute("x", 0);
  svg.append(bg, caption, inner);
  return { svg, width, height };
}

const svgFileText = (svg) => '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(svg);

/** Draw SVG text onto a canvas `scale` times its size; a PNG Blob. */
export function svgToPNG(text, width, height, scale = PNG_SCALE) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const out = document.createElement("canvas");
      out.width = Math.round(width * scale);
      out.height = Math.round(height * scale);
      const ctx = out.getContext("2d");
      ctx.drawImage(img, 0, 0, out.width, out.height);
      out.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png");
    };
    img.onerror = () => reject(new Error("the figure could not be drawn as PNG"));
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
  });
}

/** The Blob of an SVG figure with its caption, as "svg" or "png" (at `scale`). */
export async function figureBlob(figure, lines, format, scale = PNG_SCALE) {
  const { svg, width, height } = withCaption(figure, lines);
  const text = svgFileText(svg);
  if (format === "svg") return new Blob([text], { type: "image/svg+xml" });
  return svgToPNG(text, width, height, scale);
}

/** A data: URL (base64 or percent-encoded) as a Blob, decoded here: an exported file never calls fetch. */
function dataUrlBlob(url) {
  const comma = url.indexOf(",");
  const head = url.slice(5, comma), body = url.slice(comma + 1);
  const bytes = head.includes(";base64")
    ? Uint8Array.from(atob(body), (c) => c.charCodeAt(0))
    : new TextEncoder().encode(decodeURIComponent(body));
  return new Blob([bytes], { type: head.split(";")[0] });
}

/** The Blob of a drawn plotly chart (`gd`) with the caption above its plot, through Plotly.toImage. */
export async function plotlyBlob(Plotly, gd, lines, format, scale = PNG_SCALE) {
  const full = gd._fullLayout || {};
  const width = Math.max(full.width || gd.clientWidth || 700, captionWidth(lines));
  const chartHeight = full.height || gd.clientHeight || 450;
  const top = CAPTION_PAD * 2 + CAPTION_LINE * lines.length;
  const margin = { ...(gd.layout.margin || {}) };
  margin.t = (margin.t != null ? margin.t : (full.margin && full.margin.t) || 60) + top;
  const caption = { xref: "paper", yref: "paper", x: 0, xanchor: "left", y: 1, yanchor: "bottom", yshift: margin.t - top + CAPTION_PAD,
    align: "left", showarrow: false, text: lines.map(escapeHTML).join("<br>"), font: { size: CAPTION_FONT, color: "#344054" },
    name: "caption" };
  const layout = { ...gd.layout, margin, height: chartHeight + top, width, annotations: [...(gd.layout.annotations || []), caption] };
  const url = await Plotly.toImage({ data: gd.data, layout }, { format, width, height: chartHeight + top, scale: format === "png" ? scale : 1 });
  return dataUrlBlob(url);
}

const escapeHTML = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Download the head view as `${stem}.png` (its SVG with the caption, at 2x). */
export async function downloadPNG(hv, stem, lines = []) {
  await whenPainted(checkHV(hv).canvas);
  saveBlob(await figureBlob(headViewSVG(hv, stem), lines, "png"), stem + ".png");
}

/** Download the head view as `${stem}.svg` (svg-headview.js), the caption above it. */
export async function downloadSVG(hv, stem, lines = []) {
  saveBlob(await figureBlob(headViewSVG(checkHV(hv), stem), lines, "svg"), stem + ".svg");
}

/** Wire a PNG and an SVG button to a head view; `name()` gives the file name stem, `caption()` its lines. */
export function bindImageButtons(pngButton, svgButton, getHV, name, onError, caption = () => []) {
  const fail = (e) => (onError ? onError(e) : console.error(e));
  pngButton.addEventListener("click", () => downloadPNG(getHV(), name(), caption()).catch(fail));
  svgButton.addEventListener("click", () => downloadSVG(getHV(), name(), caption()).catch(fail));
}

/**
 * PNG and SVG buttons placed before `anchor` (once per id prefix), for any figure.
 * opts: {id, name(): file stem, caption(): lines, svg(): an <svg> element | plotly: () => [Plotly, gd], onError}
 */
export function exportButtons(anchor, opts) {
  if (document.getElementById(opts.id + "-png")) return;
  const box = document.createElement("span");
  box.className = "export-buttons";
  for (const format of ["png", "svg"]) {
    const b = document.createElement("button");
    b.type = "button";
    b.id = `${opts.id}-${format}`;
    b.className = "secondary";
    b.textContent = format.toUpperCase();
    b.title = format === "png" ? `download as PNG (${PNG_SCALE}x, with a caption)` : "download as SVG (with a caption)";
    b.addEventListener("click", async () => {
      try {
        const lines = opts.caption();
        const blob = opts.plotly
          ? await plotlyBlob(...(await opts.plotly()), lines, format)
          : await figureBlob(opts.svg(), lines, format);
        saveBlob(blob, `${opts.name()}.${format}`.replace(/[^\w.-]+/g, "_"));
      } catch (e) {
        (opts.onError || console.error)(e);
      }
    });
    box.append(b);
  }
  anchor.before(box);
}

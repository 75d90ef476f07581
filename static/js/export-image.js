// PNG and SVG downloads of a head view. The PNG is the canvas itself (what is on
// screen, once painted) composed with the token labels; the SVG is rebuilt from
// the painter's geometry (svg-headview.js). Both work offline and from file://.

import { headViewSVGText } from "./svg-headview.js";

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

/** PNG of the head view: the head view canvas's own pixels (exactly what the painter
 *  made) with the token labels written beside it, through canvas.toBlob. Labels are
 *  drawn with fillText rather than an SVG image, which could taint the canvas. */
export async function headViewPNG(hv) {
  await whenPainted(hv.canvas);
  const g = hv.geometry(), dpr = hv.dpr || 1;
  const lw = Math.ceil(hv.left.getBoundingClientRect().width) || 120;
  const rw = Math.ceil(hv.right.getBoundingClientRect().width) || 120;
  const out = document.createElement("canvas");
  out.width = Math.round((lw + g.width + rw) * dpr);
  out.height = Math.max(1, hv.canvas.height);
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.scale(dpr, dpr);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  for (const [side, x, w, align] of [["left", 0, lw, "right"], ["right", lw + g.width, rw, "left"]]) {
    ctx.textAlign = align;
    for (const r of g.rows) {
      const span = hv.spans[side][r.index];
      if (!span) continue;
      if (span.style.background) { ctx.fillStyle = span.style.background; ctx.fillRect(x, r.y - g.row / 2, w, g.row); }
      ctx.fillStyle = span.classList.contains("special") ? "#98a2b3" : "#1d232b";
      ctx.fillText(span.textContent, align === "right" ? x + w - 6 : x + 6, r.y);
    }
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(hv.canvas, Math.round(lw * dpr), 0);
  return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png"));
}

function checkHV(hv) {
  if (!hv || !hv.rows) throw new Error("Nothing to save yet: the head view is empty.");
  return hv;
}

/** Download the head view as `${stem}.png` (see headViewPNG). */
export async function downloadPNG(hv, stem) {
  saveBlob(await headViewPNG(checkHV(hv)), stem + ".png");
}

/** Download the head view as `${stem}.svg` (svg-headview.js). */
export function downloadSVG(hv, stem) {
  saveBlob(new Blob([headViewSVGText(checkHV(hv), stem)], { type: "image/svg+xml" }), stem + ".svg");
}

/** Wire a PNG and an SVG button to a head view; `name()` gives the file name stem. */
export function bindImageButtons(pngButton, svgButton, getHV, name, onError) {
  const fail = (e) => (onError ? onError(e) : console.error(e));
  pngButton.addEventListener("click", () => downloadPNG(getHV(), name()).catch(fail));
  svgButton.addEventListener("click", () => {
    try { downloadSVG(getHV(), name()); } catch (e) { fail(e); }
  });
}

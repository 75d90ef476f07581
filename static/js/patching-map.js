// Activation patching on the compare page (POST /api/compare/patching): for the two inputs shown, the
// left as the clean input and the right as the corrupted one, the restored fraction of the logit
// difference with each head patched alone (a layers × heads map), and with the residual stream patched at
// one aligned token at a time (a layers × tokens map). A click on a head opens it in the compare view.
// compare.js binds it once and tells it when the inputs change, so a map is never shown for others.

import { request, generations } from "./request.js";
import { $, el, fmt, showError, clearError, conceptLink } from "./dom.js";

const BUTTON = "patch-button";    // errors are shown beside it
const MAX_LABELS = 40;            // token labels shown at most; more tokens: every k-th labelled
const loads = generations();      // a newer click or new inputs drop an older answer
let ctx = null;                   // {body() -> the two sides, key() -> the inputs', open(layer, head)}
let forKey = null;

/** Wire the button; ctx as above (compare.js). */
export function bindPatching(context) {
  ctx = context;
  $("patch-concept").replaceWith(conceptLink("activation-patching"));
  $(BUTTON).addEventListener("click", () => showPatching());
  $("patch-direction").addEventListener("change", () => { if (forKey !== null) showPatching(); });
}

/** The inputs changed (compare.js, on every refresh): a map of other inputs is cleared. */
export function inputsChanged(key) {
  if (forKey !== null && key !== forKey) {
    loads.start();
    forKey = null;
    $("patching").hidden = true;
    $(BUTTON).disabled = false;
    $("patch-status").textContent = "";
    clearError(BUTTON);
  }
}

async function showPatching() {
  const my = loads.start();
  forKey = ctx.key();
  clearError(BUTTON);
  $(BUTTON).disabled = true;
  $("patch-status").textContent = "patching each head and each token in turn…";
  const direction = $("patch-direction").value;
  try {
    const resp = await request("/api/compare/patching", { method: "POST", body: { ...ctx.body(), direction } });
    if (!loads.isNewest(my)) return;
    draw(resp, resp[direction]);
    $("patch-status").textContent = "";
  } catch (e) {
    if (loads.isNewest(my)) { showError(BUTTON, e.message); $("patch-status").textContent = ""; }
  } finally {
    if (loads.isNewest(my)) $(BUTTON).disabled = false;
  }
}

/** Diverging around 0: blue toward 1 (restored), red below 0 (pushed further away), white at 0. */
function fractionColor(v, max) {
  if (v == null || !Number.isFinite(v)) return "#f2f4f7";
  const a = Math.min(1, Math.abs(v) / max);
  return v < 0
    ? `rgb(255,${Math.round(255 - 185 * a)},${Math.round(255 - 195 * a)})`
    : `rgb(${Math.round(255 - 195 * a)},${Math.round(255 - 125 * a)},255)`;
}

function draw(resp, found) {
  const cells = found.heads.flat().concat(found.residual.flat()).filter((v) => v != null);
  const max = Math.max(1, ...cells.map(Math.abs)); // 1 is the whole difference: the scale never hides it
  const root = $("patching");
  root.dataset.direction = found.direction;
  $("patch-summary").replaceChildren(summary(found));
  $("patch-heads").replaceChildren(headGrid(found, max), legend(max));
  $("patch-residual").replaceChildren(residualGrid(resp, found, max), legend(max));
  $("patch-note").textContent = `${resp.note} Unaligned here: left ${tokenList(resp.clean_tokens, resp.unaligned.clean)}; right ${tokenList(resp.corrupted_tokens, resp.unaligned.corrupted)}.`;
  root.hidden = false;
}

const tokenList = (tokens, positions) => (positions.length ? positions.map((i) => `“${tokens[i]}”`).join(" ") : "none");

function summary(found) {
  const p = el("p");
  const which = found.direction === "denoise"
    ? "The corrupted (right) input runs with one head's output from the clean (left) run"
    : "The clean (left) input runs with one head's output from the corrupted (right) run";
  p.append(`${which}. Logit difference logit[${found.clean_label}] − logit[${found.corrupted_label}]: `,
    `clean ${fmt(found.clean_difference, 3)}, corrupted ${fmt(found.corrupted_difference, 3)}.`);
  if (found.undefined) p.append(el("strong", "pt-undefined", ` No fraction: ${found.undefined}.`));
  return p;
}

function cell(tag, v, max, title) {
  const c = el(tag, "pt-cell");
  c.style.background = fractionColor(v, max);
  c.title = `${title}: ${v == null ? "not computed" : fmt(v, 3)}`;
  c.dataset.value = v == null ? "" : v;
  return c;
}

/** Layers × heads; a click on a cell opens that head in the compare view. */
function headGrid(found, max) {
  const H = found.heads[0].length, grid = el("div", "pt-grid pt-heads");
  grid.style.setProperty("--cols", H);
  grid.append(el("span"), ...Array.from({ length: H }, (_, h) => el("span", "pt-clabel", "H" + h)));
  found.heads.forEach((row, layer) => {
    grid.append(el("span", "pt-rlabel", "L" + layer));
    row.forEach((v, head) => {
      const b = cell("button", v, max, `head ${layer}.${head} patched`);
      b.type = "button";
      Object.assign(b.dataset, { layer, head });
      grid.append(b);
    });
  });
  grid.onclick = (e) => {
    const c = e.target.closest("button.pt-cell");
    if (c) ctx.open(+c.dataset.layer, +c.dataset.head);
  };
  return grid;
}

const pointName = (p) => (p === "embed.out" ? "embed" : "L" + p.split(".")[1]);

/** The residual stream (embeddings, then each layer's output) × aligned tokens; labels thinned, not shrunk. */
function residualGrid(resp, found, max) {
  const cols = resp.columns, grid = el("div", "pt-grid pt-residual");
  const every = Math.ceil(cols.length / MAX_LABELS);
  grid.style.setProperty("--cols", cols.length);
  grid.append(el("span"), ...cols.map((c, i) => {
    const label = el("span", "pt-token", i % every === 0 ? c.token : "");
    label.title = `${c.token} (left ${c.clean}, right ${c.corrupted})`;
    return label;
  }));
  found.residual.forEach((row, r) => {
    grid.append(el("span", "pt-rlabel", pointName(resp.residual_points[r])));
    row.forEach((v, i) => grid.append(cell("span", v, max, `${resp.residual_points[r]} at “${cols[i].token}” patched`)));
  });
  return grid;
}

function legend(max) {
  const box = el("div", "pt-legend"), bar = el("span", "pt-scale");
  bar.style.background = `linear-gradient(to right, ${fractionColor(-max, max)}, #fff, ${fractionColor(max, max)})`;
  box.append(el("span", null, fmt(-max, 1)), bar, el("span", null, fmt(max, 1)),
    el("span", "pt-unit", "restored fraction of logit difference (no unit: 1 = the clean run's, 0 = the corrupted run's)"));
  return box;
}

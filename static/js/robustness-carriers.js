// The /robustness "heads that carry the flips" table (a run with patch on): per test, the heads whose output,
// patched from the source into the variant, restores the flipped prediction beyond a random head of the same
// layer (restored fraction, mean [95% CI] vs the control's), next to the heads that moved. A head opens the
// test's examples with the compare links at that head.

import { $, el, fmt } from "./dom.js";

const ci = (c) => `[${fmt(c[0], 2)}, ${fmt(c[1], 2)}]`;

function headButton(test, layer, head, title, both, onPick) {
  const b = el("button", both ? "head-pick both" : "head-pick", `${layer}.${head}`);
  b.type = "button";
  b.title = title;
  b.dataset.layer = layer;
  b.dataset.head = head;
  b.addEventListener("click", () => onPick(test, layer, head));
  return b;
}

/** The carriers table (hidden when the run did not patch); onPick(test, layer, head) on a head. */
export function drawCarriers(result, onPick) {
  const panel = $("carriers-panel"), table = $("carriers-table");
  const settings = result.settings || {};
  panel.hidden = !settings.patch;
  if (!settings.patch) return;
  $("carriers-note").textContent = `Each head's output patched from the source (clean) into the variant (corrupted) at ` +
    `the tokens they share, over at most ${settings.patch_limit} flipped pairs per test (source right, variant another ` +
    "label, wrong): the restored fraction of the logit difference, (patched − corrupted) / (clean − corrupted), " +
    "mean [95% CI]. Control: per pair, a random other head of the same layer. A head carries the flips when its CI " +
    "lies above its control's. Heads that also moved are outlined.";
  const head = el("tr");
  for (const c of ["test", "pairs patched", "carry the flips: restored [CI] vs control [CI]", "moved", "moved and carry"]) head.append(el("th", null, c));
  table.replaceChildren(head);
  for (const t of result.tests) {
    const p = t.patched, tr = el("tr");
    tr.dataset.test = t.test;
    tr.append(el("td", null, t.test), el("td", "num", p ? `${p.pairs} of ${p.eligible} flipped` : "0"));
    const carry = el("td", "heads-cell"), moved = el("td", "heads-cell"), both = el("td", "heads-cell");
    if (!p) carry.textContent = "no flipped pair to patch";
    else if (!p.carriers.length) carry.textContent = "no head above its control";
    else {
      const movedSet = new Set(p.moved.map(([l, h]) => `${l}.${h}`));
      for (const h of p.carriers) {
        const line = el("div");
        line.dataset.layer = h.layer;
        line.dataset.head = h.head;
        line.append(headButton(t.test, h.layer, h.head, "open the examples at this head", movedSet.has(`${h.layer}.${h.head}`), onPick),
          ` ${fmt(h.restored, 2)} ${ci(h.ci)} vs ${fmt(h.control, 2)} ${ci(h.control_ci)}`);
        carry.append(line);
      }
    }
    const heads = (cell, list, outline) => {
      if (!list || !list.length) { cell.textContent = "–"; return; }
      for (const [l, h] of list) cell.append(headButton(t.test, l, h, "open the examples at this head", outline, onPick));
    };
    heads(moved, p ? p.moved : null, false);
    heads(both, p ? p.both : null, true);
    tr.append(carry, moved, both);
    table.append(tr);
  }
}

// The row of head buttons every head view has (inspect, compare, finding pages and the offline export):
// one coloured button per head; a click toggles the head, a double-click shows only that head.

/** One button per head, coloured like its edges. */
export function headToggleButtons(count, colors) {
  return Array.from({ length: count }, (_, h) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "head-toggle";
    b.dataset.head = h;
    b.style.setProperty("--c", colors[h]);
    b.title = `head ${h} (click: toggle, double-click: only this head)`;
    b.textContent = h;
    return b;
  });
}

/** Name each button's head as every page writes it, "layer.head" (e.g. "head 3.4"), for the layer shown. */
export function nameHeadToggles(buttons, layer) {
  for (const b of buttons) b.title = `head ${layer}.${b.dataset.head} (click: toggle, double-click: only this head)`;
}

/** `heads` with head `h` toggled, sorted. */
export function toggled(heads, h) {
  const on = new Set(heads || []);
  on.has(h) ? on.delete(h) : on.add(h);
  return [...on].sort((a, b) => a - b);
}

/** Clicks on `container`'s head buttons: setHeads(the new head list). A double-click is preceded by two
 *  clicks (toggle, toggle back), then shows only that head. */
export function bindHeadToggles(container, getHeads, setHeads) {
  const head = (e) => { const b = e.target.closest(".head-toggle"); return b ? +b.dataset.head : null; };
  container.addEventListener("click", (e) => { const h = head(e); if (h !== null) setHeads(toggled(getHeads(), h)); });
  container.addEventListener("dblclick", (e) => { const h = head(e); if (h !== null) setHeads([h]); });
}

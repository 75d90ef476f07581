// The finding form (title, Markdown note, labels, tags, visibility) in a <dialog>,
// built here so that pages only need a button. Used to save a new finding from
// the inspect page and to edit one on the finding page. Values are read and set
// through .value/.checked only: nothing typed is ever parsed as HTML.

import { clearError, showError } from "./dom.js";

export const LABELS = ["aspect", "aspect-sentiment", "opposite-aspect", "noop", "phrase", "entity", "other"];
/** How a stored label reads on the page: the API's "noop" is the analysis's "no-op". */
export const labelName = (label) => (label === "noop" ? "no-op" : label);
const MAX_TITLE = 200, MAX_TAGS = 20, MAX_TAG = 50;

const make = (tag, props, ...children) => {
  const el = Object.assign(document.createElement(tag), props || {});
  el.append(...children);
  return el;
};

let dialog = null;

function build() {
  const d = make("dialog", { id: "finding-dialog", className: "finding-dialog" });
  const form = make("form", { method: "dialog", id: "finding-form" });
  const labelBoxes = LABELS.map((name) => make("label", { className: "check" },
    make("input", { type: "checkbox", name: "labels", value: name }), " " + labelName(name)));
  form.append(
    make("h2", { id: "finding-form-heading" }),
    make("label", { htmlFor: "finding-title" }, "Title"),
    make("input", { type: "text", id: "finding-title", name: "title", required: true, maxLength: MAX_TITLE }),
    make("label", { htmlFor: "finding-note" }, "Note ", make("span", { className: "muted" }, "(Markdown)")),
    make("textarea", { id: "finding-note", name: "note", rows: 6, spellcheck: true }),
    make("fieldset", { className: "labels" }, make("legend", {}, "Head labels"), ...labelBoxes),
    make("label", { htmlFor: "finding-tags" }, "Tags ", make("span", { className: "muted" }, "(comma separated)")),
    make("input", { type: "text", id: "finding-tags", name: "tags", placeholder: "pasta, epoch-3" }),
    make("div", { className: "row" },
      make("label", { htmlFor: "finding-visibility" }, "Visibility"),
      make("select", { id: "finding-visibility", name: "visibility" },
        new Option("private (only me)", "private"), new Option("shared (every user of this server)", "shared"))),
    make("div", { id: "finding-form-error", className: "error", role: "alert", hidden: true }),
    make("div", { className: "row" },
      make("button", { type: "submit", id: "finding-submit", value: "save" }, "Save"),
      make("button", { type: "button", id: "finding-cancel", className: "secondary" }, "Cancel")),
  );
  d.append(form);
  document.body.append(d);
  d.querySelector("#finding-cancel").addEventListener("click", () => d.close("cancel"));
  return d;
}

/** Parse "a, b,,c" into unique trimmed tags; throws a readable Error on limits. */
export function parseTags(text) {
  const tags = [...new Set(String(text).split(",").map((t) => t.trim()).filter(Boolean))];
  if (tags.length > MAX_TAGS) throw new Error(`at most ${MAX_TAGS} tags`);
  const long = tags.find((t) => t.length > MAX_TAG);
  if (long) throw new Error(`tag "${long.slice(0, 20)}…" is longer than ${MAX_TAG} characters`);
  return tags;
}

/**
 * Show the form; `submit(values)` is awaited on Save (it does the request) and
 * the dialog stays open with its error message when it throws.
 * values: {title, note, labels, tags, visibility}. Resolves with submit's result, or null on cancel.
 */
export function openFindingForm({ heading, initial, submitLabel }, submit) {
  dialog = dialog || build();
  const d = dialog, field = (sel) => d.querySelector(sel), init = initial || {};
  field("#finding-form-heading").textContent = heading || "Save as finding";
  field("#finding-submit").textContent = submitLabel || "Save";
  field("#finding-title").value = init.title || "";
  field("#finding-note").value = init.note || "";
  field("#finding-tags").value = (init.tags || []).join(", ");
  field("#finding-visibility").value = init.visibility === "shared" ? "shared" : "private";
  for (const box of d.querySelectorAll("input[name=labels]")) box.checked = (init.labels || []).includes(box.value);
  clearError(field("#finding-form-error"));
  return new Promise((resolve) => {
    const form = field("#finding-form");
    const onSubmit = async (e) => {
      e.preventDefault();
      const err = field("#finding-form-error");
      clearError(err);
      field("#finding-submit").disabled = true;
      try {
        const values = {
          title: field("#finding-title").value.trim(),
          note: field("#finding-note").value,
          labels: [...d.querySelectorAll("input[name=labels]:checked")].map((b) => b.value),
          tags: parseTags(field("#finding-tags").value),
          visibility: field("#finding-visibility").value,
        };
        if (!values.title) throw new Error("Please give the finding a title.");
        const result = await submit(values);
        cleanup();
        d.close("saved");
        resolve(result);
      } catch (ex) {
        showError(err, ex.message);
      } finally {
        field("#finding-submit").disabled = false;
      }
    };
    const onClose = () => { cleanup(); resolve(null); };
    const cleanup = () => { form.removeEventListener("submit", onSubmit); d.removeEventListener("close", onClose); };
    form.addEventListener("submit", onSubmit);
    d.addEventListener("close", onClose);
    d.showModal();
    field("#finding-title").focus();
  });
}

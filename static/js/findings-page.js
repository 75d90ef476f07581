// Controller of the finding page (/findings/<id>) and the public page (/p/<token>):
// the head view comes from the embedded snapshot (findings-view.js); the author's
// actions (edit, delete, public link) go through the findings API.

import { mountAll } from "./findings-view.js";
import { updateFinding, deleteFinding, makePublicLink, revokePublicLink } from "./findings-api.js";
import { openFindingForm } from "./findings-form.js";
import { $, fillConceptLinks, showError } from "./dom.js";

const { data } = mountAll();
fillConceptLinks(); // the template's "?" links to /concepts
const finding = data[0];

$("edit-finding")?.addEventListener("click", async () => {
  const saved = await openFindingForm({ heading: "Edit finding", initial: finding, submitLabel: "Save changes" },
    (values) => updateFinding(finding.id, values));
  if (saved) location.reload(); // the note is rendered (and sanitised) by the server
});

$("delete-finding")?.addEventListener("click", async () => {
  if (!confirm(`Delete the finding "${finding.title}"? This cannot be undone.`)) return;
  try {
    await deleteFinding(finding.id);
    location.assign("/findings");
  } catch (e) {
    showError("error-box", e.message);
  }
});

/** The visibility beside the title follows the public link at once, as the server writes it on a reload. */
function showLinked(on) {
  const visibility = document.querySelector(".finding-visibility");
  if (!visibility) return;
  const base = visibility.textContent.replace(/, public link$/, "");
  visibility.textContent = on ? `${base}, public link` : base;
}

$("public-link")?.addEventListener("click", async () => {
  try {
    const link = await makePublicLink(finding.id);
    const url = new URL(link.url || "/p/" + encodeURIComponent(link.public_token), location.origin).href;
    const a = $("public-url");
    a.href = url;
    a.textContent = url;
    $("public-box").hidden = false;
    showLinked(true);
  } catch (e) {
    showError("error-box", e.message);
  }
});

$("revoke-public-link")?.addEventListener("click", async () => {
  try {
    await revokePublicLink(finding.id); // the old /p/<token> stops working at once
    $("public-box").hidden = true;
    showLinked(false);
  } catch (e) {
    showError("error-box", e.message);
  }
});

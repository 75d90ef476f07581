// The /compare page's view state <-> URL query string (history.replaceState: a copied URL
// reopens the same comparison). Left side: model, left (its text), aspect, left_pretrained;
// right side: right_model, right (text), right_aspect, right_pretrained, each left out of the
// URL when it is the left's. View: layer (absent: where the change is), heads (absent = all, empty = none), mass, query (the
// query set of the all-layers grid: focus | cls).

import { readQuery, writeQuery } from "./dom.js";

const QUERIES = ["focus", "cls"];
const int = (v, dflt) => { const n = parseInt(v, 10); return Number.isFinite(n) ? n : dflt; };

export function readState(search = location.search) {
  const q = readQuery(search);
  const s = {
    model: q.get("model") || "", text: q.get("left") || "", aspect: q.get("aspect") || "",
    left_pretrained: q.get("left_pretrained") === "1",
    right_model: q.get("right_model") || "", right_text: q.get("right") || "", right_aspect: q.get("right_aspect") || "",
    right_pretrained: q.get("right_pretrained") === "1",
    // no layer in the URL: the page opens at the layer and head that moved most (compare.js)
    layer: q.has("layer") ? Math.max(0, int(q.get("layer"), 0)) : null, heads: null,
    mass: Math.min(100, Math.max(1, int(q.get("mass"), 70))),
    query: QUERIES.includes(q.get("query")) ? q.get("query") : "focus",
  };
  if (q.has("heads")) s.heads = q.get("heads").split(",").filter((x) => x !== "").map(Number).filter(Number.isInteger);
  return s;
}

/** The query string of a state (also what a finding stores to reopen the comparison). */
export function queryOf(s) {
  const q = new URLSearchParams();
  if (s.model) q.set("model", s.model);
  if (s.text) q.set("left", s.text);
  if (s.aspect) q.set("aspect", s.aspect);
  if (s.left_pretrained) q.set("left_pretrained", "1");
  if (s.right_model && s.right_model !== s.model) q.set("right_model", s.right_model);
  if (s.right_text && s.right_text !== s.text) q.set("right", s.right_text);
  if (s.right_aspect && s.right_aspect !== s.aspect) q.set("right_aspect", s.right_aspect);
  if (s.right_pretrained) q.set("right_pretrained", "1");
  if (s.layer != null) q.set("layer", s.layer);
  if (s.heads) q.set("heads", s.heads.join(","));
  if (s.mass !== 70) q.set("mass", s.mass);
  if (s.query !== "focus") q.set("query", s.query);
  return q.toString();
}

export function writeState(s) {
  writeQuery(queryOf(s));
}

/** A /compare link for a source and its variant (robustness example rows); `inspect` = {text, aspect}. */
export function compareUrl(model, source, variant, { layer = null, heads = null } = {}) {
  return "/compare?" + queryOf({
    model, text: source.text, aspect: source.aspect || "", right_text: variant.text, right_aspect: variant.aspect || "",
    layer, heads, mass: 70, query: "focus",
  });
}

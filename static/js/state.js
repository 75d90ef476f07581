// View state <-> URL query string. Every change is written back with
// history.replaceState so a copied URL reproduces exactly the same view.

import { readQuery, writeQuery } from "./dom.js";
import { parseHeads, formatHeads, MODES } from "./intervene.js";

const DEFAULTS = {
  model: "", text: "", aspect: "", view: "head", layer: 0, heads: null,
  filter: "all", hide_special: false, mass: 70, token: null, side: "left",
  word: false, hm_layer: null, hm_head: null, hm_scale: "linear",
  attr: [], ig_steps: 32, attr_label: "", attr_query: "readout", agree: "",
  iv: [], iv_mode: "zero", iv_factor: "0.5", iv_ref: "demo", attn: "weights",
  marks: {}, pin: "",
};
// Tokens to highlight, as character spans of the review (an analysis's typical example sends its other
// aspects and opinion words): marks=other:12-17,30-35;opinion:5-10
const MARKS = { other: "other aspects", opinion: "opinion words" };

function parseMarks(text) {
  const marks = {};
  for (const part of (text || "").split(";")) {
    const [name, spans] = part.split(":");
    if (!MARKS[name] || !spans) continue;
    marks[name] = spans.split(",").map((s) => s.split("-").map(Number)).filter(([a, b]) => Number.isInteger(a) && Number.isInteger(b) && a < b);
  }
  return marks;
}

const formatMarks = (marks) => Object.entries(marks).filter(([, v]) => v.length).map(([k, v]) => `${k}:${v.map((s) => s.join("-")).join(",")}`).join(";");

/** The marks' names as the legend shows them. */
export const markName = (name) => MARKS[name] || name;
const FILTERS = ["all", "ab", "ba", "aa", "bb"];
const ATTRIBUTION = ["ig", "grad_x_input", "rollout", "flow"]; // what POST /api/inspect accepts
const ATTR_QUERIES = ["readout", "cls", "aspect", "entity"];

const int = (v, dflt) => {
  const n = parseInt(v, 10);
  return Number.isFinite(n) ? n : dflt;
};

/** Parse location.search into a state object (unknown/invalid values fall back). */
export function readState(search = location.search) {
  const q = readQuery(search);
  const s = { ...DEFAULTS };
  s.model = q.get("model") || "";
  s.text = q.get("text") || "";
  s.aspect = q.get("aspect") || "";
  s.view = q.get("view") === "model" ? "model" : "head";
  s.layer = Math.max(0, int(q.get("layer"), 0));
  // heads: absent = all heads; present but empty = none selected.
  if (q.has("heads")) {
    s.heads = q.get("heads").split(",").filter((x) => x !== "").map(Number).filter(Number.isInteger);
  }
  s.filter = FILTERS.includes(q.get("filter")) ? q.get("filter") : "all";
  s.hide_special = q.get("hide_special") === "1";
  s.mass = Math.min(100, Math.max(1, int(q.get("mass"), 70)));
  s.token = q.get("token") ? int(q.get("token"), null) : null;
  s.pin = q.get("pin") === "query" ? "query" : ""; // pin the input's query token once its response is shown
  s.marks = parseMarks(q.get("marks"));
  s.side = q.get("side") === "right" ? "right" : "left";
  s.word = q.get("word") === "1";
  s.hm_layer = q.has("hm_layer") ? int(q.get("hm_layer"), null) : null;
  s.hm_head = q.has("hm_head") ? int(q.get("hm_head"), null) : null;
  s.hm_scale = ["log", "rank"].includes(q.get("hm_scale")) ? q.get("hm_scale") : "linear";
  // attribution: methods (attr=ig,rollout), IG steps, chosen label, query token, agreement map choice
  s.attr = (q.get("attr") || "").split(",").filter((m) => ATTRIBUTION.includes(m));
  s.ig_steps = Math.min(256, Math.max(1, int(q.get("ig_steps"), 32)));
  s.attr_label = q.get("attr_label") || "";
  s.attr_query = ATTR_QUERIES.includes(q.get("attr_query")) ? q.get("attr_query") : "readout";
  s.agree = q.get("agree") || "";
  // intervention: the heads switched off (iv=3.4,5.1 as layer.head), how, and scale's factor (as typed)
  s.iv = parseHeads(q.get("iv") || "");
  s.iv_mode = MODES.includes(q.get("iv_mode")) ? q.get("iv_mode") : "zero";
  s.iv_factor = q.has("iv_factor") ? q.get("iv_factor") : DEFAULTS.iv_factor;
  s.iv_ref = q.get("iv_ref") || DEFAULTS.iv_ref; // mean's reference set (the server says 422 to an unknown one)
  // what the views draw: the attention weights, or norm-based attention (POST /api/inspect attention_kind)
  s.attn = q.get("attn") === "norm" ? "norm" : "weights";
  return s;
}

/** Write the state into the URL without adding a history entry. */
export function writeState(s) {
  const q = new URLSearchParams();
  if (s.model) q.set("model", s.model);
  if (s.text) q.set("text", s.text);
  if (s.aspect) q.set("aspect", s.aspect);
  q.set("view", s.view);
  q.set("layer", s.layer);
  if (s.heads) q.set("heads", s.heads.join(","));
  q.set("filter", s.filter);
  q.set("hide_special", s.hide_special ? "1" : "0");
  q.set("mass", s.mass);
  q.set("token", s.token == null ? "" : s.token);
  if (s.pin) q.set("pin", s.pin);
  if (formatMarks(s.marks || {})) q.set("marks", formatMarks(s.marks));
  if (s.token != null && s.side === "right") q.set("side", "right");
  q.set("word", s.word ? "1" : "0");
  if (s.hm_layer != null) q.set("hm_layer", s.hm_layer);
  if (s.hm_head != null) q.set("hm_head", s.hm_head);
  if (s.hm_scale && s.hm_scale !== "linear") q.set("hm_scale", s.hm_scale);
  if (s.attr && s.attr.length) {
    q.set("attr", s.attr.join(","));
    if (s.ig_steps !== 32) q.set("ig_steps", s.ig_steps);
    if (s.attr_label) q.set("attr_label", s.attr_label);
    if (s.attr_query !== "readout") q.set("attr_query", s.attr_query);
    if (s.agree) q.set("agree", s.agree);
  }
  if (s.iv && s.iv.length) q.set("iv", formatHeads(s.iv));
  if (s.iv_mode !== "zero") q.set("iv_mode", s.iv_mode);
  if (s.iv_mode === "scale") q.set("iv_factor", s.iv_factor);
  if (s.iv_mode === "mean" && s.iv_ref !== DEFAULTS.iv_ref) q.set("iv_ref", s.iv_ref);
  if (s.attn === "norm") q.set("attn", "norm");
  writeQuery(q);
}

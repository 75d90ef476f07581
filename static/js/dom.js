// The small helpers every page shares: element lookup and building, number formatting, the error
// line of a form or section, the view state in the URL's query string, and "?" links to the
// concepts page. Every value is set with textContent or as text nodes (data, never markup).
// app/web/export.py inlines this module into exported findings: one-line imports and
// `export function|const` only.

/** The element with this id (null when there is none). */
export const $ = (id) => document.getElementById(id);

/** A head's name on every page: "layer.head", both from 0 (e.g. "3.4"). */
export const headName = (layer, head) => `${layer}.${head}`;

/** Every element under `root` matching a CSS selector, as an array. */
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A new element with an optional class and text. */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/** One <dt>name</dt><dd>value</dd> pair of a facts list; `value` is text, or text and nodes in an
 *  array; `extra` (e.g. a concept link) follows the name. */
export function fact(dl, name, value, extra = null) {
  const dt = el("dt", null, name), dd = el("dd");
  if (extra) dt.append(" ", extra);
  dd.append(...[].concat(value));
  dl.append(dt, dd);
}

// ---- numbers ----

/** What fmt shows for a number that is not there: null, undefined, NaN or ±Infinity all read
 *  "not computed" (a statistic with no data, a division by zero), never "NaN" or a made-up 0. */
export const MISSING = "–";
export const MISSING_TITLE = "not computed";

export const isMissing = (v) => v == null || (typeof v === "number" && !Number.isFinite(v));

/** A number with `digits` decimals; MISSING when it is not there (above); any other value as text. */
export function fmt(v, digits = 3) {
  if (isMissing(v)) return MISSING;
  return typeof v === "number" ? v.toFixed(digits) : String(v);
}

/** An element showing fmt(v), titled "not computed" when the number is missing. */
export function numEl(tag, cls, v, digits = 3) {
  const e = el(tag, cls, fmt(v, digits));
  if (isMissing(v)) e.title = MISSING_TITLE;
  return e;
}

// ---- errors ----

const byRef = (target) => (typeof target === "string" ? $(target) : target);

/** The error line of a control or section: the target itself when it is one (class "error"),
 *  else the .error element right after it, made there on first use. */
function errorLine(target) {
  const node = byRef(target);
  if (node.classList.contains("error")) return node;
  const next = node.nextElementSibling;
  if (next && next.classList.contains("error")) return next;
  const line = el("div", "error");
  line.setAttribute("role", "alert");
  node.after(line);
  return line;
}

/** Show `message` (text, or text and nodes in an array) beside `target`, the control or section
 *  (an element or id) it is about: in its error line (above). */
export function showError(target, message) {
  const line = errorLine(target);
  line.replaceChildren(...[].concat(message));
  line.hidden = false;
}

/** Hide the error line of `target` (see showError). */
export function clearError(target) {
  errorLine(target).hidden = true;
}

/** Mark what `target` shows as stale (dimmed, `note` above it: app.css .stale) until clearStale. */
export function markStale(target, note = "stale: from an earlier input") {
  const node = byRef(target);
  node.classList.add("stale");
  node.dataset.stale = note;
}

/** What `target` shows is current again (see markStale). */
export function clearStale(target) {
  const node = byRef(target);
  node.classList.remove("stale");
  delete node.dataset.stale;
}

// ---- the view state in the URL ----

/** The query parameters of `search` (default: this page's URL). */
export const readQuery = (search = location.search) => new URLSearchParams(search);

/** An integer query parameter, or null when it is absent or not a number. */
export function queryInt(params, name) {
  const n = parseInt(params.get(name), 10);
  return Number.isFinite(n) ? n : null;
}

/** Replace the page's query string with `params` (URLSearchParams, an object or a string); no new
 *  history entry, so Back leaves the page, and a copied URL reopens the same view. */
export function writeQuery(params) {
  const q = new URLSearchParams(params).toString();
  history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
}

// ---- links to the concepts page (/concepts, docs/concepts.md) ----

/** Each concept's anchor on /concepts and its one-line definition (the link's tooltip). */
export const CONCEPTS = {
  "head-label": "A name a head earns (aspect, aspect-sentiment, opposite-aspect, no-op, entity, …) when the low end of its 95% CI beats the best baseline by a margin.",
  "head-statistic": "A number per head and example (e.g. the attention mass on the aspect's tokens), averaged over the examples where it is defined; n counts those examples.",
  "query-token": "The token whose attention row is read: the aspect query (ABSA), the entities (RE) or [CLS]; a query set averages their rows.",
  "attention-change": "Per head, the Jensen–Shannon divergence between the two sides' attention rows from the query set: 0 the same, 1 disjoint.",
  importance: "How much the loss would change if the head were removed (Michel et al. 2019); needs gold labels.",
  "typical-examples": "The examples on which this head scores highest for the statistic; each opens the live head view.",
  baseline: "What the statistic scores without a learnt pattern: uniform attention, a fixed positional rule, or the same head before fine-tuning.",
  "bootstrap-ci": "95% bootstrap CI: the range the score stays in for 95% of resamples of the examples; narrow means well measured.",
  "interpretability-rate": "Share of examples whose gold words are among the 3 words the last layer's [CLS] attends to most.",
  "fine-tune-change": "How far fine-tuning moved a head's attention: the Jensen–Shannon divergence from the same head before fine-tuning.",
  ars: "Aspect robustness score: share of sources predicted right on the source and on every one of its variants.",
  "head-separation": "How much more a head's attention changed on variants whose prediction broke than on those that held.",
  "minimum-n": "Below this many examples (HEADSCOPE_MIN_N, default 10) a statistic's interval is too few examples to rank on: it is greyed out.",
  "no-op": "A head that puts more attention on [SEP] when the asked aspect is absent: a \"nothing here\" signal.",
  "opposite-aspect": "A head that attends from the asked aspect to the words of the sentence's other aspects.",
  intervention: "Switching heads off for this input: their output zeroed, replaced by its mean over the demo reference set, or scaled by a factor; the prediction before → after.",
  "norm-based-attention": "Per head, ||α·f(x)||: the attention weight times the size of the key's transformed value vector (Kobayashi et al. 2020); drawn with each row divided by its sum.",
  "knock-out": "Per head, how much the predicted label's probability changes when that head alone is switched off: causal evidence, for this input only.",
  "activation-patching": "Per head, the fraction of the logit difference between a clean and a corrupted input that comes back when that head's output alone is taken from the other run.",
  "heads-that-carry-the-flips": "Over a test's flipped pairs, each head's output patched from the source into the variant: the mean restored fraction of the logit difference, against a random head of the same layer.",
  "inputs-sentence-pairs-and-marked-entities": "ABSA: the review paired with an auxiliary sentence naming the aspect (segments A and B); RE: one sentence with <e1>…</e1> and <e2>…</e2> marked.",
  "the-model-view": "Every head at once: a thumbnail per head (row = layer, column = head; rows of a thumbnail are queries, columns keys) and the chosen head's matrix as a heatmap with its colour scale.",
  "checkpoint-card": "What /models lists per checkpoint: its task and input format, base model, size (layers × heads), labels, whether it is loaded, and its measured metrics per split with n.",
  "the-head-view": "Queries on the left, keys on the right, one line per pair in its head's colour; Mass keeps each query's strongest keys up to that share of its attention.",
  prediction: "The label the checkpoint gives and each label's softmax probability: not a calibrated confidence unless the report's ECE says so.",
  "attribution-scores": "Per token, how much it mattered to the label: integrated gradients and gradient × input from gradients, rollout and flow from every layer's attention.",
  faithfulness: "Does the prediction need the tokens an explanation ranks highest? Comprehensiveness and sufficiency by erasing them (ERASER), summed as (normalised) AOPC.",
  "report-figures": "What each /report number is: each figure on the named test inputs, with its n; below the minimum n the row is greyed out.",
  "accuracy-and-f1-per-task": "Each task's headline pair: 3-way sentiment accuracy and aspect-detection F1 (ABSA categories), accuracy and macro-F1 (terms), accuracy and official macro-F1 (SemEval-2010). Higher is better.",
  "distribution-shift": "The same figures on another domain with the same labels; change = shifted minus test (negative: lost).",
  "accuracy-under-attack": "Accuracy on the attacked test pairs after PWWS or HotFlip within the query budget; success rate = right before, wrong after. Higher accuracy is better.",
  ece: "Expected calibration error: the confidence-accuracy gap over equal-width confidence bins, before and after temperature scaling. Lower is better (the charts draw 1 − ECE).",
  "ood-auroc": "How well the maximum softmax probability tells test inputs from out-of-domain text: 1 perfectly, 0.5 chance. Higher is better.",
  "seed-group-figures": "Over a group's seeds: mean ± sample SD [min–max], n = seeds; two groups seed by seed: the mean paired difference with its 95% t-interval.",
  "flip-rate": "The share of variants whose prediction differs from their source's; lower is better only where the variant keeps the gold label.",
  "debiased-accuracy": "Accuracy on the sources whose shortcut-only variant the model gets wrong: what it knows beyond the shortcut. Higher is better.",
};

/** The small "?" link to a concept on /concepts (opens beside the page), titled with its definition. */
export function conceptLink(anchor) {
  const a = el("a", "concept", "?");
  a.href = `/concepts#${anchor}`;
  a.target = "_blank";
  a.rel = "noopener";
  a.title = CONCEPTS[anchor] || "";
  a.setAttribute("aria-label", `what is ${anchor.replace(/-/g, " ")}?`);
  return a;
}

/** Turn every <span data-concept="anchor"></span> under `root` (placed by the templates) into its link. */
export function fillConceptLinks(root = document) {
  for (const slot of $$("[data-concept]", root)) slot.replaceWith(conceptLink(slot.dataset.concept));
}

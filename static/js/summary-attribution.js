// The /analysis page's "Attention vs attribution" panel: what the agreement statistics rest on
// (rollout, integrated gradients), IG's completeness gap and its own pairs/s, and the
// interpretability rate computed with IG in place of attention (result.attribution, docs/reference/api.md).

import { $, fact, fmt } from "./dom.js";

/** The heads with the highest mean agreement for a statistic, as "layer.head (score)". */
function topHeads(result, stat, count = 5) {
  return result.heads.filter((h) => h.statistics[stat] && h.statistics[stat].score != null)
    .sort((a, b) => b.statistics[stat].score - a.statistics[stat].score).slice(0, count)
    .map((h) => `${h.layer}.${h.head} (${fmt(h.statistics[stat].score)})`).join(" ");
}

export function drawAttributionFacts(result) {
  const dl = $("attribution-facts"), section = result.attribution;
  dl.replaceChildren();
  if (!section) {
    fact(dl, "not computed", "agreement off (settings.agreement = false), or a result from before it existed");
    return;
  }
  fact(dl, "read from", `${section.query}, ${section.metric} over content tokens`);
  for (const [stat, n] of Object.entries(section.examples)) fact(dl, `${stat} (${n} pairs)`, topHeads(result, stat));
  const ig = section.ig;
  if (ig) {
    fact(dl, "integrated gradients", `${ig.steps} steps, ${ig.examples} pairs, ${fmt(ig.pairs_per_s, 2)} pairs/s`);
    fact(dl, "completeness gap", `mean ${fmt(100 * ig.mean_relative_gap, 1)}%, max ${fmt(100 * ig.max_relative_gap, 1)}% of logit(x) − logit(x′)`);
  } else {
    fact(dl, "integrated gradients", (section.not_computed && section.not_computed.ig) || "–");
  }
  const rate = section.interpretability;
  if (rate) fact(dl, "interpretability, IG vs attention", `${fmt(rate.rate)} vs ${fmt(rate.attention_rate)} (random ${fmt(rate.random)}, ${rate.examples} pairs)`);
  const heads = (result.labelled && result.labelled.attribution) || [];
  fact(dl, "attribution heads", heads.length ? heads.map(([l, h]) => `${l}.${h}`).join(" ") : "none");
}

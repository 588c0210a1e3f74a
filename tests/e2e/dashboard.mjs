// deploy/grafana/pdserve.json as data: its PromQL expressions and the series
// they name.
import { readFileSync } from "node:fs";
import path from "node:path";

import { root } from "./cluster.mjs";

export const dashboard = JSON.parse(readFileSync(path.join(root, "deploy/grafana/pdserve.json"), "utf8"));

// Every PromQL expression: the panels' targets and the query variables.
export function expressions() {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const v of dashboard.templating.list) if (v.definition) exprs.push(v.definition);
  return exprs;
}

// The series an expression names (pdserve's are all vllm:* or pdserve:*).
export function seriesNames(expr) {
  return [...expr.matchAll(/\b(?:vllm|pdserve):[A-Za-z0-9_:]+/g)].map((m) => m[0]);
}

// An expression as Prometheus takes it: Grafana's variables given values.
export function instantiate(expr, rateInterval = "10s") {
  return expr.replaceAll("$__rate_interval", rateInterval).replaceAll("$model_name", ".*");
}

// Series that a running cluster on the demo model does not export, and why.
export const exportedOnlyWith = {
  "vllm:spec_decode_num_accepted_tokens_total": "speculative decoding on (decode workers)",
  "vllm:spec_decode_num_draft_tokens_total": "speculative decoding on (decode workers)",
};

// The sample names in a Prometheus text exposition.
export function sampleNames(text) {
  const names = new Set();
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/);
    if (m) names.add(m[1]);
  }
  return names;
}

// Speculative decoding through the disaggregated cluster: `pdserve serve
// --speculative-config` gives the decode worker a draft model (the prefill
// worker has none); greedy output equals plain `pdserve generate`, the
// decode worker's /metrics count drafts and accepted tokens (vLLM's names),
// and every block is free afterwards.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { Cluster, expectAllFree, metric, model, pdserve, root } from "./cluster.mjs";

const draft = path.join(root, "models/pdserve-demo-draft");
const spec = JSON.stringify({ method: "draft_model", model: draft, num_speculative_tokens: 4 });
// Every prompt is prefilled by the prefill worker: decoding starts from transferred KV.
const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"], serveArgs: ["--speculative-config", spec] });

before(async () => cluster.start());
after(async () => cluster.stop());

async function complete(body) {
  const r = await fetch(cluster.url + "/v1/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "pdserve-demo", ...body }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}

describe("speculative decoding in the decode worker", () => {
  test("greedy output equals plain pdserve generate; drafts are verified", async () => {
    const ids = [2386, 263, 2171];
    const out = execFileSync(pdserve, ["generate", "--model", model, "--device", "cpu", "--prompt-ids", ids.join(","),
      "--max-tokens", "64", "--temperature", "0", "--ignore-eos"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const expected = out.trim().split(/\s+/).map(Number);
    const detok = await fetch(cluster.url + "/detokenize", { method: "POST", body: JSON.stringify({ tokens: expected }) })
      .then((r) => r.json());
    const r = await complete({ prompt: ids, max_tokens: 64, temperature: 0, ignore_eos: true });
    assert.equal(r.choices[0].text, detok.prompt);
    const m = await cluster.metrics("decode");
    assert.ok(metric(m, 'pdserve:decode_prefills_total{where="remote"}') > 0, m);
    const drafts = metric(m, "vllm:spec_decode_num_drafts_total");
    const proposed = metric(m, "vllm:spec_decode_num_draft_tokens_total");
    const accepted = metric(m, "vllm:spec_decode_num_accepted_tokens_total");
    assert.ok(drafts > 0 && accepted > 0 && accepted <= proposed, m);
    assert.equal(metric(m, 'vllm:spec_decode_num_accepted_tokens_per_pos_total{position="0"}') <= drafts, true);
  });

  test("concurrent sampled and greedy requests finish with every block free", async () => {
    const bodies = [];
    for (let i = 0; i < 6; i++) {
      bodies.push({ prompt: [2386, 263, 2171 + i], max_tokens: 20 + i, temperature: i % 2 ? 0.8 : 0, seed: i });
    }
    const results = await Promise.all(bodies.map(complete));
    for (const [i, r] of results.entries()) assert.equal(r.usage.completion_tokens <= bodies[i].max_tokens, true);
    await expectAllFree(cluster, assert);
  });
});

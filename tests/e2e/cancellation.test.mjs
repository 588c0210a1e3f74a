// 32 streaming clients, half of them disconnect at random points: afterwards
// every worker holds no request and every KV block is free, and the router
// counted the 16 as cancelled.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree, metric } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"] });
before(async () => cluster.start());
after(async () => cluster.stop());

async function streamOne(i, abortAfterChunks) {
  const ctl = new AbortController();
  const r = await fetch(cluster.url + "/v1/completions", {
    method: "POST",
    signal: ctl.signal,
    body: JSON.stringify({ model: "pdserve-demo", prompt: `And it came to pass ${i}`, max_tokens: 64, temperature: 0.9, seed: i, stream: true, ignore_eos: true }),
  });
  if (r.status !== 200) assert.fail(`stream ${i}: ${r.status} ${await r.text()}`);
  const reader = r.body.getReader();
  let chunks = 0, done = false, text = "";
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      text += new TextDecoder().decode(value);
      chunks = (text.match(/^data: /gm) || []).length;
      if (abortAfterChunks >= 0 && chunks >= abortAfterChunks) {
        ctl.abort();
        return "aborted";
      }
    }
    done = text.includes("data: [DONE]");
  } catch (e) {
    if (e.name !== "AbortError") throw e;
    return "aborted";
  }
  assert.ok(done, text.slice(-300));
  return "done";
}

test("half the clients go away mid-stream; nothing is left held", async () => {
  const runs = [];
  for (let i = 0; i < 32; ++i) runs.push(streamOne(i, i % 2 ? Math.floor(Math.random() * 20) : -1));
  const outcomes = await Promise.all(runs);
  assert.equal(outcomes.filter((o) => o === "done").length, 16);
  await expectAllFree(cluster, assert, 60000);
  const metrics = await (await fetch(cluster.url + "/metrics")).text();
  assert.equal(metric(metrics, 'pdserve:router_requests_total{outcome="cancelled"}'), 16, metrics);
  assert.equal(metric(metrics, 'pdserve:router_requests_total{outcome="ok"}'), 16, metrics);
  // The cluster still serves.
  assert.equal(await streamOne(99, -1), "done");
  await expectAllFree(cluster, assert);
});

// Fault containment through the prefill worker: its engine fails one step
// (PDSERVE_ENGINE_FAULT=check:2, a PD_CHECK that fails in the forward pass of
// its second step; every prompt is prefilled remotely). The request of that
// step is prefilled locally by the decode worker and answered in full, the
// prefill worker keeps serving (the next prompt is prefilled there again) and
// every block on both workers is freed. With max_tokens 1 the decode worker
// runs no step of its own for a remote prefill, so the fault lands on the
// prefill worker only (the decode worker's one step is the local fallback).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree, metric, until } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"], env: { PDSERVE_ENGINE_FAULT: "check:2" } });
before(async () => cluster.start());
after(async () => cluster.stop());

const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 1, temperature: 0 };
async function complete() {
  const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}
const remote = async () => metric(await cluster.metrics("decode"), 'pdserve:decode_prefills_total{where="remote"}');
const fallbacks = async () => metric(await cluster.metrics("decode"), "pdserve:decode_prefill_fallbacks_total");

test("a failed prefill step: its request is prefilled locally, the prefill worker serves the next", async () => {
  const first = await complete();
  assert.equal(first.status, 200, JSON.stringify(first.json));
  assert.equal(await remote(), 1);
  const failed = await complete();  // the prefill worker's second step fails
  assert.equal(failed.status, 200, JSON.stringify(failed.json));
  assert.equal(failed.json.choices[0].text, first.json.choices[0].text);
  assert.equal(await fallbacks(), 1);
  await until(() => cluster.log.some((l) => l.startsWith("[prefill-0]") && l.includes("injected fault")), 5000,
              "the prefill worker to log the cause");
  const next = await complete();
  assert.equal(next.status, 200, JSON.stringify(next.json));
  assert.equal(next.json.choices[0].text, first.json.choices[0].text);
  assert.equal(await remote(), 2);  // the prefill worker served again
  await expectAllFree(cluster, assert);
});

// A request whose coroutine throws (PDSERVE_REQUEST_FAULT=1: the first
// request of each worker throws once it holds KV blocks; every prompt is
// prefilled remotely). The prefill worker ends its request with an error
// answer, so the decode worker prefills it locally; then the decode worker's
// own coroutine throws while streaming it, so the client gets an
// OpenAI-shaped error. Neither worker dies (the same processes serve the next
// request in full), both log the exception, and every block is freed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree, metric, until } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"], env: { PDSERVE_REQUEST_FAULT: "1" } });
before(async () => cluster.start());
after(async () => cluster.stop());

const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 4, temperature: 0 };
async function complete() {
  const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}
const started = () => cluster.log.filter((l) => /started (prefill|decode)-0 \(pid/.test(l)).length;

test("a request whose coroutine throws gets a clean error; the workers serve the next one", async () => {
  const workers = started();
  const failed = await complete();
  assert.equal(failed.status, 500, JSON.stringify(failed.json));
  assert.equal(failed.json.error.type, "server_error", JSON.stringify(failed.json));
  assert.doesNotMatch(failed.json.error.message, /injected|127\.0\.0\.1|PDSERVE/, failed.json.error.message);
  for (const role of ["prefill", "decode"]) {
    await until(() => cluster.log.some((l) => l.startsWith(`[${role}-0]`) && l.includes("injected request fault")),
                5000, `the ${role} worker to log the exception`);
  }
  assert.equal(metric(await cluster.metrics("decode"), "pdserve:decode_prefill_fallbacks_total"), 1);
  await expectAllFree(cluster, assert);
  const next = await complete();
  assert.equal(next.status, 200, JSON.stringify(next.json));
  assert.equal(metric(await cluster.metrics("decode"), 'pdserve:decode_prefills_total{where="remote"}'), 1);
  assert.equal(started(), workers, "no worker was restarted:\n" + cluster.tail());
  await expectAllFree(cluster, assert);
});

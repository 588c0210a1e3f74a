// A throw in the router's request coroutine after a stream's first chunk
// went out (PDSERVE_ROUTER_FAULT=1: the router's first streamed request
// throws there). The stream ends as vLLM ends a failed one: an error event
// (`data: {"error": {...}}`, no finish_reason) and `data: [DONE]`; the
// request is counted as failed; the router logs the exception and serves the
// next request in full; the workers free every block of the aborted one.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree, metric, streamCompletion, until } from "./cluster.mjs";

const cluster = new Cluster({ env: { PDSERVE_ROUTER_FAULT: "1" } });
before(async () => cluster.start());
after(async () => cluster.stop());

const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 16, temperature: 0, stream: true, ignore_eos: true };
const routerMetrics = async () => (await fetch(cluster.url + "/metrics")).text();

test("a throw mid-stream ends the stream with an error event and [DONE]", async () => {
  const failed = await streamCompletion(cluster, body);
  assert.equal(failed.status, 200);
  assert.ok(failed.done, "no [DONE]: " + JSON.stringify(failed.events.slice(-2)));
  const last = failed.events.at(-1);
  assert.ok(failed.events.length >= 2 && failed.events[0].choices, JSON.stringify(failed.events));
  assert.ok(last?.error, "the stream did not end with an error event: " + JSON.stringify(last));
  assert.equal(last.error.type, "server_error", JSON.stringify(last));
  assert.equal(last.choices, undefined, JSON.stringify(last));
  assert.doesNotMatch(last.error.message, /injected|PDSERVE/, last.error.message);
  await until(() => cluster.log.some((l) => l.startsWith("[router]") && l.includes("injected request fault")),
              5000, "the router to log the exception");
  assert.equal(metric(await routerMetrics(), 'pdserve:router_requests_total{outcome="error"}'), 1);
  await expectAllFree(cluster, assert);

  const next = await streamCompletion(cluster, body);
  assert.ok(next.done);
  assert.equal(next.events.at(-1)?.choices?.[0]?.finish_reason, "length", JSON.stringify(next.events.at(-1)));
  assert.equal(metric(await routerMetrics(), 'pdserve:router_requests_total{outcome="ok"}'), 1);
});

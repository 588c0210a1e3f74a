// A stalled prefill worker (SIGSTOP) under `pdserve serve` with every prompt
// prefilled remotely: the decode worker's health probes of it go unanswered
// (PrefillWatch, --prefill-stall-timeout-ms, default 3 s), so the requests
// waiting on it are prefilled locally within 10 s instead of waiting out the
// prefill deadline (--prefill-timeout-ms, 60 s). The decode worker closes
// the calls it gave up on, so once the prefill worker resumes it aborts
// those requests (it does not prefill them for nobody), and every block on
// both workers is free again.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree, metric } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"] });
before(async () => cluster.start());
after(async () => {
  if (pid) process.kill(pid, "SIGCONT");
  await cluster.stop();
});

let pid = 0;
function prefillPid() {
  let p = 0;
  for (const line of cluster.log) {
    const m = line.match(/started prefill-0 \(pid (\d+)/);
    if (m) p = Number(m[1]);
  }
  return p;
}

// Requests the prefill worker ended as aborted (the series' label order is the registry's).
async function prefillAborts() {
  const text = await cluster.metrics("prefill");
  const line = text.split("\n").find((l) => l.startsWith("vllm:request_success_total{") &&
                                          l.includes('finished_reason="abort"'));
  return Number(line?.split(" ").pop());
}

const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 8, temperature: 0 };
async function complete() {
  const t0 = Date.now();
  const r = await fetch(cluster.url + "/v1/completions", {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(90000),
  });
  const json = await r.json();
  return { status: r.status, text: json.choices?.[0]?.text, seconds: (Date.now() - t0) / 1000 };
}

test("SIGSTOP of the prefill worker: waiting requests are prefilled locally within 10 s", async (t) => {
  const before = await complete();
  assert.equal(before.status, 200);
  const fallbacksBefore = metric(await cluster.metrics("decode"), "pdserve:decode_prefill_fallbacks_total");
  const abortedBefore = await prefillAborts();
  pid = prefillPid();
  assert.ok(pid > 0, cluster.tail());
  process.kill(pid, "SIGSTOP");
  // Sent at once: the router still counts the prefill worker healthy, so these go to it.
  const answers = await Promise.all([complete(), complete(), complete(), complete()]);
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.equal(a.text, before.text);  // greedy: the same answer, prefilled locally
    assert.ok(a.seconds <= 10, `a request took ${a.seconds} s`);
  }
  const fallbacks = metric(await cluster.metrics("decode"), "pdserve:decode_prefill_fallbacks_total");
  assert.ok(fallbacks > fallbacksBefore, `fallbacks ${fallbacksBefore} -> ${fallbacks}`);
  process.kill(pid, "SIGCONT");
  pid = 0;
  await expectAllFree(cluster, assert);
  const abortedAfter = await prefillAborts();
  // Each is aborted unless the prefill worker ran it before it saw the call closed.
  assert.ok(abortedAfter > abortedBefore, `aborted by the prefill worker: ${abortedAfter - abortedBefore}`);
  const after = await complete();
  assert.equal(after.status, 200);
  assert.equal(after.text, before.text);
  t.diagnostic(`answered after ${answers.map((a) => a.seconds).join(", ")} s; ` +
               `${fallbacks - fallbacksBefore} prefilled locally; ` +
               `${abortedAfter - abortedBefore} aborted by the prefill worker`);
});

// `pdserve serve` supervises: kill -9 of a worker, and the launcher starts it
// again while the others serve; the router's /health says "degraded" while a
// worker is down; the cluster serves again within 10 s and (nearly) every
// later request succeeds (cluster_health_test covers the "degraded" answer).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { Cluster } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"] });
before(async () => cluster.start());
after(async () => cluster.stop());

// The pid the launcher last logged for a role's first worker.
function pidOf(role) {
  let pid = 0;
  for (const line of cluster.log) {
    const m = line.match(new RegExp(`started ${role}-0 \\(pid (\\d+)`));
    if (m) pid = Number(m[1]);
  }
  return pid;
}

let lastBody = "";
async function complete() {
  const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 4, temperature: 0 };
  try {
    const r = await fetch(cluster.url + "/v1/completions", {
      method: "POST",
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30000),
    });
    lastBody = await r.text();
    return r.status;
  } catch {
    return 0;
  }
}

async function health() {
  const r = await fetch(cluster.url + "/health");
  return { status: r.status, body: await r.json() };
}

for (const role of ["prefill", "decode"]) {
  test(`kill -9 of the ${role} worker: restarted, serving again within 10 s, >= 99% of later requests succeed`, async (t) => {
    const pid = pidOf(role);
    assert.ok(pid > 0, cluster.tail());
    process.kill(pid, "SIGKILL");
    const t0 = Date.now();
    // A request sent at once is held by the router until the worker is back
    // (decode) or prefilled locally (prefill), not failed.
    assert.equal(await complete(), 200, lastBody + "\n" + cluster.tail());
    t.diagnostic(`the request sent right after the kill answered after ${Date.now() - t0} ms`);
    let degraded = false;
    let served = false;
    while (Date.now() - t0 < 10000 && !served) {
      const h = await health();
      degraded ||= h.body.status !== "ok";
      served = (await complete()) === 200 && pidOf(role) !== pid;
      if (!served) await sleep(100);
    }
    assert.ok(served, `not serving with a new ${role} worker within 10 s:\n` + cluster.tail());
    // A restart faster than the router's polls (2 failures, 0.5 s apart) is never seen.
    t.diagnostic(`serving again after ${Date.now() - t0} ms; /health degraded seen: ${degraded}`);
    // Back to "ok" once the router polled the new worker.
    const until = Date.now() + 10000;
    while ((await health()).body.status !== "ok" && Date.now() < until) await sleep(100);
    assert.equal((await health()).body.status, "ok");
    let ok = 0;
    const n = 100;
    for (let i = 0; i < n; ++i) ok += (await complete()) === 200 ? 1 : 0;
    assert.ok(ok >= 99, `${ok} of ${n} later requests succeeded`);
    assert.equal(cluster.proc.exitCode, null, "pdserve serve stopped");
  });
}

// A KV transfer that fails (kvtransfer's fault injector fails every write):
// the decode worker prefills locally instead, and the answer is the one a
// healthy cluster gives; every block is freed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree, metric } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"], env: { PDSERVE_KV_FAULT_EVERY_N: "1" } });
before(async () => cluster.start());
after(async () => cluster.stop());

test("failed transfers fall back to local prefill with the same answer", async () => {
  const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 12, temperature: 0 };
  const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.clone().text());
  // The demo model's greedy continuation (as pdserve generate prints it).
  assert.equal((await r.json()).choices[0].text, " of the reign of Jehoiakim king of Judah came Nebuchadnezzar king of");
  const dm = await cluster.metrics("decode");
  assert.ok(metric(dm, "pdserve:decode_prefill_fallbacks_total") >= 1, dm);
  assert.equal(metric(dm, 'pdserve:decode_prefills_total{where="remote"}'), 0);
  await expectAllFree(cluster, assert);
});

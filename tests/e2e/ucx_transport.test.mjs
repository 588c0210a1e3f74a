// The cluster with KV moving over the UCX backend (shared memory between the
// two worker processes), plain and through the staging buffers that device
// memory takes without CUDA-capable UCX (forced on host memory here): every
// prompt is prefilled remotely, the greedy answer is the one a co-located
// engine gives, the KV bytes arrive, and every block is freed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Cluster, expectAllFree, metric } from "./cluster.mjs";

// The demo model's greedy continuation (as pdserve generate prints it).
const kPrompt = "In the beginning";
const kAnswer = " of the reign of Jehoiakim king of Judah came Nebuchadnezzar king of";

for (const [name, env] of [
  ["ucx", { UCX_TLS: "sm,self", UCX_LOG_LEVEL: "fatal" }],
  ["ucx staged", { UCX_TLS: "sm,self", UCX_LOG_LEVEL: "fatal", PDSERVE_KV_UCX_STAGING: "always" }],
]) {
  describe(name, () => {
    const cluster = new Cluster({ serveArgs: ["--kv-backend", "ucx"], routerArgs: ["--prefill-mode=remote"], env });
    before(async () => cluster.start());
    after(async () => cluster.stop());

    test("remote prefills over UCX give the co-located answer and free every block", async () => {
      const bytesBefore = metric(await cluster.metrics("decode"), 'pdserve:kv_transfer_bytes_total{role="decode"}');
      const answers = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const body = { model: "pdserve-demo", prompt: kPrompt, max_tokens: 12, temperature: 0 };
          const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
          assert.equal(r.status, 200, await r.clone().text());
          return (await r.json()).choices[0].text;
        }),
      );
      assert.deepEqual(answers, [kAnswer, kAnswer, kAnswer, kAnswer]);
      const dm = await cluster.metrics("decode");
      assert.ok(metric(dm, 'pdserve:decode_prefills_total{where="remote"}') >= 4, dm);
      assert.equal(metric(dm, "pdserve:decode_prefill_fallbacks_total"), 0, dm);
      assert.ok(metric(dm, 'pdserve:kv_transfer_bytes_total{role="decode"}') > bytesBefore, dm);
      await expectAllFree(cluster, assert);
    });
  });
}

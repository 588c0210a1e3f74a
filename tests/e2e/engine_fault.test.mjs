// Fault containment through a worker: the decode worker's engine fails one
// step (PDSERVE_ENGINE_FAULT: a PD_CHECK fails in the forward pass of its
// second step). The request of that step gets an error event that names
// nothing internal, the worker keeps serving (the next request gets the healthy
// answer) and every block is freed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree, until } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=local"], env: { PDSERVE_ENGINE_FAULT: "check:2" } });
before(async () => cluster.start());
after(async () => cluster.stop());

const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 12, temperature: 0 };

test("a failed engine step ends its stream with an error event, and the worker serves the next request", async () => {
  // Step 1 prefills and samples the first token (streamed), step 2 fails.
  const failed = await fetch(cluster.url + "/v1/completions", {
    method: "POST",
    body: JSON.stringify({ ...body, stream: true }),
  });
  assert.equal(failed.status, 200);
  const events = (await failed.text()).split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
  assert.equal(events.at(-1), "[DONE]", events.join("\n"));
  const error = JSON.parse(events.at(-2)).error;
  assert.ok(error, "an error event before [DONE]: " + events.join("\n"));
  assert.doesNotMatch(error.message, /127\.0\.0\.1|check|layer|step/, error.message);
  assert.ok(!events.some((e) => e.includes('"finish_reason":"length"')), "no normal finish");
  // The worker's log line may reach the pipe after the stream ended.
  await until(() => cluster.log.some((l) => l.includes("injected fault")), 5000, "the worker to log the cause");

  const ok = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
  assert.equal(ok.status, 200, await ok.clone().text());
  // The demo model's greedy continuation (as pdserve generate prints it).
  assert.equal((await ok.json()).choices[0].text, " of the reign of Jehoiakim king of Judah came Nebuchadnezzar king of");
  await expectAllFree(cluster, assert);
});

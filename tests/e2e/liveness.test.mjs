// A stalled decode worker (SIGSTOP) under `pdserve serve`: its heartbeats
// stop, so the router ends the stream in flight with an error event within
// 10 s (--stream-silence-timeout, default 5 s) and a new request gets an
// answer within 10 s too, instead of hanging for as long as the stall lasts.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster } from "./cluster.mjs";

const cluster = new Cluster();
before(async () => cluster.start());
after(async () => {
  if (pid) process.kill(pid, "SIGCONT");
  await cluster.stop();
});

let pid = 0;
function decodePid() {
  let p = 0;
  for (const line of cluster.log) {
    const m = line.match(/started decode-0 \(pid (\d+)/);
    if (m) p = Number(m[1]);
  }
  return p;
}

test("SIGSTOP of the decode worker: the stream in flight and a new request end within 10 s", async (t) => {
  const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 1000, stream: true, ignore_eos: true };
  const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  await reader.read();  // the stream is going
  pid = decodePid();
  assert.ok(pid > 0, cluster.tail());
  process.kill(pid, "SIGSTOP");
  const t0 = Date.now();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  const streamS = (Date.now() - t0) / 1000;
  assert.ok(streamS <= 10, `the stream ended ${streamS} s after the stall`);
  assert.match(text, /"error"/);
  assert.match(text, /data: \[DONE\]/);
  const t1 = Date.now();
  const again = await fetch(cluster.url + "/v1/completions", {
    method: "POST",
    body: JSON.stringify({ ...body, stream: false, max_tokens: 4 }),
  });
  const newS = (Date.now() - t1) / 1000;
  assert.ok(newS <= 10, `a new request took ${newS} s`);
  assert.notEqual(again.status, 200);  // the only decode worker is stalled
  const err = await again.json();
  assert.ok(err.error?.message, JSON.stringify(err));
  t.diagnostic(`stream ended ${streamS} s after the stall, a new request answered ${again.status} after ${newS} s`);
  process.kill(pid, "SIGCONT");
  pid = 0;
});

// SIGTERM to `pdserve serve` with streams in flight: the router stops taking
// requests, lets the running ones finish for --shutdown-grace, then ends the
// rest with an error event (vLLM's shape: an "error" object, no
// finish_reason) and [DONE]. No stream is cut silently.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, streamCompletion } from "./cluster.mjs";

const graceS = 2;
const cluster = new Cluster({ serveArgs: [`--shutdown-grace=${graceS}`] });
before(async () => cluster.start());
after(async () => cluster.stop());

// One streamed completion: the parsed events until [DONE] (or the end).
function stream(maxTokens) {
  const body = { model: "pdserve-demo", prompt: "In the beginning", max_tokens: maxTokens, stream: true, ignore_eos: true };
  return streamCompletion(cluster, body);
}

test("SIGTERM: short streams finish, long ones end with an error event and [DONE]", async () => {
  const long = [stream(1000), stream(1000), stream(1000)];
  const short = [stream(8), stream(8)];
  await new Promise((r) => setTimeout(r, 1500));  // every stream has started
  const t0 = Date.now();
  cluster.proc.kill("SIGTERM");
  const results = await Promise.all([...long, ...short]);
  const took = (Date.now() - t0) / 1000;
  assert.ok(took < graceS + 5, `streams ended after ${took} s`);
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 200);
    assert.ok(r.done, `stream ${i} has no [DONE]: ${JSON.stringify(r.events.slice(-2))}`);
    const last = r.events.at(-1);
    const finished = last?.choices?.[0]?.finish_reason;
    if (i < long.length) {
      assert.ok(last?.error, `long stream ${i} did not end with an error event: ${JSON.stringify(last)}`);
      assert.match(last.error.message, /shutting down/);
    } else {
      assert.equal(finished, "length", `short stream ${i}: ${JSON.stringify(last)}`);
    }
  }
});

// One timeline per request: the router's /debug/requests/{id} (behind the API
// key) joins the milestones that the router, the decode worker and the
// prefill worker recorded for one request id, in order; each process also
// logs them as one-line JSON (--log-format json), the child's name inside.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster } from "./cluster.mjs";

const apiKey = "timeline-key";
// Every prefill remote, so the request crosses all three processes.
const cluster = new Cluster({ apiKey, serveArgs: ["--log-format", "json"], routerArgs: ["--prefill-mode=remote"] });
before(async () => cluster.start());
after(async () => cluster.stop());

const auth = { Authorization: `Bearer ${apiKey}` };

async function complete(id, stream) {
  const r = await fetch(cluster.url + "/v1/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Request-Id": id, ...auth },
    body: JSON.stringify({ model: "pdserve-demo", prompt: "In the beginning God created", max_tokens: 5, temperature: 0, stream }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  await r.text();
}

async function timeline(id) {
  const r = await fetch(`${cluster.url}/debug/requests/${id}`, { headers: auth });
  return { status: r.status, body: await r.json() };
}

// The events of one process, in the order of the joined timeline.
function events(milestones, process) {
  return milestones.filter((m) => m.process === process).map((m) => m.event);
}

for (const stream of [false, true]) {
  test(`a ${stream ? "streaming" : "non-streaming"} request's timeline holds every milestone in order`, async () => {
    const id = `timeline-${stream ? "s" : "n"}-1`;
    await complete(id, stream);
    // The last milestones are recorded as the answer ends: wait for them.
    let t;
    for (let i = 0; i < 50; ++i) {
      t = await timeline(id);
      if (t.status === 200 && events(t.body.milestones, "decode").includes("finished")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const m = t.body.milestones;
    assert.equal(t.body.request_id, id);
    assert.deepEqual(t.body.unreachable, []);
    for (let i = 1; i < m.length; ++i) assert.ok(m[i - 1].time_us <= m[i].time_us, JSON.stringify(m));
    assert.deepEqual(events(m, "router"), ["received", "routed", "first_token", "finished"]);
    assert.deepEqual(events(m, "decode"), ["received", "queued", "prefill_remote", "kv_arrived", "first_token", "finished"]);
    // The first layer goes while the prefill computes (layer-wise push) or,
    // when the hook did not see the step, after it: either way inside
    // prefill_start .. kv_transfer_end.
    const p = events(m, "prefill");
    assert.deepEqual(p.filter((e) => e !== "kv_transfer_start"), ["received", "prefill_start", "prefill_end", "kv_transfer_end"]);
    assert.ok(p.indexOf("kv_transfer_start") > p.indexOf("prefill_start"), JSON.stringify(p));
    // Across processes: routed before the decode worker has it, the prefill
    // worker asked after that, the KV in before the first token, the router
    // last to finish.
    const at = (p, e) => m.find((x) => x.process === p && x.event === e).time_us;
    assert.ok(at("router", "routed") <= at("decode", "received"));
    assert.ok(at("decode", "prefill_remote") <= at("prefill", "received"));
    assert.ok(at("prefill", "kv_transfer_end") <= at("decode", "kv_arrived"));
    assert.ok(at("decode", "kv_arrived") <= at("decode", "first_token"));
    assert.ok(at("decode", "finished") <= at("router", "finished"));
    const transferred = m.find((x) => x.process === "prefill" && x.event === "kv_transfer_end");
    assert.ok(transferred.bytes > 0, JSON.stringify(transferred));
    assert.equal(m.find((x) => x.process === "router" && x.event === "finished").finish_reason, "length");
    // The same milestones were logged as JSON lines by each process (the
    // workers know the request by its choice's id).
    const logged = cluster.log
      .filter((l) => l.startsWith("{") && (l.includes(`"request_id":"${id}"`) || l.includes(`"request_id":"${id}-0"`)))
      .map((l) => JSON.parse(l));
    for (const child of ["router", "decode-0", "prefill-0"]) {
      assert.ok(logged.some((l) => l.child === child && l.process === child.split("-")[0]),
        `${child}: ${JSON.stringify(logged)}`);
    }
  });
}

test("an unknown id is a 404, a malformed one a 400, and the view needs the API key", async () => {
  let t = await timeline("never-sent");
  assert.equal(t.status, 404);
  assert.equal(t.body.error.type, "not_found_error");
  t = await timeline("bad%20id");
  assert.equal(t.status, 400);
  assert.equal(t.body.error.param, "id");
  const r = await fetch(`${cluster.url}/debug/requests/timeline-n-1`);
  assert.equal(r.status, 401);
  await r.text();
});

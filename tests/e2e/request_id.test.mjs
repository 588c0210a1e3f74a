// Every completion answer carries the request's id (X-Request-Id: the
// client's when it sent a usable one, else the router's own), streaming or
// not, errors included; a non-streaming answer has a Server-Timing header
// (time to the first token and in all). An unusable X-Request-Id is a 400.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster } from "./cluster.mjs";

const cluster = new Cluster();
before(async () => cluster.start());
after(async () => cluster.stop());

function post(body, headers = {}) {
  return fetch(cluster.url + "/v1/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ model: "pdserve-demo", prompt: "In the beginning", max_tokens: 4, temperature: 0, ...body }),
  });
}

test("the client's X-Request-Id is echoed, with Server-Timing", async () => {
  const r = await post({}, { "X-Request-Id": "client-trace-1" });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get("x-request-id"), "client-trace-1");
  const timing = r.headers.get("server-timing");
  const m = timing.match(/^ttft;dur=([0-9.]+), total;dur=([0-9.]+)$/);
  assert.ok(m, timing);
  assert.ok(Number(m[1]) > 0 && Number(m[1]) <= Number(m[2]), timing);
  await r.json();
});

test("without one, the router makes an id, fresh for each request", async () => {
  const a = await post({});
  const b = await post({});
  assert.match(a.headers.get("x-request-id"), /^[0-9a-f]{24}$/);
  assert.notEqual(a.headers.get("x-request-id"), b.headers.get("x-request-id"));
  await Promise.all([a.text(), b.text()]);
});

test("a streaming answer and an error answer carry the id too", async () => {
  const s = await post({ stream: true }, { "X-Request-Id": "stream-7" });
  assert.equal(s.status, 200);
  assert.equal(s.headers.get("x-request-id"), "stream-7");
  assert.match(await s.text(), /data: \[DONE\]/);
  const e = await post({ max_tokens: -1 }, { "X-Request-Id": "bad-body-3" });
  assert.equal(e.status, 400);
  assert.equal(e.headers.get("x-request-id"), "bad-body-3");
  assert.equal((await e.json()).error.param, "max_tokens");
});

test("an unusable X-Request-Id is a 400 naming it", async () => {
  const r = await post({}, { "X-Request-Id": "has spaces" });
  assert.equal(r.status, 400);
  const { error } = await r.json();
  assert.equal(error.type, "invalid_request_error");
  assert.equal(error.param, "X-Request-Id");
});

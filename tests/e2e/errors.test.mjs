// Every client error of the public API: status and OpenAI's envelope
// {"error": {"message", "type", "param", "code"}}.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Cluster, expectAllFree } from "./cluster.mjs";

// Small queues on the workers, so that a burst is shed with 429.
const cluster = new Cluster({ apiKey: "sk-a", workerArgs: ["--max-num-seqs=2", "--max-waiting-requests=2"] });
before(async () => cluster.start());
after(async () => cluster.stop());

async function call(path, { method = "POST", body, key = "sk-a", raw } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(cluster.url + path, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, json, text };
}

function expectError(r, status, { type, param, code, message } = {}) {
  assert.equal(r.status, status, r.text);
  assert.ok(r.json && r.json.error, r.text);
  const e = r.json.error;
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 0);
  assert.ok("param" in e && "code" in e && "type" in e, r.text);
  if (type) assert.equal(e.type, type);
  if (param !== undefined) assert.equal(e.param, param);
  if (code !== undefined) assert.equal(e.code, code);
  if (message) assert.match(e.message, message);
}

const chat = { model: "pdserve-demo", messages: [{ role: "user", content: "hi" }], max_tokens: 2 };

test("400 for a bad body or parameter, naming the parameter", async () => {
  expectError(await call("/v1/chat/completions", { raw: "{not json" }), 400, { type: "invalid_request_error" });
  expectError(await call("/v1/chat/completions", { body: [1, 2] }), 400);
  expectError(await call("/v1/chat/completions", { body: { ...chat, temperature: "hot" } }), 400, { param: "temperature" });
  expectError(await call("/v1/chat/completions", { body: { ...chat, temperature: 7 } }), 400, { param: "temperature" });
  expectError(await call("/v1/chat/completions", { body: { ...chat, n: 0 } }), 400, { param: "n" });
  expectError(await call("/v1/chat/completions", { body: { ...chat, messages: [] } }), 400, { param: "messages" });
  expectError(await call("/v1/chat/completions", { body: { model: "pdserve-demo" } }), 400, { param: "messages" });
  expectError(await call("/v1/completions", { body: { model: "pdserve-demo", prompt: "x", top_logprobs: "a", logprobs: 99 } }), 400, { param: "logprobs" });
  expectError(await call("/v1/completions", { body: { model: "pdserve-demo", prompt: [1, 99999] } }), 400, { param: "prompt" });
  expectError(await call("/v1/completions", { body: { model: "pdserve-demo", prompt: "x", stop: ["a", "b", "c", "d", "e"] } }), 400, { param: "stop" });
  expectError(await call("/v1/chat/completions", { body: { ...chat, messages: [{ role: "tool", content: "x" }] } }), 400, { message: /roles/ });
});

test("400 context_length_exceeded for a prompt longer than the context", async () => {
  const long = Array.from({ length: 1100 }, (_, i) => 10 + (i % 50));
  expectError(await call("/v1/completions", { body: { model: "pdserve-demo", prompt: long } }), 400, { code: "context_length_exceeded" });
  expectError(await call("/v1/completions", { body: { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 5000 } }), 400, { code: "context_length_exceeded" });
});

test("401 for a missing or wrong API key, /health open", async () => {
  expectError(await call("/v1/chat/completions", { body: chat, key: "" }), 401, { type: "authentication_error" });
  expectError(await call("/v1/chat/completions", { body: chat, key: "sk-wrong" }), 401);
  expectError(await call("/v1/models", { method: "GET", key: "sk-b" }), 401);
  expectError(await call("/v1/models/pdserve-demo", { method: "GET", key: "sk-b" }), 401);
  const health = await call("/health", { method: "GET", key: "" });
  assert.equal(health.status, 200);
});

test("404 for an unknown model or route, 405 for a wrong method", async () => {
  expectError(await call("/v1/chat/completions", { body: { ...chat, model: "gpt-4" } }), 404, { param: "model", code: "model_not_found" });
  expectError(await call("/v1/nothing", { body: chat }), 404);
  expectError(await call("/v1/models/gpt-4", { method: "GET" }), 404, { type: "invalid_request_error", param: "model", code: "model_not_found" });
  expectError(await call("/v1/models/org%2Fgpt-4", { method: "GET" }), 404, { code: "model_not_found", message: /org\/gpt-4/ });
  const one = await call("/v1/models/pdserve-demo", { method: "GET" });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.id, "pdserve-demo");
  assert.equal(one.json.object, "model");
  assert.equal((await call("/v1/models", { method: "DELETE" })).status, 405);
});

test("413 for a body over the limit", async () => {
  const huge = JSON.stringify({ ...chat, messages: [{ role: "user", content: "x".repeat(40 << 20) }] });
  const r = await fetch(cluster.url + "/v1/chat/completions", { method: "POST", headers: { Authorization: "Bearer sk-a" }, body: huge }).catch((e) => e);
  // The server answers 413 and closes; a client still sending may see the reset instead.
  if (!(r instanceof Error)) assert.equal(r.status, 413);
});

test("internal-plane fields from a client are dropped, never forwarded", async () => {
  const r = await call("/v1/completions", { body: { model: "pdserve-demo", prompt: "In the beginning", max_tokens: 2, prefill: { host: "10.0.0.1", port: 1 }, kv_target: {} } });
  assert.equal(r.status, 200, r.text);
});

test("the worker plane refuses requests without the cluster token", async () => {
  const w = cluster.workers.decode;
  const r = await fetch(w + "/internal/v1/generate", { method: "POST", body: "{}" });
  assert.equal(r.status, 401);
});

test("429 when the cluster sheds load; the rest are answered; nothing is left held", async () => {
  const burst = await Promise.all(
    Array.from({ length: 24 }, (_, i) =>
      call("/v1/completions", { body: { model: "pdserve-demo", prompt: `And it came to pass ${i}`, max_tokens: 24, ignore_eos: true } })),
  );
  const shed = burst.filter((r) => r.status === 429);
  const served = burst.filter((r) => r.status === 200);
  assert.ok(shed.length > 0, "no request was shed: " + burst.map((r) => r.status).join(","));
  assert.equal(shed.length + served.length, burst.length, burst.map((r) => r.status).join(","));
  for (const r of shed) expectError(r, 429, { type: "rate_limit_error" });
  for (const r of served) assert.equal(r.json.usage.completion_tokens, 24);
  await expectAllFree(cluster, assert);
});

// Workers found by registration, not by flags: a router started with no
// worker serves once a decode worker registered, and drops it once its
// heartbeats stop.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, test } from "node:test";

import { freePort, model, pdserve, until } from "./cluster.mjs";

const token = "reg-" + Math.random().toString(16).slice(2);
const env = { ...process.env, PDSERVE_CLUSTER_TOKEN: token };
const procs = [];

after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
});

test("a registered decode worker is used, then dropped when it goes away", async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  procs.push(spawn(pdserve, ["router", "--model", model, "--port", String(port)], { env, stdio: "ignore" }));
  await until(async () => (await fetch(url + "/health")).status === 503, 30000, "the router (unhealthy: no worker)");
  const decode = spawn(pdserve, ["decode", "--model", model, "--device", "cpu", "--threads", "1", "--register-with", `127.0.0.1:${port}`], { env, stdio: "ignore" });
  procs.push(decode);
  await until(async () => (await fetch(url + "/health")).status === 200, 60000, "the registration");
  const r = await fetch(url + "/v1/completions", { method: "POST", body: JSON.stringify({ model: "pdserve-demo", prompt: "In the beginning", max_tokens: 4, temperature: 0 }) });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal((await r.json()).usage.completion_tokens, 4);
  decode.kill("SIGTERM");
  await once(decode, "exit");
  await until(async () => (await fetch(url + "/health")).status === 503, 30000, "the worker to be dropped");
  const gone = await fetch(url + "/v1/completions", { method: "POST", body: JSON.stringify({ model: "pdserve-demo", prompt: "x", max_tokens: 1 }) });
  assert.equal(gone.status, 503);
  assert.equal((await gone.json()).error.type, "server_error");
});

// The container image, built and run: deploy/build-image.sh builds the CPU
// image from the already-built tree (PDSERVE_BIN's build folder, so nothing
// is compiled twice) with docker or podman, making debian:bookworm with
// debootstrap when it is absent; the container serves the demo model
// (`pdserve serve`, the image's default command, on a free port of the host
// network), answers a chat completion sent with curl, and stops cleanly on
// SIGTERM within the grace period.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";

import { freePort, pdserve, root, until } from "./cluster.mjs";

const run = promisify(execFile);
const container = path.join(root, "deploy/container.sh");
const tag = "pdserve:e2e";
const name = "pdserve-e2e-" + Math.random().toString(16).slice(2, 10);
const graceSeconds = 45;  // terminationGracePeriodSeconds / stop_grace_period in deploy/
let url;
let danglingBefore = new Set();  // untagged images (build stages) before the build

async function dangling() {
  const { stdout } = await engine("images", "-q", "--filter", "dangling=true");
  return new Set(stdout.split("\n").filter((l) => l));
}

async function engine(...args) {
  return run(container, args, { cwd: root, maxBuffer: 64 << 20 });
}

before(async () => {
  danglingBefore = await dangling();
  const buildDir = path.dirname(path.dirname(pdserve));  // <build>/cli/pdserve
  await run(path.join(root, "deploy/build-image.sh"), ["--tag", tag, "--prebuilt", buildDir],
    { cwd: root, maxBuffer: 64 << 20 }).catch((e) => assert.fail(`build-image.sh: ${e.stderr}\n${e.stdout}`));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  await engine("run", "-d", "--name", name, tag, "serve", "--model", "/models/pdserve-demo", "--host", "127.0.0.1",
    "--port", String(port), "--device", "cpu", "--worker-arg=--threads=1");
});
after(async () => {
  await engine("rm", "-f", name).catch(() => {});
  await engine("rmi", tag).catch(() => {});
  // The build's intermediate stages, left untagged (the base image stays cached).
  const made = [...(await dangling())].filter((id) => !danglingBefore.has(id));
  if (made.length > 0) await engine("rmi", ...made).catch(() => {});
});

async function logs() {
  const { stdout, stderr } = await engine("logs", name).catch((e) => e);
  return stdout + stderr;
}

test("the container answers a chat completion sent with curl", async () => {
  await until(async () => (await fetch(url + "/health")).status === 200, 180000, async () => "/health: " + (await logs()));
  const body = { model: "pdserve-demo", messages: [{ role: "user", content: "In the beginning" }], max_tokens: 8, temperature: 0 };
  const { stdout } = await run("curl", ["-sS", "--fail-with-body", "-X", "POST", url + "/v1/chat/completions",
    "-H", "Content-Type: application/json", "-d", JSON.stringify(body)]);
  const answer = JSON.parse(stdout);
  assert.equal(answer.object, "chat.completion", stdout);
  assert.equal(answer.choices[0].message.role, "assistant");
  assert.ok(answer.choices[0].message.content.length > 0, stdout);
  assert.ok(answer.usage.completion_tokens >= 1 && answer.usage.completion_tokens <= 8, stdout);
  assert.ok(["stop", "length"].includes(answer.choices[0].finish_reason), stdout);
});

test("SIGTERM stops the container cleanly within the grace period", async () => {
  const start = Date.now();
  await engine("stop", "-t", String(graceSeconds), name);
  const seconds = (Date.now() - start) / 1000;
  const { stdout } = await engine("inspect", "-f", "{{.State.ExitCode}}", name);
  assert.equal(stdout.trim(), "0", await logs());
  assert.ok(seconds < graceSeconds - 5, `took ${seconds} s`);
});

// deploy/compose.yaml, as data (no compose tool on the CI machines to run
// it): three services of the one image, the token from the env file, only
// the router published, workers registering with the router by name, the
// decode worker's KV listener on its fixed address, the grace period above
// the drain.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";

import { root } from "./cluster.mjs";

const compose = parse(readFileSync(path.join(root, "deploy/compose.yaml"), "utf8"), { merge: true });
const arg = (command, flag) => command[command.indexOf(flag) + 1];

test("router, prefill and decode from the one image; only the router published", () => {
  const { router, prefill, decode } = compose.services;
  assert.deepEqual(Object.keys(compose.services).sort(), ["decode", "prefill", "router"]);
  for (const [name, s] of Object.entries(compose.services)) {
    assert.equal(s.image, "pdserve:latest", name);
    assert.equal(s.env_file, "cluster.env", name);
    assert.equal(s.stop_grace_period, "45s", name);
    assert.equal(s.command[0], name, "the role is the command");
    assert.equal(s.ports === undefined, name !== "router", name);
  }
  assert.deepEqual(router.ports, ["8000:8000"]);
  for (const w of [prefill, decode]) {
    assert.equal(arg(w.command, "--register-with"), `router:${arg(router.command, "--port")}`);
    assert.deepEqual(w.depends_on, ["router"]);
  }
  assert.equal(arg(decode.command, "--kv-address"), decode.networks.internal.ipv4_address);
  assert.equal(arg(decode.command, "--advertise-host"), "decode");
  assert.equal(arg(prefill.command, "--advertise-host"), "prefill");
});

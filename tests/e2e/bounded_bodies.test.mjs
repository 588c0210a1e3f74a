// Bounded before authenticated, against the real processes: 20 clients at
// once each announce a 30 MiB body to the router's API without an API key and
// to a worker's internal endpoint without the cluster token, and send it as
// fast as they are let. Every one is answered 401 without its body being
// read: the peak memory of the router and of the decode worker grows by far
// less than the bodies (once 20 such requests took the router to 450 MB).
import assert from "node:assert/strict";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import { after, before, test } from "node:test";

import { Cluster } from "./cluster.mjs";

const cluster = new Cluster({ apiKey: "sk-a" });
before(async () => cluster.start());
after(async () => cluster.stop());

const kBodyBytes = 30 << 20;
const kClients = 20;

// The pid of the pdserve process listening on `url`'s port (its --port flag).
function pidOf(url) {
  const port = new URL(url).port;
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const i = argv.indexOf("--port");
    if (argv[0].endsWith("pdserve") && i > 0 && argv[i + 1] === port) return pid;
  }
  throw new Error("no pdserve process on port " + port);
}

// Peak resident memory (VmHWM) in MiB.
function peakMiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
  return Number(m[1]) / 1024;
}

// Sends the headers, then the body in 1 MiB pieces while the server takes
// them; returns the answer's status line.
async function hostileUpload(url, path) {
  const u = new URL(url);
  const sock = net.connect(Number(u.port), u.hostname);
  sock.on("error", () => {});
  await once(sock, "connect");
  let answer = "";
  sock.on("data", (d) => (answer += d));
  const closed = once(sock, "close");
  sock.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${kBodyBytes}\r\n\r\n`);
  const piece = Buffer.alloc(1 << 20, 0x78);
  const deadline = Date.now() + 10000;
  for (let sent = 0; sent < kBodyBytes && !answer.includes("\r\n") && !sock.destroyed && Date.now() < deadline; sent += piece.length) {
    if (!sock.write(piece)) await Promise.race([once(sock, "drain"), closed, new Promise((r) => setTimeout(r, 500))]);
  }
  await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
  sock.destroy();
  return answer.split("\r\n")[0];
}

for (const [name, where, path] of [
  ["the router's API without an API key", () => cluster.url, "/v1/completions"],
  ["a worker's internal endpoint without the cluster token", () => cluster.workers.decode, "/internal/v1/generate"],
]) {
  test(`${kClients} unauthenticated 30 MiB bodies to ${name} are refused unread`, async () => {
    const pid = pidOf(where());
    const before = peakMiB(pid);
    const answers = await Promise.all(Array.from({ length: kClients }, () => hostileUpload(where(), path)));
    for (const a of answers) assert.equal(a, "HTTP/1.1 401 Unauthorized", answers.join("\n"));
    const grown = peakMiB(pid) - before;
    assert.ok(grown < 64, `peak memory grew by ${grown.toFixed(1)} MiB`);
    console.log(`${name}: peak memory +${grown.toFixed(1)} MiB for ${kClients} x 30 MiB`);
  });
}

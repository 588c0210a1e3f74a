// Starts `pdserve serve` on the demo model for a test file and stops it after:
// the router, a prefill worker and a decode worker as real processes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const pdserve = process.env.PDSERVE_BIN ?? path.join(root, "build-cpu/cli/pdserve");
export const model = path.join(root, "models/pdserve-demo");

export class Cluster {
  constructor({ apiKey = "", routerArgs = [], workerArgs = [], serveArgs = [], env = {} } = {}) {
    this.env = env;  // extra environment for every process of the cluster
    this.serveArgs = serveArgs;  // flags of `pdserve serve` itself (e.g. --kv-backend)
    this.apiKey = apiKey;
    this.token = "e2e-" + Math.random().toString(16).slice(2);
    this.routerArgs = routerArgs;
    this.workerArgs = ["--threads=1", ...workerArgs];
    this.workers = {};  // role -> base URL of its internal API
    this.log = [];
  }

  async start(timeoutMs = 120000) {
    const args = ["serve", "--model", model, "--port", "0", "--device", "cpu", ...this.serveArgs];
    for (const a of this.workerArgs) args.push(`--worker-arg=${a}`);
    const router = [...this.routerArgs];
    if (this.apiKey) router.push(`--api-key=${this.apiKey}`);
    for (const a of router) args.push(`--router-arg=${a}`);
    this.proc = spawn(pdserve, args, {
      env: { ...process.env, ...this.env, PDSERVE_CLUSTER_TOKEN: this.token },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("pdserve serve not ready:\n" + this.tail())), timeoutMs);
      const onLine = (line) => {
        this.log.push(line);
        const w = line.match(/\[(prefill|decode)-0\] .* on (http:\/\/[0-9.:]+)/);
        if (w) this.workers[w[1]] = w[2];
        const m = line.match(/pdserve is ready at (http:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      for (const stream of [this.proc.stdout, this.proc.stderr]) {
        let buf = "";
        stream.on("data", (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
      }
      this.proc.on("exit", (code) => reject(new Error(`pdserve serve exited (${code}):\n` + this.tail())));
    });
    this.url = await ready;
    return this;
  }

  tail(n = 30) {
    return this.log.slice(-n).join("\n");
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 30000);
    await once(this.proc, "exit");
    clearTimeout(timer);
  }

  // GET a worker's internal state (load and KV blocks).
  async workerState(role) {
    const r = await fetch(`${this.workers[role]}/internal/v1/state`, {
      headers: { Authorization: `Bearer ${this.token}` },
    });
    if (r.status !== 200) throw new Error(`state of ${role}: ${r.status}`);
    return r.json();
  }

  async metrics(role) {
    const r = await fetch(`${this.workers[role]}/metrics`);
    return r.text();
  }
}

// The value of one Prometheus series ("name{labels}") in a metrics text.
export function metric(text, series) {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return NaN;
}

// One streamed completion (`body` with stream: true): the parsed events
// until [DONE] (or the end; a cut connection adds {cut}), and whether [DONE] came.
export async function streamCompletion(cluster, body) {
  const events = [];
  let done = false;
  try {
    const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
    if (r.status !== 200) return { status: r.status, events, done };
    let buf = "";
    for await (const chunk of r.body) {
      buf += Buffer.from(chunk).toString();
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const data = buf.slice(0, i).replace(/^data: /, "");
        buf = buf.slice(i + 2);
        if (data === "[DONE]") done = true;
        else events.push(JSON.parse(data));
      }
    }
  } catch (e) {
    events.push({ cut: String(e) });
  }
  return { status: 200, events, done };
}

// Waits until every worker holds no request and no referenced KV block.
export async function expectAllFree(cluster, assert, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    const states = await Promise.all(["decode", "prefill"].map((r) => cluster.workerState(r)));
    last = states.map((s) => s.load);
    const idle = last.every((l) => l.num_waiting === 0 && l.num_running === 0 && l.num_free_blocks === l.num_total_blocks);
    if (idle) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail("workers still hold requests or blocks: " + JSON.stringify(last));
}

// A port free on loopback right now (for a process that cannot report the
// port it bound when given 0).
export async function freePort() {
  const srv = net.createServer().listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

// Waits until `fn` resolves truthy (a throw counts as not yet); fails naming
// `what` (a string, or a function giving one) after timeoutMs.
export async function until(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(fn).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail("timed out waiting for " + (typeof what === "function" ? what() : what));
}

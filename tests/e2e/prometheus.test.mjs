// A real Prometheus (Debian's `prometheus` package) scrapes a running cluster
// on loopback every second; through its HTTP API, after a few requests, the
// TTFT histogram and the token counters have samples, every target is up,
// and every expression of deploy/grafana/pdserve.json evaluates.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { Cluster, freePort, until } from "./cluster.mjs";
import { expressions, instantiate } from "./dashboard.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"] });
const dir = mkdtempSync(path.join(os.tmpdir(), "pdserve-prometheus-"));
let prom;  // { proc, url, log }

async function startPrometheus(targets) {
  const config = path.join(dir, "prometheus.yml");
  writeFileSync(config, [
    "global:",
    "  scrape_interval: 1s",
    "  evaluation_interval: 1s",
    "scrape_configs:",
    "  - job_name: pdserve",
    "    static_configs:",
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
    "",
  ].join("\n"));
  const port = await freePort();
  const bin = process.env.PROMETHEUS ?? "prometheus";
  const proc = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  proc.stdout.on("data", (d) => log.push(String(d)));
  proc.stderr.on("data", (d) => log.push(String(d)));
  const spawned = await new Promise((resolve) => {
    proc.on("error", (e) => resolve(e));
    proc.on("spawn", () => resolve(null));
  });
  if (spawned) assert.fail(`${bin}: ${spawned.message} (install Debian's prometheus package)`);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(url + "/-/ready").catch(() => null))?.status === 200, 30000,
    () => "Prometheus not ready:\n" + log.join(""));
  return { proc, url, log };
}

async function query(expr) {
  const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json();
  assert.equal(body.status, "success", `${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

// The value of a query that sums to one number (0 when it has no result).
async function scalar(expr) {
  const result = await query(expr);
  return result.length === 0 ? 0 : Number(result[0].value[1]);
}

before(async () => {
  await cluster.start();
  const hostPort = (u) => new URL(u).host;
  prom = await startPrometheus([cluster.url, cluster.workers.decode, cluster.workers.prefill].map(hostPort));
  for (let i = 0; i < 4; i++) {
    const body = { model: "pdserve-demo", prompt: `Scraped request ${i}`, max_tokens: 8, temperature: 0 };
    const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.text());
  }
});
after(async () => {
  if (prom) {
    prom.proc.kill("SIGTERM");
    await new Promise((resolve) => (prom.proc.exitCode !== null ? resolve() : prom.proc.on("exit", resolve)));
  }
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("Prometheus scrapes every process of the cluster", async () => {
  await until(async () => (await scalar('sum(up{job="pdserve"})')) === 3, 20000,
    () => "targets not all up:\n" + prom.log.join(""));
});

test("the TTFT histogram and the token counters have samples", async () => {
  const decodeTtft = 'sum(vllm:time_to_first_token_seconds_count * on(instance) group_left() pdserve:worker_info{role="decode"})';
  await until(async () => (await scalar(decodeTtft)) === 4, 20000, () => "TTFT count never reached 4");
  const buckets = await query('vllm:time_to_first_token_seconds_bucket{le="+Inf"}');
  assert.equal(buckets.length, 2, JSON.stringify(buckets));  // decode and prefill worker
  assert.ok((await scalar("sum(vllm:generation_tokens_total)")) >= 4);
  assert.ok((await scalar("sum(vllm:prompt_tokens_total)")) > 0);
  assert.equal(await scalar('pdserve:router_requests_total{outcome="ok"}'), 4);
  const p50 = await scalar(`histogram_quantile(0.5, sum by (le) (vllm:time_to_first_token_seconds_bucket * on(instance) group_left() pdserve:worker_info{role="decode"}))`);
  assert.ok(p50 > 0 && p50 < 60, String(p50));
});

test("every expression of the Grafana dashboard evaluates", async () => {
  for (const expr of expressions()) {
    if (expr.startsWith("label_values(")) {
      const m = expr.match(/^label_values\(([^,]+), (\w+)\)$/);
      assert.ok(m, expr);
      const series = await query(m[1]);
      assert.ok(series.some((s) => s.metric[m[2]] === "pdserve-demo"), `${expr}: ${JSON.stringify(series)}`);
      continue;
    }
    await query(instantiate(expr, "30s"));
  }
  // The panels' joins on pdserve:worker_info find the decode worker.
  const [ttft] = expressions().filter((e) => e.includes("time_to_first_token_seconds_bucket"));
  await until(async () => (await query(instantiate(ttft, "30s"))).length > 0, 20000,
    () => `${ttft}: no result`);  // a rate needs two scrapes
});

// Every process's /metrics passes `promtool check metrics` (Debian package
// `prometheus`), and after a few requests the vLLM-compatible series on the
// workers and the router's own series hold what those requests did.
//
// promtool's lint says "metric names should not contain ':'" of every vllm:*
// and pdserve:* name: the colon is what vLLM's names (which dashboards and the
// Gateway API Inference Extension read) contain, so that one lint is expected;
// any other problem, or a parse error, fails.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";

import { Cluster, metric } from "./cluster.mjs";

const cluster = new Cluster({ routerArgs: ["--prefill-mode=remote"] });
before(async () => {
  await cluster.start();
  for (let i = 0; i < 3; i++) {
    const body = { model: "pdserve-demo", prompt: `Request ${i} of the test`, max_tokens: 6, temperature: 0 };
    const r = await fetch(cluster.url + "/v1/completions", { method: "POST", body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.text());
  }
});
after(async () => cluster.stop());

async function scrape(url) {
  const r = await fetch(url + "/metrics");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  return r.text();
}

// promtool's findings other than the expected colon lint.
function promtoolProblems(text) {
  const r = spawnSync(process.env.PROMTOOL ?? "promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error) assert.fail(`promtool: ${r.error.message} (install Debian's prometheus package)`);
  if (r.status !== 0 && r.status !== 3) return [`promtool exited ${r.status}: ${r.stderr}`];
  const colon = /^(vllm|pdserve):[a-zA-Z0-9_:]+ metric names should not contain ':'$/;
  return (r.stdout + r.stderr).split("\n").filter((l) => l.trim() !== "" && !colon.test(l.trim()));
}

for (const role of ["router", "decode", "prefill"]) {
  test(`promtool check metrics passes on the ${role}`, async () => {
    const text = await scrape(role === "router" ? cluster.url : cluster.workers[role]);
    assert.deepEqual(promtoolProblems(text), [], text);
  });
}

test("promtool's check does fail on a broken exposition", () => {
  assert.notDeepEqual(promtoolProblems("# TYPE x_total counter\nx_total{a=} 1\n"), []);
  assert.notDeepEqual(promtoolProblems("# TYPE x counter\nx 1\n"), []);  // no _total, no HELP
});

test("the decode worker exports vLLM's series for the requests it served", async () => {
  const m = await scrape(cluster.workers.decode);
  const routed = await scrape(cluster.url);
  const model = 'model_name="pdserve-demo"';
  assert.equal(metric(m, `vllm:time_to_first_token_seconds_count{${model}}`), 3, m);
  assert.equal(metric(m, `vllm:e2e_request_latency_seconds_count{${model}}`), 3, m);
  const finished = ["stop", "length", "abort"].map((r) =>
    metric(m, `vllm:request_success_total{finished_reason="${r}",${model}}`));
  assert.equal(finished[0] + finished[1], 3, m);
  assert.equal(finished[2], 0, m);
  // The tokens the clients got, each one generated on the decode worker (the
  // first one sampled by the prefill worker is handed over with the KV).
  const generated = metric(routed, "pdserve:router_generation_tokens_total");
  assert.ok(generated >= 3, routed);
  assert.equal(metric(m, `vllm:generation_tokens_total{${model}}`), generated, m);
  assert.equal(metric(m, `vllm:prompt_tokens_total{${model}}`), metric(routed, "pdserve:router_prompt_tokens_total"));
  assert.equal(metric(m, `vllm:inter_token_latency_seconds_count{${model}}`), generated - 3, m);
  assert.equal(metric(m, `vllm:request_decode_time_seconds_count{${model}}`), 3, m);
  assert.equal(metric(m, `vllm:num_requests_running{${model}}`), 0, m);
  assert.equal(metric(m, `vllm:num_requests_waiting{${model}}`), 0, m);
  assert.ok(metric(m, `vllm:kv_cache_usage_perc{${model}}`) >= 0, m);
  assert.ok(metric(m, `vllm:prefix_cache_queries_total{${model}}`) > 0, m);
  assert.match(m, /^vllm:cache_config_info\{.*block_size="\d+".*\} 1$/m);
  assert.equal(metric(m, 'pdserve:decode_prefills_total{where="remote"}'), 3, m);
  assert.equal(metric(m, "pdserve:remote_prefill_seconds_count"), 3, m);
  assert.equal(metric(m, `pdserve:worker_info{${model},role="decode"}`), 1, m);
});

test("the router exports its requests and its workers' health", async () => {
  const m = await scrape(cluster.url);
  assert.equal(metric(m, 'pdserve:router_requests_total{outcome="ok"}'), 3, m);
  assert.equal(metric(m, "pdserve:router_time_to_first_token_seconds_count"), 3, m);
  assert.equal(metric(m, 'pdserve:router_workers{role="decode",state="healthy"}'), 1, m);
  assert.equal(metric(m, 'pdserve:router_workers{role="prefill",state="healthy"}'), 1, m);
  assert.match(m, /^pdserve:router_worker_healthy\{role="decode",worker="[^"]+"\} 1$/m);
});

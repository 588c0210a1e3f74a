// `pdserve bench serve` against `pdserve serve` on the demo model: the JSON
// result is consistent with itself and with what the server reported.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { Cluster, expectAllFree, model, pdserve } from "./cluster.mjs";

const run = promisify(execFile);
const kKey = "sk-bench";
const cluster = new Cluster({ apiKey: kKey });
const dir = mkdtempSync(path.join(os.tmpdir(), "bench-serve-"));

before(async () => cluster.start());
after(async () => cluster.stop());

async function bench(args, { key = kKey } = {}) {
  const all = ["bench", "serve", "--base-url", cluster.url, "--model", "pdserve-demo",
               "--tokenizer", model, ...args];
  if (key) all.push("--api-key", key);
  try {
    const { stdout, stderr } = await run(pdserve, all, { timeout: 300000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

// What a failed assertion prints: the benchmark's output and the cluster's last lines.
const diag = (r) => `${r.stdout}${r.stderr}\n--- cluster log ---\n${cluster.tail(40)}`;

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const close = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

function checkConsistent(result, log, { numPrompts, inputLen, outputLen, exactPrompt }) {
  const { config, metrics, requests } = result;
  assert.equal(requests.length, numPrompts);
  assert.equal(metrics.num_requests, numPrompts);
  assert.equal(metrics.failed, 0, JSON.stringify(requests.filter((r) => !r.success)) + "\n" + log);
  assert.equal(metrics.completed, numPrompts);
  for (const r of requests) {
    assert.equal(r.success, true);
    assert.equal(r.error, null);
    assert.equal(r.http_status, 200);
    assert.equal(r.expected_output_len, outputLen);
    assert.equal(r.usage_reported, true, "the server's usage chunk arrived");
    assert.equal(r.output_len, outputLen, `request ${r.id}: output tokens = asked (ignore_eos)`);
    assert.equal(r.input_len, inputLen);
    if (exactPrompt) assert.equal(r.usage_prompt_tokens, inputLen, "the server saw exactly the prompt's tokens");
    assert.ok(r.ttft_ms > 0 && r.ttft_ms <= r.e2e_ms, `request ${r.id}: ttft ${r.ttft_ms} <= e2e ${r.e2e_ms}`);
    assert.ok(r.itl_ms.length >= 1 && r.itl_ms.length <= outputLen - 1, `request ${r.id}: ${r.itl_ms.length} gaps`);
    for (const g of r.itl_ms) assert.ok(g >= 0);
    // The gaps fit between the first content chunk and the end of the stream.
    assert.ok(r.ttft_ms + sum(r.itl_ms) <= r.e2e_ms + 1e-6);
    close(r.tpot_ms, (r.e2e_ms - r.ttft_ms) / (r.output_len - 1), "tpot");
    assert.ok(r.start_ms >= 0 && r.start_ms + r.e2e_ms <= metrics.duration_s * 1000 + 1e-6);
  }
  assert.equal(metrics.total_input_tokens, sum(requests.map((r) => r.input_len)));
  assert.equal(metrics.total_output_tokens, sum(requests.map((r) => r.output_len)));
  assert.equal(metrics.total_output_tokens, numPrompts * outputLen);
  assert.ok(metrics.duration_s > 0);
  close(metrics.request_throughput, metrics.completed / metrics.duration_s, "request throughput");
  close(metrics.output_throughput, metrics.total_output_tokens / metrics.duration_s, "output throughput");
  close(metrics.total_token_throughput,
        (metrics.total_input_tokens + metrics.total_output_tokens) / metrics.duration_s, "total throughput");
  assert.equal(metrics.ttft.count, numPrompts);
  assert.equal(metrics.tpot.count, numPrompts);
  assert.equal(metrics.itl.count, sum(requests.map((r) => r.itl_ms.length)));
  close(metrics.ttft.mean_ms, sum(requests.map((r) => r.ttft_ms)) / numPrompts, "mean ttft");
  close(metrics.e2e.max_ms, Math.max(...requests.map((r) => r.e2e_ms)), "max e2e");
  assert.ok(metrics.ttft.median_ms <= metrics.ttft.p90_ms && metrics.ttft.p90_ms <= metrics.ttft.p99_ms);
  assert.ok(metrics.ttft.p99_ms <= metrics.e2e.max_ms);
  assert.equal(config.api_key, undefined, "the key is not written to the result");
}

test("random workload: 16 prompts, input 32, output 16, concurrency 4", async () => {
  const out = path.join(dir, "random.json");
  const r = await bench(["--num-prompts", "16", "--input-len", "32", "--output-len", "16",
                         "--max-concurrency", "4", "--slo", "e2e=60s", "--output-json", out]);
  assert.equal(r.code, 0, diag(r));
  assert.match(r.stdout, /Successful requests:\s+16\n/);
  assert.match(r.stdout, /Failed requests:\s+0\n/);
  assert.match(r.stdout, /Mean TTFT \(ms\):/);
  assert.equal(r.stderr, "", "no progress bar when stderr is not a terminal");
  const result = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(result.config.max_concurrency, 4);
  assert.equal(result.config.request_rate, "inf");
  checkConsistent(result, diag(r), { numPrompts: 16, inputLen: 32, outputLen: 16, exactPrompt: true });
  assert.equal(result.metrics.good_requests, 16);
  // Never more than 4 in flight: at any request's start, at most 3 others are running.
  for (const a of result.requests) {
    const running = result.requests.filter((b) => b !== a && b.start_ms <= a.start_ms && b.start_ms + b.e2e_ms > a.start_ms);
    assert.ok(running.length <= 3, `request ${a.id} started with ${running.length} others in flight`);
  }
  await expectAllFree(cluster, assert);
});

test("the internal endpoint of a decode worker (router overhead runs): same counts", async () => {
  const out = path.join(dir, "internal.json");
  const all = ["bench", "serve", "--base-url", cluster.workers.decode, "--endpoint", "/internal/v1/generate",
               "--api-key", cluster.token, "--model", "pdserve-demo", "--tokenizer", model,
               "--num-prompts", "8", "--input-len", "24", "--output-len", "12", "--max-concurrency", "4",
               "--output-json", out];
  const { stdout } = await run(pdserve, all, { timeout: 300000 });
  assert.match(stdout, /Failed requests:\s+0\n/);
  const result = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(result.metrics.completed, 8);
  assert.equal(result.metrics.total_output_tokens, 8 * 12);
  for (const q of result.requests) assert.ok(q.ttft_ms <= q.e2e_ms);
  await expectAllFree(cluster, assert);
});

test("chat with shared prefixes, a sweep of two rates: one file per rate", async () => {
  const out = path.join(dir, "prefix.json");
  const r = await bench(["--endpoint", "/v1/chat/completions", "--dataset", "prefix",
                         "--num-prefixes", "2", "--prefix-len", "48", "--input-len", "16",
                         "--output-len", "8", "--num-prompts", "8", "--request-rates", "20,inf",
                         "--output-json", out]);
  assert.equal(r.code, 0, diag(r));
  for (const rate of ["20", "inf"]) {
    const result = JSON.parse(readFileSync(path.join(dir, `prefix-rate${rate}.json`), "utf8"));
    assert.equal(String(result.config.request_rate), rate);
    // Chat: the template adds tokens around the text, so the server's count is larger.
    checkConsistent(result, diag(r), { numPrompts: 8, inputLen: 64, outputLen: 8, exactPrompt: false });
    for (const q of result.requests) assert.ok(q.usage_prompt_tokens > 64);
  }
  await expectAllFree(cluster, assert);
});

test("a wrong API key: every request fails with 401 and is listed, exit status 1", async () => {
  const out = path.join(dir, "denied.json");
  const r = await bench(["--num-prompts", "3", "--input-len", "8", "--output-len", "4", "--output-json", out],
                        { key: "sk-wrong" });
  assert.equal(r.code, 1, diag(r));
  assert.match(r.stdout, /Failed requests:\s+3\n/);
  for (const id of [0, 1, 2]) assert.match(r.stdout, new RegExp(`request ${id}: HTTP 401: `));
  assert.match(r.stderr, /every request failed/);
  const result = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(result.metrics.failed, 3);
  for (const q of result.requests) {
    assert.equal(q.success, false);
    assert.equal(q.http_status, 401);
    assert.ok(q.error.length > 0);
  }
});

test("warm-ups stop at the first failure with one line", async () => {
  const r = await bench(["--num-warmups", "2", "--num-prompts", "3", "--input-len", "8", "--output-len", "4"],
                        { key: "sk-wrong" });
  assert.equal(r.code, 1, diag(r));
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^pdserve bench serve: warm-up request failed: HTTP 401: .+\n$/);
});

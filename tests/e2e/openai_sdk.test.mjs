// The disaggregated cluster through the official OpenAI Node SDK: chat and
// completions, streaming and not, n, stop strings, logprobs, usage, seeds,
// concurrency; equality with `pdserve generate`; the KV really moves.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";

import { Cluster, expectAllFree, metric, model, pdserve } from "./cluster.mjs";

const kModel = "pdserve-demo";
// Every prompt is prefilled by the prefill worker, so each test crosses the KV transfer.
const cluster = new Cluster({ apiKey: "sk-e2e", routerArgs: ["--prefill-mode=remote"] });
let client;

before(async () => {
  await cluster.start();
  client = new OpenAI({ apiKey: "sk-e2e", baseURL: cluster.url + "/v1", maxRetries: 0, timeout: 120000 });
});
after(async () => cluster.stop());

describe("OpenAI SDK against pdserve serve", () => {
  test("models lists the served model", async () => {
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => m.id), [kModel]);
  });

  test("models retrieves the served model and 404s another", async () => {
    const m = await client.models.retrieve(kModel);
    assert.equal(m.id, kModel);
    assert.equal(m.object, "model");
    await assert.rejects(client.models.retrieve("gpt-4"), (e) => e.status === 404 && e.code === "model_not_found");
  });

  test("chat completion answers a verse and reports usage", async () => {
    const r = await client.chat.completions.create({
      model: kModel,
      messages: [{ role: "user", content: "Recite Genesis 1:1." }],
      temperature: 0,
      max_tokens: 40,
    });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, "assistant");
    assert.match(r.choices[0].message.content, /God created the heaven/);
    assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  });

  test("streaming chat equals the non-streaming answer, usage last", async () => {
    const body = { model: kModel, messages: [{ role: "user", content: "Recite John 3:16." }], temperature: 0, max_tokens: 24 };
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = "", role = "", finish = null, usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (c.delta.role) role = c.delta.role;
        text += c.delta.content ?? "";
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(role, "assistant");
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.deepEqual(
      [usage.prompt_tokens, usage.completion_tokens],
      [whole.usage.prompt_tokens, whole.usage.completion_tokens],
    );
  });

  test("completion with n=2, streaming and not", async () => {
    const r = await client.completions.create({ model: kModel, prompt: "And the LORD said", n: 2, max_tokens: 8, temperature: 1, seed: 5 });
    assert.deepEqual(r.choices.map((c) => c.index).sort(), [0, 1]);
    assert.ok(r.choices.every((c) => c.finish_reason === "length"));
    assert.equal(r.usage.completion_tokens, 16);
    const stream = await client.completions.create({ model: kModel, prompt: "And the LORD said", n: 2, max_tokens: 8, temperature: 1, seed: 5, stream: true });
    const texts = ["", ""];
    for await (const chunk of stream) for (const c of chunk.choices) texts[c.index] += c.text;
    assert.deepEqual(texts, r.choices.sort((a, b) => a.index - b.index).map((c) => c.text));
  });

  test("stop strings end the text and are never emitted, also across tokens", async () => {
    const base = { model: kModel, prompt: "In the beginning God created", temperature: 0, max_tokens: 30 };
    const free = (await client.completions.create(base)).choices[0].text;
    const cut = free.indexOf("and the");
    assert.ok(cut > 0, free);
    const r = await client.completions.create({ ...base, stop: ["and the"] });
    assert.equal(r.choices[0].text, free.slice(0, cut));
    assert.equal(r.choices[0].finish_reason, "stop");
    const stream = await client.completions.create({ ...base, stop: ["d the"], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, free.slice(0, free.indexOf("d the")));
  });

  test("logprobs: sampled token and top alternatives", async () => {
    const r = await client.completions.create({ model: kModel, prompt: "In the beginning", max_tokens: 5, temperature: 0, logprobs: 3 });
    const lp = r.choices[0].logprobs;
    assert.equal(lp.tokens.length, 5);
    assert.equal(lp.tokens.join(""), r.choices[0].text);
    for (let i = 0; i < 5; ++i) {
      assert.ok(lp.token_logprobs[i] <= 0);
      assert.equal(Object.keys(lp.top_logprobs[i]).length, 3);
      // greedy: the sampled token is the most likely one
      assert.equal(Math.max(...Object.values(lp.top_logprobs[i])), lp.token_logprobs[i]);
    }
    const chat = await client.chat.completions.create({
      model: kModel, messages: [{ role: "user", content: "Recite Psalm 23:1." }], max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 2,
    });
    const content = chat.choices[0].logprobs.content;
    assert.equal(content.length, 4);
    assert.ok(content.every((t) => t.top_logprobs.length === 2 && t.logprob <= 0));
  });

  test("the same seed gives the same sample", async () => {
    const body = { model: kModel, prompt: "Blessed are", max_tokens: 16, temperature: 1.2, seed: 1234 };
    const a = await client.completions.create(body);
    const b = await client.completions.create(body);
    assert.equal(a.choices[0].text, b.choices[0].text);
  });

  test("concurrent requests each get their own greedy answer", async () => {
    const prompts = ["In the beginning", "And God said", "The LORD is my shepherd", "Blessed are the poor", "For God so loved", "Let there be light", "Thou shalt not", "And it came to pass"];
    const alone = [];
    for (const p of prompts) alone.push((await client.completions.create({ model: kModel, prompt: p, max_tokens: 12, temperature: 0 })).choices[0].text);
    const together = await Promise.all(prompts.concat(prompts).map((p) => client.completions.create({ model: kModel, prompt: p, max_tokens: 12, temperature: 0 })));
    assert.deepEqual(together.map((r) => r.choices[0].text), alone.concat(alone));
  });

  test("greedy output equals pdserve generate, and the KV moved", async () => {
    const before = metric(await cluster.metrics("decode"), 'pdserve:kv_transfer_bytes_total{role="decode"}');
    const ids = [2386, 263, 2171];
    const out = execFileSync(pdserve, ["generate", "--model", model, "--device", "cpu", "--prompt-ids", ids.join(","), "--max-tokens", "24", "--temperature", "0"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const expected = out.trim().split(/\s+/).map(Number);
    const detok = await fetch(cluster.url + "/detokenize", {
      method: "POST", headers: { Authorization: "Bearer sk-e2e" }, body: JSON.stringify({ tokens: expected }),
    }).then((r) => r.json());
    const r = await client.completions.create({ model: kModel, prompt: ids, max_tokens: 24, temperature: 0 });
    assert.equal(r.choices[0].text, detok.prompt);
    const afterBytes = metric(await cluster.metrics("decode"), 'pdserve:kv_transfer_bytes_total{role="decode"}');
    assert.ok(afterBytes > before, `KV bytes received ${before} -> ${afterBytes}`);
    assert.ok(metric(await cluster.metrics("decode"), 'pdserve:decode_prefills_total{where="remote"}') > 0);
    // Layer by layer, while the prefill computed (not after it).
    const pm = await cluster.metrics("prefill");
    assert.ok(metric(pm, 'pdserve:kv_layers_pushed_total{when="during_prefill"}') > 0, pm);
    assert.equal(metric(pm, 'pdserve:kv_layers_pushed_total{when="after_prefill"}'), 0);
  });

  test("continue_final_message continues the assistant's words", async () => {
    const r = await fetch(cluster.url + "/v1/chat/completions", {
      method: "POST",
      headers: { Authorization: "Bearer sk-e2e" },
      body: JSON.stringify({
        model: kModel, max_tokens: 12, temperature: 0, add_generation_prompt: false, continue_final_message: true,
        messages: [{ role: "user", content: "Recite Genesis 1:1." }, { role: "assistant", content: "In the beginning God" }],
      }),
    });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.match(body.choices[0].message.content, /^ created the heaven and the earth/);
  });

  test("every KV block is free afterwards", async () => {
    await expectAllFree(cluster, assert);
  });
});

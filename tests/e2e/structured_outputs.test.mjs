// Structured outputs and tool calls through the official OpenAI Node SDK on
// the demo model: every answer under a response_format json_schema parses
// and validates, its keys in the schema's order (sampled at temperature 1), vLLM's guided_regex /
// guided_choice hold, invalid constraints are 400s naming the field, and
// tool_choice named makes the model call the tool with arguments that
// follow the function's parameters, required an array of calls. Every prompt
// is prefilled remotely, so the first token is sampled under the mask on
// the prefill worker.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";

import { Cluster } from "./cluster.mjs";

const kModel = "pdserve-demo";
const cluster = new Cluster({
  routerArgs: ["--prefill-mode=remote", "--tool-call-parser=hermes", "--enable-auto-tool-choice"],
});
let client;

before(async () => {
  await cluster.start();
  client = new OpenAI({ apiKey: "none", baseURL: cluster.url + "/v1", maxRetries: 0, timeout: 300000 });
});
after(async () => cluster.stop());

const person = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 10 },
    age: { type: "integer", minimum: 0, maximum: 150 },
    tags: { type: "array", items: { enum: ["a", "b", "c"] }, maxItems: 3 },
  },
  required: ["name", "age", "tags"],
};

function assertPerson(text) {
  const p = JSON.parse(text);
  assert.deepEqual(Object.keys(p), ["name", "age", "tags"], text);  // the schema's order, not sorted
  assert.equal(typeof p.name, "string");
  assert.ok(p.name.length <= 10, text);
  assert.ok(Number.isInteger(p.age) && p.age >= 0 && p.age <= 150, text);
  assert.ok(Array.isArray(p.tags) && p.tags.length <= 3 && p.tags.every((t) => ["a", "b", "c"].includes(t)), text);
}

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather of a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string", maxLength: 12 }, unit: { enum: ["C", "F"] } },
        required: ["city", "unit"],
      },
    },
  },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
];
const ask = [{ role: "user", content: "What is the weather in Paris?" }];

function assertWeatherCall(call) {
  assert.equal(call.type, "function");
  assert.match(call.id, /^call_/);
  assert.equal(call.function.name, "get_weather");
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, "string");
  assert.ok(["C", "F"].includes(args.unit));
}

describe("structured outputs through the OpenAI SDK", () => {
  test("response_format json_schema: every sampled answer validates", async () => {
    const r = await client.chat.completions.create({
      model: kModel,
      messages: [{ role: "user", content: "Describe a person as JSON." }],
      response_format: { type: "json_schema", json_schema: { name: "person", strict: true, schema: person } },
      temperature: 1,
      n: 16,
      max_tokens: 800,  // JSON allows 24 whitespace bytes in every gap; the demo model likes newlines
    });
    assert.equal(r.choices.length, 16);
    for (const c of r.choices) {
      assert.equal(c.finish_reason, "stop", c.message.content);
      assertPerson(c.message.content);
    }
  });

  test("json_object, streamed, is one JSON object", async () => {
    const stream = await client.chat.completions.create({
      model: kModel,
      messages: [{ role: "user", content: "Recite Genesis 1:1 as JSON." }],
      response_format: { type: "json_object" },
      temperature: 0,
      max_tokens: 800,
      stream: true,
    });
    let text = "", finish = null;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.delta.content ?? "";
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    if (finish === "stop") assert.equal(typeof JSON.parse(text), "object");
    else assert.match(text, /^\s*\{/);
  });

  test("guided_regex and guided_choice (vLLM fields)", async () => {
    const re = await client.completions.create({
      model: kModel, prompt: "My phone number is", temperature: 1, n: 4, max_tokens: 30,
      guided_regex: "[0-9]{3}-[0-9]{4}",
    });
    for (const c of re.choices) assert.match(c.text, /^[0-9]{3}-[0-9]{4}$/);
    const ch = await client.chat.completions.create({
      model: kModel, messages: [{ role: "user", content: "Yes or no?" }], temperature: 1, n: 4,
      max_tokens: 10, structured_outputs: { choice: ["yes", "no", "maybe"] },
    });
    for (const c of ch.choices) assert.ok(["yes", "no", "maybe"].includes(c.message.content));
  });

  test("invalid constraints are 400s naming the field", async () => {
    const cases = [
      [{ response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", patternProperties: {} } } } },
        "response_format.json_schema.schema"],
      [{ guided_regex: "(unclosed" }, "guided_regex"],
      [{ guided_choice: [] }, "guided_choice"],
      [{ tool_choice: { type: "function", function: { name: "nope" } }, tools }, "tool_choice.function.name"],
    ];
    for (const [extra, param] of cases) {
      await assert.rejects(
        client.chat.completions.create({ model: kModel, messages: ask, max_tokens: 5, ...extra }),
        (e) => e.status === 400 && e.param === param,
        param,
      );
    }
  });
});

describe("tool calls through the OpenAI SDK", () => {
  test("a named tool_choice calls that function", async () => {
    const r = await client.chat.completions.create({
      model: kModel, messages: ask, tools, temperature: 0, max_tokens: 800,
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    const m = r.choices[0].message;
    assert.equal(r.choices[0].finish_reason, "tool_calls");
    assert.equal(m.content, null);
    assert.equal(m.tool_calls.length, 1);
    assertWeatherCall(m.tool_calls[0]);
  });

  // The demo model, once in the array, keeps adding calls (the schema has no
  // maxItems, as vLLM's), so its output is cut: a cut forced call streams as
  // content, and that content is the start of an array of calls.
  test("tool_choice required forces an array of calls (streamed)", async () => {
    const stream = await client.chat.completions.create({
      model: kModel, messages: ask, tools, temperature: 0, max_tokens: 300,
      tool_choice: "required", stream: true,
    });
    let text = "", finish = null;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.delta.content ?? "";
        assert.equal(c.delta.tool_calls, undefined);
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(finish, "length");
    assert.match(text, /^\[\s*\{\s*"name"\s*:\s*"(get_weather|get_time)"\s*,\s*"parameters"\s*:/);
  });

  test("round trip: the call, its result as content parts, the final answer", async () => {
    const first = await client.chat.completions.create({
      model: kModel, messages: ask, tools, temperature: 0, max_tokens: 800,
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    const call = first.choices[0].message.tool_calls[0];
    assertWeatherCall(call);
    // Content as lists of parts in every role, and an earlier assistant turn
    // with an empty tool_calls list (no calls, as vLLM reads it). The demo
    // model's template knows no "tool" role (it raises, as under vLLM), so
    // the result comes back in a user turn here.
    const result = [{ type: "text", text: '{"temperature": 21}' }];
    const messages = [
      { role: "system", content: [{ type: "text", text: "You are terse." }] },
      { role: "user", content: [{ type: "text", text: "Hello." }] },
      { role: "assistant", content: [{ type: "text", text: "Hi." }], tool_calls: [] },
      { role: "user", content: [{ type: "text", text: "What is the weather" }, { type: "text", text: "in Paris?" }] },
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "user", content: result },
    ];
    const final = await client.chat.completions.create({
      model: kModel, messages, tools, tool_choice: "none", temperature: 0, max_tokens: 20,
    });
    const m = final.choices[0].message;
    assert.equal(m.tool_calls, undefined);
    assert.equal(typeof m.content, "string");
    assert.ok(m.content.length > 0);
    // A tool message with content parts reaches the template, which refuses the role.
    await assert.rejects(
      client.chat.completions.create({
        model: kModel, tools, max_tokens: 5,
        messages: [...messages.slice(0, 5), { role: "tool", tool_call_id: call.id, content: result }],
      }),
      (e) => e.status === 400 && e.param === "messages" && /Only system, user and assistant/.test(e.message),
    );
    // A media part on this text model is a 400 naming the part.
    await assert.rejects(
      client.chat.completions.create({
        model: kModel, max_tokens: 5,
        messages: [{ role: "user", content: [{ type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }],
      }),
      (e) => e.status === 400 && e.param === "messages[0].content[1].type" && /text only/.test(e.message),
    );
  });

  test("auto reads calls with the router's parser (plain text when the model calls none)", async () => {
    const r = await client.chat.completions.create({
      model: kModel, messages: ask, tools, temperature: 0, max_tokens: 20,
    });
    assert.equal(r.choices[0].message.tool_calls, undefined);
    assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
    assert.equal(typeof r.choices[0].message.content, "string");
  });
});

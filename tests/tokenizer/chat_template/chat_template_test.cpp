// ChatTemplate unit tests: what compile() refuses (construct and line named),
// runtime errors, raise_exception, render limits, and the API's value semantics.
// Rendering semantics construct by construct are checked against Python jinja2
// in chat_template_parity_test (fixtures/chat_templates/cases.json).
#include "tokenizer/chat_template/chat_template.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace pdserve::chat_template {
namespace {

constexpr const char* kContext =
    R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}],)"
    R"( "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})";

Status compile_error(const std::string& source) {
  auto t = ChatTemplate::compile(source);
  return t.ok() ? ok_status() : t.status();
}

Result<std::string> render(const std::string& source, const std::string& context = kContext,
                           const RenderOptions& options = {}) {
  auto t = ChatTemplate::compile(source);
  if (!t.ok()) return t.status();
  return t->render(context, options);
}

void expect_compile_error(const std::string& source, const std::string& message) {
  Status s = compile_error(source);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << source;
  EXPECT_EQ(s.message(), message) << source;
}

void expect_render_error(const std::string& source, StatusCode code, const std::string& message,
                         const RenderOptions& options = {}) {
  auto r = render(source, kContext, options);
  ASSERT_FALSE(r.ok()) << source << " rendered " << *r;
  EXPECT_EQ(r.status().code(), code) << source;
  EXPECT_EQ(r.status().message(), message) << source;
}

TEST(ChatTemplateCompile, UnsupportedConstructsNameTheConstructAndLine) {
  expect_compile_error("{{ x | wordwrap }}", "chat template line 1: unsupported filter 'wordwrap'");
  expect_compile_error("a\nb\n{{ x\n | groupby('a') }}",
                       "chat template line 4: unsupported filter 'groupby'");
  expect_compile_error("{% include 'other.jinja' %}",
                       "chat template line 1: unsupported tag 'include'");
  expect_compile_error("\n{% with x = 1 %}{% endwith %}",
                       "chat template line 2: unsupported tag 'with'");
  expect_compile_error("{% call 5 %}{% endcall %}",
                       "chat template line 1: expected a macro call after 'call'");
  expect_compile_error("{% extends 'base' %}", "chat template line 1: unsupported tag 'extends'");
  expect_compile_error("{% frobnicate %}", "chat template line 1: unsupported tag 'frobnicate'");
  expect_compile_error("{{ x is prime }}", "chat template line 1: unsupported test 'prime'");
  expect_compile_error("{{ cycler('a') }}", "chat template line 1: unsupported function 'cycler'");
  expect_compile_error("{{ joiner() }}", "chat template line 1: unsupported function 'joiner'");
  expect_compile_error("{{ 'x {}'.format(1) }}",
                       "chat template line 1: unsupported method 'format'");
  expect_compile_error("{{ '%s!' % name }}",
                       "chat template line 1: unsupported: printf-style '%' string formatting");
  expect_compile_error("{% for m in messages recursive %}{% endfor %}",
                       "chat template line 1: unsupported: recursive for loops");
  expect_compile_error("{{ f(*args) }}",
                       "chat template line 1: unsupported: *args/**kwargs in a call");
}

TEST(ChatTemplateCompile, SyntaxErrorsNameTheLine) {
  expect_compile_error(
      "{% for x in y %}\nbody",
      "chat template line 2: unexpected end of template, expected 'endfor' or 'else'");
  expect_compile_error("{% if x %}{% endfor %}", "chat template line 1: unexpected tag 'endfor'");
  expect_compile_error("{% endif %}", "chat template line 1: unexpected tag 'endif'");
  expect_compile_error("{% break %}", "chat template line 1: 'break' outside a for loop");
  expect_compile_error("{{ 'abc }}", "chat template line 1: unterminated string literal");
  expect_compile_error("x {# never closed", "chat template line 1: unterminated comment");
  expect_compile_error("{{ x", "chat template line 1: unexpected end of template, expected '}}'");
  expect_compile_error("{{ x ) }}", "chat template line 1: unexpected ')'");
  expect_compile_error("{{ 1 + }}",
                       "chat template line 1: unexpected '}}', expected an expression");
  expect_compile_error("{% set %}", "chat template line 1: unexpected '%}', expected a name");
  expect_compile_error("{{ 99999999999999999999 }}",
                       "chat template line 1: integer literal '99999999999999999999' is too large");
  expect_compile_error("{{ x @ y }}", "chat template line 1: unexpected character '@'");
}

TEST(ChatTemplateCompile, NestingIsBounded) {
  std::string parens = std::string(300, '(') + "1" + std::string(300, ')');
  expect_compile_error("{{ " + parens + " }}",
                       "chat template line 1: expressions nested too deeply");
  std::string ifs;
  for (int i = 0; i < 100; ++i) ifs += "{% if true %}";
  expect_compile_error(ifs, "chat template line 1: blocks nested too deeply");
  std::string chain = "{{ 1";
  for (int i = 0; i < 300; ++i) chain += " + 1";
  expect_compile_error(chain + " }}", "chat template line 1: expression nested too deeply");
  std::string nots = "{{ ";
  for (int i = 0; i < 300; ++i) nots += "not ";
  expect_compile_error(nots + "x }}", "chat template line 1: expressions nested too deeply");
  // Well within the bounds: fine.
  EXPECT_TRUE(
      ChatTemplate::compile("{{ " + std::string(20, '(') + "1" + std::string(20, ')') + " }}")
          .ok());
}

TEST(ChatTemplateRender, RaiseExceptionIsInvalidArgumentWithTheMessage) {
  expect_render_error(
      "{% if messages[1].role == 'user' %}{{ raise_exception('Roles must alternate!') }}{% endif "
      "%}",
      StatusCode::kInvalidArgument, "Roles must alternate!");
}

TEST(ChatTemplateRender, RuntimeErrorsNameTheLine) {
  const auto kInvalid = StatusCode::kInvalidArgument;
  expect_render_error("{{ 'a' + 1 }}", kInvalid,
                      "chat template line 1: can only concatenate str (not \"int\") to str");
  expect_render_error("\n{{ foo.bar }}", kInvalid, "chat template line 2: 'foo' is undefined");
  expect_render_error("{{ messages[0].nope.x }}", kInvalid,
                      "chat template line 1: 'dict object' has no attribute 'nope'");
  expect_render_error("{{ messages[5].role }}", kInvalid,
                      "chat template line 1: list object has no element 5");
  expect_render_error("{{ 1 / 0 }}", kInvalid, "chat template line 1: division by zero");
  expect_render_error(
      "{{ 'a' < 1 }}", kInvalid,
      "chat template line 1: '<' not supported between instances of 'str' and 'int'");
  expect_render_error("{% for x in 5 %}{% endfor %}", kInvalid,
                      "chat template line 1: 'int' object is not iterable");
  expect_render_error("{% set x = 1 %}{% set x.y = 2 %}", kInvalid,
                      "chat template line 1: cannot assign attribute on non-namespace object");
  expect_render_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", kInvalid,
                      "chat template line 1: macro 'm' takes not more than 1 argument(s)");
  expect_render_error("{{ nope | tojson }}", kInvalid,
                      "chat template line 1: Object of type Undefined is not JSON serializable");
  expect_render_error("{{ 9223372036854775807 + 1 }}", kInvalid,
                      "chat template line 1: integer overflow in '+' (beyond 64 bits)");
  expect_render_error("{% set ns = namespace() %}{% set ns.self = ns %}", kInvalid,
                      "chat template line 1: unsupported: storing a namespace inside a namespace");
}

TEST(ChatTemplateRender, ContextMustBeAJsonObject) {
  auto t = ChatTemplate::compile("x");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->render("[1, 2]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t->render("{not json").status().message(), "chat template context: invalid JSON");
  std::string deep = std::string(200, '[') + std::string(200, ']');
  EXPECT_EQ(t->render("{\"x\": " + deep + "}").status().message(),
            "chat template context: JSON nested deeper than 128 levels");
}

TEST(ChatTemplateRender, LargeObjectsInTheContextReadInLinearTime) {
  // One object of 200k keys (a request's chat_template_kwargs, a tool call's
  // arguments): read without scanning the object for each key (that took
  // 5 s at 20k keys, growing with the square). A repeated key keeps its
  // first place and its last value, as Python's json.loads.
  std::string context = R"({"x": {)";
  for (int i = 0; i < 200000; ++i) context += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  context += R"(}, "d": {"b": 1, "a": 2, "b": 3}})";
  auto out = render("{{ x | length }} {{ d | tojson }}", context);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, R"(200000 {"b": 3, "a": 2})");
}

TEST(ChatTemplateRender, LoopsAreBounded) {
  RenderOptions options;
  options.max_steps = 10000;
  expect_render_error(
      "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
      StatusCode::kResourceExhausted,
      "chat template line 1: rendering took more than 10000 steps (loop iterations, macro calls, "
      "statements)",
      options);
}

TEST(ChatTemplateRender, OutputAndMemoryAreBounded) {
  RenderOptions options;
  options.max_output_bytes = 1000;
  expect_render_error("{% for i in range(100) %}{{ 'x' * 20 }}{% endfor %}",
                      StatusCode::kResourceExhausted,
                      "chat template line 1: output is larger than 1000 bytes", options);
  expect_render_error(
      "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% "
      "endfor %}",
      StatusCode::kResourceExhausted,
      "chat template line 1: rendering allocated more than 268435456 bytes");
  expect_render_error("{{ 'x' * 9000000000000 }}", StatusCode::kResourceExhausted,
                      "chat template line 1: rendering allocated more than 268435456 bytes");
  expect_render_error(
      "{% set ns = namespace(x=[]) %}{% for i in range(200) %}{% set ns.x = [ns.x] %}{% endfor %}",
      StatusCode::kInvalidArgument, "chat template line 1: value nested too deeply");
}

TEST(ChatTemplateRender, RecursionIsBounded) {
  expect_render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
                      StatusCode::kResourceExhausted,
                      "chat template line 1: macro calls nested deeper than 32");
  // Recursion that ends is fine.
  auto r = render(
      "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, "54321");
}

TEST(ChatTemplateRender, StrftimeNowUsesTheGivenClock) {
  RenderOptions options;
  options.now_unix_seconds = 0;
  setenv("TZ", "UTC", 1);
  tzset();
  auto r = render("{{ strftime_now('%Y-%m-%d %H:%M') }}", kContext, options);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, "1970-01-01 00:00");
}

TEST(ChatTemplateRender, BasicConversation) {
  auto r = render(
      "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m['content'] }}{% if not loop.last "
      "%}\n"
      "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, "<s><|system|>S<|user|>Hi<|assistant|>");
}

TEST(ChatTemplateApi, CopiesShareTheTemplateAndRenderConcurrently) {
  auto compiled = ChatTemplate::compile("{% for m in messages %}{{ m.role | upper }};{% endfor %}");
  ASSERT_TRUE(compiled.ok());
  ChatTemplate copy = *compiled;
  ChatTemplate moved = std::move(copy);
  std::vector<std::thread> threads;
  std::vector<std::string> outs(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) {
        auto r = moved.render(kContext);
        outs[i] = r.ok() ? *r : r.status().to_string();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& o : outs) EXPECT_EQ(o, "SYSTEM;USER;");
}

}  // namespace
}  // namespace pdserve::chat_template

#include "router/chat_input.h"

#include "router/internal/chat_parse.h"

namespace pdserve::router {
namespace detail {
namespace {

// Deep enough for anything a body holds (its own depth is bounded when read).
constexpr int kMaxTextDepth = 1024;

// JSON text the router wrote (or a tool call's arguments string), parsed
// in its key order; discarded when it is not JSON.
OrderedJson parse_in_order(std::string_view text) {
  json_reader::BasicParsed<OrderedJson> p = json_reader::parse_ordered(text, kMaxTextDepth);
  return p.value ? std::move(*p.value) : OrderedJson(OrderedJson::value_t::discarded);
}

// A message's content as the template gets it, as vLLM shapes it: "string"
// joins the non-empty text parts with "\n" (null: ""); "openai" gives the
// list of parts, a string as one text part (null: no parts).
OrderedJson template_content(const OrderedJson& content, ContentFormat format) {
  if (format == ContentFormat::kOpenAi) {
    if (!content.is_string()) return content.is_array() ? content : OrderedJson::array();
    OrderedJson part = OrderedJson::object();
    part["type"] = "text";
    part["text"] = content;
    return OrderedJson::array({std::move(part)});
  }
  if (!content.is_array()) return content.is_string() ? content : OrderedJson("");
  std::string text;
  for (const OrderedJson& part : content) {
    auto t = part.find("text");
    if (t == part.end() || !t->is_string() || t->get_ref<const std::string&>().empty())
      continue;  // vLLM skips empty parts
    if (!text.empty()) text += "\n";
    text += t->get_ref<const std::string&>();
  }
  return text;
}

std::string at(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

// The text of one content part. Text parts are accepted in every role,
// refusal parts (OpenAI's) in assistant messages; both are text to the
// template. Media parts are refused: the served models take text only.
void read_part_text(FieldReader& r, const OrderedJson& part, const std::string& pp,
                    const std::string& role, std::string& text) {
  if (!part.is_object()) return r.fail(pp, "'" + pp + "' must be an object");
  auto type = part.find("type");
  if (type == part.end() || !type->is_string())
    return r.fail(pp + ".type", "'" + pp + ".type' must be a string");
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "image_url" || t == "input_audio" || t == "file" || t == "video_url" || t == "audio_url")
    return r.fail(pp + ".type", "'" + pp + ".type' is '" + t +
                                    "': this model takes text only (content parts of type "
                                    "'text')");
  const bool refusal = t == "refusal" && role == "assistant";
  if (t != "text" && !refusal)
    return r.fail(pp + ".type", "'" + pp + ".type' must be 'text'" +
                                    std::string(role == "assistant" ? " or 'refusal'" : "") +
                                    ", got '" + t + "'");
  const char* field = refusal ? "refusal" : "text";
  auto v = part.find(field);
  if (v == part.end() || !v->is_string())
    return r.fail(pp + "." + field, "'" + pp + "." + field + "' must be a string");
  text = v->get<std::string>();
}

// content: a string (kept), null or absent (null), or an array of text
// parts, each kept as {"type": "text", "text": ...} (a refusal part too, as
// vLLM does); template_content() shapes it for the template's format.
void read_content(FieldReader& r, const OrderedJson& m, const std::string& where,
                  const std::string& role, const ApiLimits& limits, OrderedJson& out) {
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) {
    out["content"] = nullptr;
    return;
  }
  const std::string p = where + ".content";
  if (it->is_string()) {
    out["content"] = *it;
    return;
  }
  if (!it->is_array())
    return r.fail(p, "'" + p + "' must be a string, null or an array of content parts, got " +
                         std::string(type_name(*it)));
  if (it->size() > static_cast<size_t>(limits.max_content_parts))
    return r.fail(
        p, "'" + p + "' has more than " + std::to_string(limits.max_content_parts) + " parts");
  OrderedJson parts = OrderedJson::array();
  for (size_t j = 0; j < it->size() && r.ok(); ++j) {
    std::string text;
    read_part_text(r, (*it)[j], at(p, j), role, text);
    OrderedJson part = OrderedJson::object();
    part["type"] = "text";
    part["text"] = std::move(text);
    parts.push_back(std::move(part));
  }
  out["content"] = std::move(parts);
}

// tool_calls pass through (an empty list is dropped); a string function.arguments holding a JSON
// object becomes that object in the client's key order (as vLLM: templates iterate over arguments
// or `| tojson` them).
void read_tool_calls(FieldReader& r, const OrderedJson& tc, const std::string& p,
                     OrderedJson& out) {
  if (!tc.is_array())
    return r.fail(p, "'" + p + "' must be an array, got " + std::string(type_name(tc)));
  // An empty list is no tool calls: left out, as vLLM does, so that
  // templates testing `message.tool_calls is defined` take the plain path.
  if (tc.empty()) return;
  OrderedJson calls = OrderedJson::array();
  for (size_t j = 0; j < tc.size(); ++j) {
    OrderedJson c = tc[j];
    if (!c.is_object()) return r.fail(at(p, j), "'" + at(p, j) + "' must be an object");
    auto f = c.find("function");
    if (f != c.end() && f->is_object()) {
      auto a = f->find("arguments");
      if (a != f->end() && a->is_string()) {
        OrderedJson parsed = parse_in_order(a->get_ref<const std::string&>());
        if (parsed.is_object()) *a = std::move(parsed);
      }
    }
    calls.push_back(std::move(c));
  }
  out["tool_calls"] = std::move(calls);
}

void read_message(FieldReader& r, const OrderedJson& m, size_t i, const ApiLimits& limits,
                  OrderedJson& out) {
  const std::string where = at("messages", i);
  if (!m.is_object())
    return r.fail(where, "'" + where + "' must be an object, got " + std::string(type_name(m)));
  FieldReader mr(m, json_reader::Naming::request(), where);
  if (!mr.has("role")) return r.fail(where + ".role", "'" + where + ".role' is required");
  std::string role;
  mr.get_string("role", role);
  if (mr.ok() && role.empty()) mr.fail(where + ".role", "'" + where + ".role' must not be empty");
  out = OrderedJson::object();
  out["role"] = role;
  if (mr.ok()) read_content(mr, m, where, role, limits, out);
  for (const char* key : {"name", "tool_call_id", "reasoning_content"}) {
    std::string v;
    mr.get_string(key, v);
    if (mr.ok() && mr.has(key)) out[key] = v;
  }
  if (const OrderedJson* tc = mr.find("tool_calls"); tc && mr.ok())
    read_tool_calls(mr, *tc, where + ".tool_calls", out);
  if (!mr.ok()) r.fail(mr.first_error().field, mr.first_error().message);
}

}  // namespace

void read_chat_input(FieldReader& r, const ApiLimits& limits, bool default_add_generation_prompt,
                     ChatInput& out) {
  if (!r.ok()) return;
  if (!r.has("messages")) return r.fail("messages", "'messages' is required");
  const OrderedJson* msgs = r.get_array("messages");
  if (!msgs) return;
  if (msgs->empty()) return r.fail("messages", "'messages' must not be empty");
  if (msgs->size() > static_cast<size_t>(limits.max_messages))
    return r.fail("messages",
                  "'messages' has more than " + std::to_string(limits.max_messages) + " messages");
  OrderedJson norm = OrderedJson::array();
  for (size_t i = 0; i < msgs->size() && r.ok(); ++i) {
    OrderedJson m;
    read_message(r, (*msgs)[i], i, limits, m);
    norm.push_back(std::move(m));
  }
  if (!r.ok()) return;
  out.messages_json = dump(norm);
  out.num_messages = static_cast<int>(norm.size());
  if (const OrderedJson* tools = r.get_array("tools")) {
    for (size_t i = 0; i < tools->size(); ++i)
      if (!(*tools)[i].is_object())
        return r.fail(at("tools", i), "'" + at("tools", i) + "' must be an object");
    out.tools_json = dump(*tools);
  }
  if (const OrderedJson* tc = r.find("tool_choice")) {
    if (!tc->is_string() && !tc->is_object())
      return r.fail_type("tool_choice", "a string or an object");
    out.tool_choice_json = dump(*tc);
  }
  if (const OrderedJson* kw = r.get_object("chat_template_kwargs"))
    out.chat_template_kwargs_json = dump(*kw);
  out.add_generation_prompt = default_add_generation_prompt;
  r.get_bool("add_generation_prompt", out.add_generation_prompt);
  r.get_bool("continue_final_message", out.continue_final_message);
  if (r.ok() && out.continue_final_message && out.add_generation_prompt &&
      r.has("add_generation_prompt"))
    r.fail("continue_final_message",
           "'continue_final_message' and 'add_generation_prompt' cannot both be true");
  if (out.continue_final_message) out.add_generation_prompt = false;
}

}  // namespace detail

std::string build_template_context(const ChatInput& chat, std::string_view special_tokens_json,
                                   ContentFormat format) {
  // Ordered, so that everything keeps the client's key order.
  using detail::OrderedJson;
  using detail::parse_in_order;
  OrderedJson ctx = OrderedJson::object();
  if (!chat.chat_template_kwargs_json.empty()) {
    OrderedJson kw = parse_in_order(chat.chat_template_kwargs_json);
    if (kw.is_object()) ctx = std::move(kw);
  }
  // A kwarg wins over a special token of its name (the context's order
  // does not matter to a template).
  const OrderedJson special = parse_in_order(special_tokens_json);
  if (special.is_object())
    for (auto it = special.begin(); it != special.end(); ++it)
      if (!ctx.contains(it.key())) ctx[it.key()] = it.value();
  OrderedJson msgs = parse_in_order(chat.messages_json);
  if (msgs.is_discarded()) msgs = OrderedJson::array();
  for (OrderedJson& m : msgs)
    if (auto c = m.find("content"); c != m.end()) *c = detail::template_content(*c, format);
  ctx["messages"] = std::move(msgs);
  // As apply_chat_template: `tools` and `documents` are always there, None
  // when absent (templates test `tools is not none` as well as `is defined`).
  ctx["tools"] = nullptr;
  ctx["documents"] = nullptr;
  if (!chat.tools_json.empty()) {
    OrderedJson t = parse_in_order(chat.tools_json);
    if (!t.is_discarded()) ctx["tools"] = std::move(t);
  }
  ctx["add_generation_prompt"] = chat.add_generation_prompt;
  ctx["continue_final_message"] = chat.continue_final_message;
  if (!chat.tool_choice_json.empty()) {
    OrderedJson t = parse_in_order(chat.tool_choice_json);
    if (!t.is_discarded()) ctx["tool_choice"] = std::move(t);
  }
  return detail::dump(ctx);
}

ApiResult<std::string> cut_after_final_message(std::string rendered, const ChatInput& chat,
                                               ContentFormat format) {
  if (!chat.continue_final_message) return rendered;
  const detail::OrderedJson msgs = detail::parse_in_order(chat.messages_json);
  std::string content;
  if (msgs.is_array() && !msgs.empty() && msgs.back().is_object()) {
    auto c = msgs.back().find("content");
    const detail::OrderedJson shaped =
        c == msgs.back().end() ? detail::OrderedJson() : detail::template_content(*c, format);
    // As transformers: the last text part of a list of parts.
    if (shaped.is_string()) content = shaped.get<std::string>();
    if (shaped.is_array() && !shaped.empty() && shaped.back().is_object()) {
      auto t = shaped.back().find("text");
      if (t != shaped.back().end() && t->is_string()) content = t->get<std::string>();
    }
  }
  const size_t begin = content.find_first_not_of(" \t\n\r");
  const size_t end = content.find_last_not_of(" \t\n\r");
  content = begin == std::string::npos ? std::string() : content.substr(begin, end - begin + 1);
  const size_t at = content.empty() ? std::string::npos : rendered.rfind(content);
  if (at == std::string::npos) {
    return invalid_request("messages",
                           "continue_final_message: the final message's content is empty or does "
                           "not appear in the rendered chat template");
  }
  rendered.resize(at + content.size());
  return rendered;
}

}  // namespace pdserve::router

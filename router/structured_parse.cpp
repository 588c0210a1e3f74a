#include <string>
#include <utility>

#include "router/internal/structured_parse.h"
#include "structured/constraint.h"

namespace pdserve::router::detail {
namespace {

using Kind = protocol::OutputConstraint::Kind;

std::string in_quotes(std::string_view field) {
  return "'" + std::string(field) + "'";
}

// A function's parameters schema; an absent one takes no arguments.
OrderedJson parameters_of(const OrderedJson& function) {
  auto p = function.find("parameters");
  if (p != function.end() && p->is_object()) return *p;
  return OrderedJson{{"type", "object"}, {"properties", OrderedJson::object()}};
}

// tool_choice "required": a JSON array of one or more calls of the tools,
// [{"name": <one of them>, "parameters": <its arguments>}, ...], as vLLM
// constrains it.
protocol::OutputConstraint required_calls(const OrderedJson& tools) {
  OrderedJson options = OrderedJson::array();
  for (const OrderedJson& t : tools) {
    const OrderedJson& f = t["function"];
    options.push_back({{"type", "object"},
                       {"properties",
                        {{"name", {{"type", "string"}, {"enum", {f["name"]}}}},
                         {"parameters", parameters_of(f)}}},
                       {"required", {"name", "parameters"}}});
  }
  OrderedJson schema = {{"type", "array"}, {"minItems", 1}, {"items", {{"anyOf", options}}}};
  return {Kind::kJsonSchema, dump(schema), {}};
}

// tools: [{"type": "function", "function": {"name", "parameters"?}}].
void check_tools(FieldReader& r, const OrderedJson& tools) {
  for (size_t i = 0; i < tools.size() && r.ok(); ++i) {
    const std::string at = "tools[" + std::to_string(i) + "]";
    const OrderedJson& t = tools[i];
    auto type = t.find("type");
    if (type != t.end() && *type != "function")
      return r.fail(at + ".type", in_quotes(at + ".type") + " must be 'function'");
    auto f = t.find("function");
    if (f == t.end() || !f->is_object())
      return r.fail(at + ".function", in_quotes(at + ".function") + " must be an object");
    auto name = f->find("name");
    if (name == f->end() || !name->is_string() || name->get_ref<const std::string&>().empty())
      return r.fail(at + ".function.name",
                    in_quotes(at + ".function.name") + " must be a non-empty string");
    auto params = f->find("parameters");
    if (params != f->end() && !params->is_null() && !params->is_object())
      return r.fail(at + ".function.parameters",
                    in_quotes(at + ".function.parameters") + " must be an object");
  }
}

// The tool named `name`, or null.
const OrderedJson* find_tool(const OrderedJson& tools, const std::string& name) {
  for (const OrderedJson& t : tools)
    if (t["function"]["name"] == name) return &t;
  return nullptr;
}

// Sets q's constraint from `field`, after checking that it is the only one
// and that it compiles.
void set_constraint(FieldReader& r, OpenAiRequest& q, const std::string& field,
                    protocol::OutputConstraint c) {
  if (!r.ok()) return;
  if (q.sampling.constraint)
    return r.fail(field, in_quotes(field) + " cannot be combined with " +
                             in_quotes(q.constraint_field) +
                             ": give one structured-output constraint");
  Result<structured::Grammar> g = structured::build_grammar(c);
  if (!g.ok()) return r.fail(field, in_quotes(field) + " is invalid: " + g.status().message());
  q.constraint_field = field;
  q.sampling.constraint = std::make_shared<const protocol::OutputConstraint>(std::move(c));
}

// A schema given as an object, or as JSON text (guided_json).
bool schema_text(const OrderedJson& v, std::string& out) {
  if (v.is_object()) {
    out = dump(v);
  } else if (v.is_string()) {
    out = v.get<std::string>();
  } else {
    return false;
  }
  return true;
}

bool choices(const OrderedJson& v, std::vector<std::string>& out) {
  if (!v.is_array()) return false;
  for (const OrderedJson& e : v) {
    if (!e.is_string()) return false;
    out.push_back(e.get<std::string>());
  }
  return true;
}

// One field holding a schema, regex, choice list or grammar.
void read_kind(FieldReader& r, OpenAiRequest& q, const std::string& field, const OrderedJson& v,
               Kind kind) {
  protocol::OutputConstraint c;
  c.kind = kind;
  bool ok = true;
  std::string expected;
  switch (kind) {
    case Kind::kJsonSchema:
      ok = schema_text(v, c.text);
      expected = "a JSON schema (an object or its JSON text)";
      break;
    case Kind::kJsonObject:
      ok = v.is_boolean();
      expected = "a boolean";
      if (ok && !v.get<bool>()) return;
      break;
    case Kind::kChoice:
      ok = choices(v, c.choices);
      expected = "an array of strings";
      break;
    case Kind::kRegex:
    case Kind::kGrammar:
      ok = v.is_string();
      expected = "a string";
      if (ok) c.text = v.get<std::string>();
      break;
  }
  if (!ok)
    return r.fail(field,
                  in_quotes(field) + " must be " + expected + ", got " + std::string(type_name(v)));
  set_constraint(r, q, field, std::move(c));
}

void read_response_format(FieldReader& r, OpenAiRequest& q) {
  const OrderedJson* rf = r.get_object("response_format");
  if (rf == nullptr || !r.ok()) return;
  auto type = rf->find("type");
  if (type == rf->end() || !type->is_string())
    return r.fail("response_format.type", "'response_format.type' must be a string");
  const std::string t = type->get<std::string>();
  if (t == "text") return;
  if (t == "json_object")
    return set_constraint(r, q, "response_format", {Kind::kJsonObject, "", {}});
  if (t != "json_schema")
    return r.fail(
        "response_format.type",
        "'response_format.type' must be 'text', 'json_object' or 'json_schema', got '" + t + "'");
  auto js = rf->find("json_schema");
  if (js == rf->end() || !js->is_object())
    return r.fail("response_format.json_schema",
                  "'response_format.json_schema' must be an object when the type is "
                  "'json_schema'");
  auto schema = js->find("schema");
  if (schema == js->end() || !schema->is_object())
    return r.fail("response_format.json_schema.schema",
                  "'response_format.json_schema.schema' must be an object");
  set_constraint(r, q, "response_format.json_schema.schema",
                 {Kind::kJsonSchema, dump(*schema), {}});
}

void read_structured_outputs(FieldReader& r, OpenAiRequest& q) {
  const OrderedJson* so = r.get_object("structured_outputs");
  if (so == nullptr || !r.ok()) return;
  for (auto it = so->begin(); it != so->end() && r.ok(); ++it) {
    const std::string field = "structured_outputs." + it.key();
    if (it->is_null()) continue;
    std::optional<Kind> kind;
    if (it.key() == "json") kind = Kind::kJsonSchema;
    if (it.key() == "json_object") kind = Kind::kJsonObject;
    if (it.key() == "regex") kind = Kind::kRegex;
    if (it.key() == "choice") kind = Kind::kChoice;
    if (it.key() == "grammar") kind = Kind::kGrammar;
    if (!kind)
      return r.fail(field, in_quotes(field) +
                               " is not supported (only json, json_object, regex, choice and "
                               "grammar)");
    read_kind(r, q, field, *it, *kind);
  }
}

}  // namespace

void read_output_constraint(FieldReader& r, OpenAiRequest& q) {
  if (!r.ok()) return;
  if (r.has("structural_tag")) return r.fail("structural_tag", "'structural_tag' is not supported");
  read_response_format(r, q);
  read_structured_outputs(r, q);
  for (auto [key, kind] :
       {std::pair{"guided_json", Kind::kJsonSchema}, std::pair{"guided_regex", Kind::kRegex},
        std::pair{"guided_choice", Kind::kChoice}, std::pair{"guided_grammar", Kind::kGrammar}}) {
    if (const OrderedJson* v = r.find(key); v != nullptr && r.ok()) read_kind(r, q, key, *v, kind);
  }
  if (r.ok() && q.sampling.constraint && q.sampling.min_tokens > 0)
    r.fail("min_tokens", "'min_tokens' cannot be combined with " + in_quotes(q.constraint_field) +
                             " (a constrained output may end before it)");
}

void read_tool_use(FieldReader& r, OpenAiRequest& q) {
  if (!r.ok()) return;
  const OrderedJson* tools = r.find("tools");
  const OrderedJson* choice = r.find("tool_choice");
  const bool have_tools = tools != nullptr && tools->is_array() && !tools->empty();
  if (have_tools) check_tools(r, *tools);
  if (!r.ok()) return;
  ToolUse& use = q.tool_use;
  if (choice == nullptr) {
    use.mode = have_tools ? ToolUse::Mode::kAuto : ToolUse::Mode::kNone;
    return;
  }
  if (choice->is_string() && *choice == "none") return;
  if (!have_tools)
    return r.fail("tool_choice", "'tool_choice' other than 'none' needs a non-empty 'tools'");
  if (choice->is_string() && *choice == "auto") {
    use.mode = ToolUse::Mode::kAuto;
    return;
  }
  std::string field = "tool_choice";
  if (choice->is_string() && *choice == "required") {
    use.mode = ToolUse::Mode::kRequired;
    return set_constraint(r, q, field, required_calls(*tools));
  }
  const OrderedJson* name = nullptr;
  if (choice->is_object()) {
    auto f = choice->find("function");
    if (f != choice->end() && f->is_object() && f->contains("name") && (*f)["name"].is_string())
      name = &(*f)["name"];
  }
  if (name == nullptr)
    return r.fail("tool_choice",
                  "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", "
                  "\"function\": {\"name\": ...}}");
  const OrderedJson* tool = find_tool(*tools, name->get<std::string>());
  if (tool == nullptr)
    return r.fail("tool_choice.function.name",
                  "'tool_choice.function.name' names no tool: '" + name->get<std::string>() + "'");
  use.mode = ToolUse::Mode::kNamed;
  use.function_name = name->get<std::string>();
  set_constraint(r, q, field, {Kind::kJsonSchema, dump(parameters_of((*tool)["function"])), {}});
}

}  // namespace pdserve::router::detail

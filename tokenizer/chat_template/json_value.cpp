#include "tokenizer/chat_template/json_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/json/json_reader.h"
#include "tokenizer/chat_template/python_format.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

using nlohmann::ordered_json;

[[noreturn]] void throw_too_deep() {
  throw TemplateError(StatusCode::kInvalidArgument,
                      "chat template context: JSON nested deeper than " +
                          std::to_string(kMaxJsonDepth) + " levels");
}

Value convert(const ordered_json& j, int depth) {
  if (depth > kMaxJsonDepth) throw_too_deep();
  switch (j.type()) {
    case ordered_json::value_t::null: return Value::none();
    case ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case ordered_json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::floating(static_cast<double>(u));
      return Value::integer(static_cast<int64_t>(u));
    }
    case ordered_json::value_t::number_float: return Value::floating(j.get<double>());
    case ordered_json::value_t::string: return Value::string(j.get<std::string>());
    case ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(convert(x, depth + 1));
      return Value::list(std::move(items));
    }
    case ordered_json::value_t::object: {
      DictData d;
      for (auto it = j.begin(); it != j.end(); ++it) d.add_new(it.key(), convert(*it, depth + 1));
      return Value::dict(std::move(d));
    }
    default: return Value::none();
  }
}

void append_u_escape(std::string* out, uint32_t unit) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\u%04x", unit);
  *out += buf;
}

// Appends the \u escapes of the UTF-8 sequence at s[*i] (advancing *i); invalid bytes are
// escaped as themselves, as Python would see them after surrogateescape.
void escape_non_ascii(std::string* out, const std::string& s, size_t* i) {
  unsigned char b = static_cast<unsigned char>(s[*i]);
  size_t n = (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : 0;
  uint32_t cp = b;
  if (n > 0 && *i + n < s.size()) {
    cp = b & (0x3F >> n);
    for (size_t k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  } else {
    n = 0;
  }
  *i += n;
  if (cp >= 0x10000) {
    cp -= 0x10000;
    append_u_escape(out, 0xD800 + (cp >> 10));
    append_u_escape(out, 0xDC00 + (cp & 0x3FF));
  } else {
    append_u_escape(out, cp);
  }
}

void dump_string(std::string* out, const std::string& s, bool ensure_ascii) {
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    unsigned char c = static_cast<unsigned char>(ch);
    if (ensure_ascii && c >= 0x80) {
      escape_non_ascii(out, s, &i);
      continue;
    }
    switch (ch) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

class Dumper {
 public:
  Dumper(const JsonDumpOptions& o, int line) : o_(o), line_(line) {}

  void dump(std::string* out, const Value& v, int level) {
    if (level > 2 * kMaxValueDepth + 2) fail_at(line_, "tojson: value nested too deeply");
    switch (v.kind()) {
      case Kind::kNone: *out += "null"; return;
      case Kind::kBool: *out += v.as_bool() ? "true" : "false"; return;
      case Kind::kInt: *out += std::to_string(v.as_int()); return;
      case Kind::kFloat: {
        double d = v.as_float();
        if (std::isnan(d)) {
          *out += "NaN";
        } else if (std::isinf(d)) {
          *out += d > 0 ? "Infinity" : "-Infinity";
        } else {
          *out += python_float_repr(d);
        }
        return;
      }
      case Kind::kString: dump_string(out, v.str(), o_.ensure_ascii); return;
      case Kind::kList: {
        const auto& items = v.items();
        if (items.empty()) {
          *out += "[]";
          return;
        }
        *out += "[";
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) *out += o_.item_separator;
          newline(out, level + 1);
          dump(out, items[i], level + 1);
        }
        newline(out, level);
        *out += "]";
        return;
      }
      case Kind::kDict:
      case Kind::kNamespace: {
        if (v.is_namespace()) break;
        std::vector<const std::pair<std::string, Value>*> entries;
        for (const auto& e : v.dict_data().entries()) entries.push_back(&e);
        if (entries.empty()) {
          *out += "{}";
          return;
        }
        if (o_.sort_keys) {
          std::stable_sort(entries.begin(), entries.end(),
                           [](const auto* a, const auto* b) { return a->first < b->first; });
        }
        *out += "{";
        for (size_t i = 0; i < entries.size(); ++i) {
          if (i) *out += o_.item_separator;
          newline(out, level + 1);
          dump_string(out, entries[i]->first, o_.ensure_ascii);
          *out += o_.key_separator;
          dump(out, entries[i]->second, level + 1);
        }
        newline(out, level);
        *out += "}";
        return;
      }
      default: break;
    }
    fail_at(line_, "Object of type " + v.type_name() + " is not JSON serializable");
  }

 private:
  void newline(std::string* out, int level) {
    if (!o_.indent) return;
    out->push_back('\n');
    for (int i = 0; i < level; ++i) *out += *o_.indent;
  }

  const JsonDumpOptions& o_;
  int line_;
};

}  // namespace

Value value_from_json(std::string_view json) {
  // Linear in the keys (nlohmann's own ordered parse scans an object for
  // every new key); a repeated key keeps its first place and last value.
  json_reader::BasicParsed<ordered_json> j = json_reader::parse_ordered(json, kMaxJsonDepth + 1);
  if (j.too_deep) throw_too_deep();
  if (!j.value) {
    throw TemplateError(StatusCode::kInvalidArgument, "chat template context: invalid JSON");
  }
  return convert(*j.value, 0);
}

std::string value_to_json(const Value& v, const JsonDumpOptions& options, int line) {
  std::string out;
  Dumper(options, line).dump(&out, v, 0);
  return out;
}

}  // namespace pdserve::chat_template

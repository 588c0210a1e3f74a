#include "common/json/json_reader.h"

#include <cmath>
#include <utility>

namespace pdserve::json_reader {
namespace {

constexpr size_t kExcerptLen = 60;
constexpr int kExcerptDepth = 4;

// dump()'s compact form, but only down to kExcerptDepth levels and only
// until the text is long enough: dump() recurses once per level.
template <class J>
void append_excerpt(const J& value, int depth, std::string& out) {
  if (!value.is_structured()) {
    out += dump(value);
    return;
  }
  const bool is_array = value.is_array();
  if (depth >= kExcerptDepth && !value.empty()) {
    out += is_array ? "[...]" : "{...}";
    return;
  }
  out += is_array ? '[' : '{';
  bool first = true;
  for (auto it = value.begin(); it != value.end() && out.size() <= kExcerptLen; ++it) {
    if (!first) out += ',';
    first = false;
    if (!is_array) out += dump(J(it.key())) + ":";
    append_excerpt(*it, depth + 1, out);
  }
  out += is_array ? ']' : '}';
}

// A number as messages show it: 3, -0.1, 1.5.
std::string fmt(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace

int nesting_depth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) max_depth = depth;
      if (max_depth > limit) return max_depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

Parsed parse(std::string_view text, int max_depth) {
  Parsed p;
  if (nesting_depth(text, max_depth) > max_depth) {
    p.too_deep = true;
    return p;
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) p.value = std::move(j);
  return p;
}

Result<Json> parse_file_text(std::string_view text, const std::string& source) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return invalid_argument(source + ": invalid JSON: " + e.what());
  }
}

template <class J>
std::string_view type_name(const J& value) {
  using Type = typename J::value_t;
  switch (value.type()) {
    case Type::null: return "null";
    case Type::object: return "an object";
    case Type::array: return "an array";
    case Type::string: return "a string";
    case Type::boolean: return "a boolean";
    case Type::number_integer:
    case Type::number_unsigned: return "an integer";
    case Type::number_float: return "a number";
    default: return "an unsupported value";
  }
}

template <class J>
std::string dump(const J& value) {
  return value.dump(-1, ' ', false, J::error_handler_t::replace);
}

template <class J>
std::string excerpt(const J& value) {
  std::string text;
  append_excerpt(value, 0, text);
  if (text.size() > kExcerptLen) text = text.substr(0, kExcerptLen) + "...";
  return text;
}

std::string quote(std::string_view text) {
  constexpr size_t kMaxLen = 200;
  std::string quoted = dump(Json(std::string(text.substr(0, kMaxLen))));
  if (text.size() > kMaxLen) quoted.insert(quoted.size() - 1, "...");
  return quoted;
}

template <class J>
std::optional<int64_t> as_int(const J& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.template get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.template get<int64_t>();
  if (value.is_number_float()) {
    const double d = value.template get<double>();
    // 2^63 is exactly representable; values at or past it do not fit.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2233720368547758e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

template <class J>
BasicFieldReader<J>::BasicFieldReader(const Json& object, Naming naming, std::string prefix)
    : object_(&object), naming_(std::move(naming)), prefix_(std::move(prefix)) {}

template <class J>
const J* BasicFieldReader<J>::find(std::string_view key) const {
  if (!object_->is_object()) return nullptr;
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

template <class J>
bool BasicFieldReader<J>::contains(std::string_view key) const {
  return object_->is_object() && object_->find(key) != object_->end();
}

template <class J>
std::string BasicFieldReader<J>::path(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

template <class J>
std::string BasicFieldReader<J>::name(std::string_view key) const {
  const std::string p = path(key);
  return naming_.quote == 0 ? p : naming_.quote + p + naming_.quote;
}

template <class J>
std::string BasicFieldReader<J>::line(std::string_view key, std::string_view what) const {
  std::string out = naming_.source.empty() ? std::string() : naming_.source + ": ";
  return out + name(key) + " " + std::string(what);
}

template <class J>
std::string BasicFieldReader<J>::got(const Json& value) const {
  return naming_.show_values ? excerpt(value) : std::string(type_name(value));
}

template <class J>
Status BasicFieldReader<J>::error(std::string_view key, std::string_view what) const {
  return invalid_argument(line(key, what));
}

template <class J>
std::optional<std::string> BasicFieldReader<J>::check_int(const Json& v, int64_t lo, int64_t hi,
                                                          int64_t* out) const {
  const std::string range =
      "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got ";
  if (!v.is_number()) return "must be an integer, got " + got(v);
  const std::optional<int64_t> i = as_int(v);
  if (!i) {
    if (v.is_number_float() && v.template get<double>() != std::floor(v.template get<double>()))
      return "must be an integer, got " +
             (naming_.show_values ? fmt(v.template get<double>()) : got(v));
    return range + dump(v);
  }
  if (*i < lo || *i > hi) return range + std::to_string(*i);
  *out = *i;
  return std::nullopt;
}

template <class J>
Result<std::optional<int64_t>> BasicFieldReader<J>::optional_int(std::string_view key, int64_t lo,
                                                                 int64_t hi) const {
  const Json* v = find(key);
  if (v == nullptr) return std::optional<int64_t>();
  int64_t i = 0;
  if (auto problem = check_int(*v, lo, hi, &i)) return error(key, *problem);
  return std::optional<int64_t>(i);
}

template <class J>
Result<int64_t> BasicFieldReader<J>::required_int(std::string_view key, int64_t lo,
                                                  int64_t hi) const {
  PD_ASSIGN_OR_RETURN(std::optional<int64_t> v, optional_int(key, lo, hi));
  if (!v) return error(key, "is missing");
  return *v;
}

template <class J>
Result<std::optional<double>> BasicFieldReader<J>::optional_number(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number() || !std::isfinite(v->template get<double>()))
    return error(key, "must be a number, got " + got(*v));
  return std::optional<double>(v->template get<double>());
}

template <class J>
Result<double> BasicFieldReader<J>::number_or(std::string_view key, double fallback) const {
  PD_ASSIGN_OR_RETURN(std::optional<double> v, optional_number(key));
  return v.value_or(fallback);
}

template <class J>
Result<bool> BasicFieldReader<J>::bool_or(std::string_view key, bool fallback) const {
  const Json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return error(key, "must be a boolean, got " + got(*v));
  return v->template get<bool>();
}

template <class J>
Result<std::optional<std::string>> BasicFieldReader<J>::optional_string(
    std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return error(key, "must be a string, got " + got(*v));
  return std::optional<std::string>(v->template get<std::string>());
}

template <class J>
Result<std::string> BasicFieldReader<J>::required_string(std::string_view key) const {
  PD_ASSIGN_OR_RETURN(std::optional<std::string> v, optional_string(key));
  if (!v) return error(key, "is missing");
  return std::move(*v);
}

template <class J>
Result<std::optional<BasicFieldReader<J>>> BasicFieldReader<J>::optional_object(
    std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::optional<BasicFieldReader>();
  if (!v->is_object()) return error(key, "must be an object, got " + got(*v));
  return std::optional<BasicFieldReader>(BasicFieldReader(*v, naming_, path(key)));
}

template <class J>
Status BasicFieldReader<J>::status() const {
  return ok() ? ok_status() : invalid_argument(first_error_->message);
}

template <class J>
void BasicFieldReader<J>::fail(std::string field, std::string message) {
  if (ok()) first_error_ = FieldError{std::move(field), std::move(message)};
}

template <class J>
void BasicFieldReader<J>::fail_type(std::string_view key, std::string_view expected) {
  const Json* v = find(key);
  fail(path(key), line(key, "must be " + std::string(expected) + ", got " +
                                (v ? got(*v) : std::string("null"))));
}

template <class J>
void BasicFieldReader<J>::require(std::string_view key) {
  if (ok() && !has(key)) fail(path(key), line(key, "is missing"));
}

template <class J>
void BasicFieldReader<J>::get_bool(std::string_view key, bool& out) {
  const Json* v = find(key);
  if (!ok() || !v) return;
  if (!v->is_boolean()) return fail_type(key, "a boolean");
  out = v->template get<bool>();
}

template <class J>
void BasicFieldReader<J>::get_string(std::string_view key, std::string& out) {
  const Json* v = find(key);
  if (!ok() || !v) return;
  if (!v->is_string()) return fail_type(key, "a string");
  out = v->template get<std::string>();
}

template <class J>
void BasicFieldReader<J>::get_int(std::string_view key, int64_t lo, int64_t hi,
                                  std::optional<int64_t>& out) {
  const Json* v = find(key);
  if (!ok() || !v) return;
  int64_t i = 0;
  if (auto problem = check_int(*v, lo, hi, &i)) return fail(path(key), line(key, *problem));
  out = i;
}

template <class J>
void BasicFieldReader<J>::get_int(std::string_view key, int64_t lo, int64_t hi, int& out) {
  std::optional<int64_t> v;
  get_int(key, lo, hi, v);
  if (v) out = static_cast<int>(*v);
}

template <class J>
void BasicFieldReader<J>::get_uint64(std::string_view key, uint64_t& out) {
  const Json* v = find(key);
  if (!ok() || !v) return;
  if (v->is_number_unsigned()) {
    out = v->template get<uint64_t>();
  } else if (v->is_number_integer() && v->template get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v->template get<int64_t>());
  } else {
    fail_type(key, "a non-negative 64-bit integer");
  }
}

template <class J>
void BasicFieldReader<J>::get_float(std::string_view key, double lo, double hi, bool lo_open,
                                    float& out) {
  const Json* v = find(key);
  if (!ok() || !v) return;
  if (!v->is_number()) return fail_type(key, "a number");
  const double d = v->template get<double>();
  const bool in = std::isfinite(d) && (lo_open ? d > lo : d >= lo) && d <= hi;
  if (!in) {
    return fail(path(key), line(key, std::string("must be in ") + (lo_open ? "(" : "[") + fmt(lo) +
                                         ", " + fmt(hi) + "], got " + fmt(d)));
  }
  out = static_cast<float>(d);
}

template <class J>
void BasicFieldReader<J>::get_float(std::string_view key, float& out) {
  get_float(key, -3.4e38, 3.4e38, false, out);
}

template <class J>
const J* BasicFieldReader<J>::get_kind(std::string_view key, bool (Json::*is_kind)() const noexcept,
                                       std::string_view expected) {
  const Json* v = find(key);
  if (!ok() || !v) return nullptr;
  if (!(v->*is_kind)()) {
    fail_type(key, expected);
    return nullptr;
  }
  return v;
}

template <class J>
const J* BasicFieldReader<J>::get_object(std::string_view key) {
  return get_kind(key, &Json::is_object, "an object");
}

template <class J>
const J* BasicFieldReader<J>::get_array(std::string_view key) {
  return get_kind(key, &Json::is_array, "an array");
}

template std::string_view type_name(const Json&);
template std::string_view type_name(const OrderedJson&);
template std::string dump(const Json&);
template std::string dump(const OrderedJson&);
template std::string excerpt(const Json&);
template std::string excerpt(const OrderedJson&);
template std::optional<int64_t> as_int(const Json&);
template std::optional<int64_t> as_int(const OrderedJson&);
template class BasicFieldReader<Json>;
template class BasicFieldReader<OrderedJson>;

}  // namespace pdserve::json_reader

#include "structured/json_string_content.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "structured/utf8_ranges.h"

namespace pdserve::structured {
namespace {

const std::vector<CodepointRange>& escaped_ranges() {
  static const std::vector<CodepointRange> kRanges = {{0x00, 0x1F}, {'"', '"'}, {'\\', '\\'}};
  return kRanges;
}

std::string escape(uint32_t cp) {
  switch (cp) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\t': return "\\t";
    case '\r': return "\\r";
    default: break;
  }
  if (cp < 0x20) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\u%04X", static_cast<unsigned>(cp));
    return buf;
  }
  return encode_utf8(cp);
}

Expr class_content(const std::vector<CodepointRange>& ranges) {
  std::vector<Expr> options;
  std::vector<CodepointRange> plain = subtract_ranges(ranges, escaped_ranges());
  if (!plain.empty()) options.push_back(Expr::char_class(std::move(plain)));
  for (const CodepointRange& r : ranges) {
    for (const CodepointRange& special : escaped_ranges()) {
      for (uint32_t cp = std::max(r.lo, special.lo); cp <= std::min(r.hi, special.hi); ++cp) {
        options.push_back(Expr::literal(escape(cp)));
      }
    }
  }
  return Expr::alt(std::move(options));
}

}  // namespace

Expr to_json_string_content(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLiteral: {
      std::string out;
      size_t idx = 0;
      uint32_t cp = 0;
      while (decode_utf8(e.text, &idx, &cp)) out += escape(cp);
      return Expr::literal(std::move(out));
    }
    case Expr::Kind::kClass: return class_content(e.ranges);
    case Expr::Kind::kEmpty:
    case Expr::Kind::kRule: return e;
    case Expr::Kind::kSeq:
    case Expr::Kind::kAlt:
    case Expr::Kind::kRepeat: {
      Expr out = e;
      for (Expr& child : out.children) child = to_json_string_content(child);
      return out;
    }
  }
  return e;
}

Result<std::string_view> format_regex(std::string_view format) {
  static const std::pair<std::string_view, std::string_view> kFormats[] = {
      {"date", "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"},
      {"time",
       "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"},
      {"date-time",
       "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
       "(\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"},
      {"uuid", "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"},
      {"email", "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+"},
      {"ipv4",
       "((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
       "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"},
      {"hostname",
       "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"},
      {"uri", "[A-Za-z][A-Za-z0-9+.-]*:[^\\s\"<>\\\\^`{|}]*"},
  };
  for (const auto& [name, regex] : kFormats) {
    if (name == format) return regex;
  }
  return invalid_argument("string format '" + std::string(format) + "' is not supported");
}

}  // namespace pdserve::structured

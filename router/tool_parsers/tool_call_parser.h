// ToolCallParser: turns a model's generated text into content and tool
// calls with one ToolCallFormat (--tool-call-parser NAME), over the whole
// output or chunk by chunk as it streams:
//
//   text ──find_start──▶ calls ──take_calls──▶ text ...
//     │ content (held back while it may be the start of a marker)
//
// A block of calls that turns out malformed (bad JSON, no end marker when
// the output ends) is given back as content, marker included: nothing the
// model wrote is lost. One parser per output; not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "router/tool_parsers/tool_call.h"
#include "router/tool_parsers/tool_call_format.h"

namespace pdserve::router {

// A new call id: "call_" + 24 random letters and digits.
std::string random_call_id();

class ToolCallParser {
 public:
  // "hermes" (also Qwen 2.5/3), "llama3_json", "mistral".
  static const std::vector<std::string>& names();
  // Fails on an unknown name, listing the known ones. `make_id` makes call
  // ids (default: "call_" + 24 random letters and digits).
  static Result<ToolCallParser> create(std::string_view name,
                                       std::function<std::string()> make_id = nullptr);

  // The content and calls that `chunk` completes.
  StreamDelta feed(std::string_view chunk);
  // The output ended: everything still held back.
  StreamDelta finish();
  // A whole output at once (feed + finish).
  ParsedOutput parse(std::string_view text);

 private:
  ToolCallParser(std::unique_ptr<ToolCallFormat> format, std::function<std::string()> make_id);
  void process(bool final, StreamDelta* out);
  void emit_content(size_t len, StreamDelta* out);

  std::unique_ptr<ToolCallFormat> format_;
  std::function<std::string()> make_id_;
  std::string buffer_;  // text not yet emitted (after the marker while in_calls_)
  std::string marker_;  // the start marker of the block being read
  bool in_calls_ = false;
  bool started_ = false;  // some text was consumed already
  int32_t next_index_ = 0;
};

}  // namespace pdserve::router

// Logging and CHECK, std only. Thread-safe: each message is written to stderr
// with one write. The level comes from PDSERVE_LOG_LEVEL (debug, info, warn,
// error; default info) or set_log_level(); the format from PDSERVE_LOG_FORMAT
// (text, json; default text) or set_log_format(). A json line is one object:
//   {"time":"2026-12-07T14:31:28.123Z","level":"info","source":"engine.cpp:42","message":"..."}
// plus the fields a caller adds (log_fields(), used by request_timeline).
//
//   PD_LOG(INFO) << "loaded " << n << " tensors";
//   PD_CHECK(n > 0) << "empty batch";      // aborts with file:line when false
//                                          // (throws CheckFailure inside a
//                                          // RecoverableChecks scope: check_scope.h)
//   PD_DCHECK(idx < size);                  // checked in debug builds only
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace pdserve {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kFatal = 4 };
enum class LogFormat { kText, kJson };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug", "info", "warn", "error"; false when the name is unknown.
bool parse_log_level(std::string_view name, LogLevel* level);

void set_log_format(LogFormat format);
LogFormat log_format();
// Parses "text", "json"; false when the name is unknown.
bool parse_log_format(std::string_view name, LogFormat* format);

// Writes one line at `level` (when enabled) with `message` and, in the json
// format, the members in `json_fields` (`"key":value` pairs joined by
// commas, already JSON); the text format appends `text_fields` instead.
void log_fields(LogLevel level, const char* file, int line, std::string_view message,
                std::string_view json_fields, std::string_view text_fields);

// `s` as the contents of a JSON string (quotes not included).
std::string json_escape(std::string_view s);

namespace detail {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  ~LogMessage() noexcept(false);  // writes; kFatal aborts (or throws, see check_scope.h)
  std::ostream& stream() { return out_; }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream out_;
};

// Makes `cond ? (void)0 : Voidify() & stream` well-formed.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace detail
}  // namespace pdserve

#define PD_LOG_LEVEL_DEBUG ::pdserve::LogLevel::kDebug
#define PD_LOG_LEVEL_INFO ::pdserve::LogLevel::kInfo
#define PD_LOG_LEVEL_WARN ::pdserve::LogLevel::kWarn
#define PD_LOG_LEVEL_ERROR ::pdserve::LogLevel::kError
#define PD_LOG_LEVEL_FATAL ::pdserve::LogLevel::kFatal

#define PD_LOG(level)                             \
  (PD_LOG_LEVEL_##level < ::pdserve::log_level()) \
      ? (void)0                                   \
      : ::pdserve::detail::Voidify() &            \
            ::pdserve::detail::LogMessage(PD_LOG_LEVEL_##level, __FILE__, __LINE__).stream()

#define PD_CHECK(cond)                                                                        \
  (cond) ? (void)0                                                                            \
         : ::pdserve::detail::Voidify() &                                                     \
               ::pdserve::detail::LogMessage(::pdserve::LogLevel::kFatal, __FILE__, __LINE__) \
                       .stream()                                                              \
                   << "Check failed: " #cond " "

#ifdef NDEBUG
#define PD_DCHECK(cond) \
  while (false) PD_CHECK(cond)
#else
#define PD_DCHECK(cond) PD_CHECK(cond)
#endif

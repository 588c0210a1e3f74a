#include "common/base/logging.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <string>

#include "common/base/check_scope.h"

namespace pdserve {
namespace {

LogLevel initial_level() {
  LogLevel level = LogLevel::kInfo;
  if (const char* env = std::getenv("PDSERVE_LOG_LEVEL")) parse_log_level(env, &level);
  return level;
}

std::atomic<LogLevel>& level_ref() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

LogFormat initial_format() {
  LogFormat format = LogFormat::kText;
  if (const char* env = std::getenv("PDSERVE_LOG_FORMAT")) parse_log_format(env, &format);
  return format;
}

std::atomic<LogFormat>& format_ref() {
  static std::atomic<LogFormat> format{initial_format()};
  return format;
}

char level_letter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return 'D';
    case LogLevel::kInfo: return 'I';
    case LogLevel::kWarn: return 'W';
    case LogLevel::kError: return 'E';
    case LogLevel::kFatal: return 'F';
  }
  return '?';
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kFatal: return "fatal";
  }
  return "?";
}

std::string_view basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// One line, newline included, in the process's format.
std::string format_line(LogLevel level, const char* file, int line, std::string_view message,
                        std::string_view json_fields, std::string_view text_fields) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[40];
  std::string out;
  if (log_format() == LogFormat::kJson) {
    size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof(stamp) - n, ".%03dZ", ms);
    out.reserve(96 + message.size() + json_fields.size());
    out += "{\"time\":\"";
    out += stamp;
    out += "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"source\":\"";
    out += json_escape(basename(file));
    out += ':';
    out += std::to_string(line);
    out += "\",\"message\":\"";
    out += json_escape(message);
    out += '"';
    if (!json_fields.empty()) {
      out += ',';
      out += json_fields;
    }
    out += "}\n";
    return out;
  }
  size_t n = std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof(stamp) - n, ".%03d", ms);
  out += level_letter(level);
  out += ' ';
  out += stamp;
  out += ' ';
  out += basename(file);
  out += ':';
  out += std::to_string(line);
  out += "] ";
  out += message;
  if (!text_fields.empty()) {
    out += ' ';
    out += text_fields;
  }
  out += '\n';
  return out;
}

void write_stderr(const std::string& s) {
  ssize_t ignored = ::write(STDERR_FILENO, s.data(), s.size());
  (void)ignored;
}

}  // namespace

void set_log_level(LogLevel level) {
  level_ref().store(level);
}
LogLevel log_level() {
  return level_ref().load(std::memory_order_relaxed);
}

bool parse_log_level(std::string_view name, LogLevel* level) {
  if (name == "debug")
    *level = LogLevel::kDebug;
  else if (name == "info")
    *level = LogLevel::kInfo;
  else if (name == "warn" || name == "warning")
    *level = LogLevel::kWarn;
  else if (name == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

void set_log_format(LogFormat format) {
  format_ref().store(format);
}
LogFormat log_format() {
  return format_ref().load(std::memory_order_relaxed);
}

bool parse_log_format(std::string_view name, LogFormat* format) {
  if (name == "text")
    *format = LogFormat::kText;
  else if (name == "json")
    *format = LogFormat::kJson;
  else
    return false;
  return true;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(c));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  return out;
}

void log_fields(LogLevel level, const char* file, int line, std::string_view message,
                std::string_view json_fields, std::string_view text_fields) {
  if (level < log_level()) return;
  write_stderr(format_line(level, file, line, message, json_fields, text_fields));
}

namespace detail {

LogMessage::LogMessage(LogLevel level, const char* file, int line)
    : level_(level), file_(file), line_(line) {}

LogMessage::~LogMessage() noexcept(false) {
  std::string message = out_.str();
  write_stderr(format_line(level_, file_, line_, message, {}, {}));
  if (level_ != LogLevel::kFatal) return;
  // Inside a RecoverableChecks scope the failed check fails only that work.
  if (checks_recoverable()) {
    if (std::uncaught_exceptions() > 0) {
      // A destructor run while the work unwinds: a second exception would end
      // the process (std::terminate), and the work fails already. Go on.
      write_stderr(format_line(LogLevel::kError, file_, line_,
                               "the check above failed while its work unwinds; carried on", {},
                               {}));
      return;
    }
    throw CheckFailure(std::string(basename(file_)) + ":" + std::to_string(line_) + "] " + message);
  }
  std::abort();
}

}  // namespace detail
}  // namespace pdserve

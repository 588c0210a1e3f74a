#include "cli/log_format_flag.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>

#include "common/base/logging.h"

namespace pdserve::cli {

void add_log_format_flag(CLI::App& cmd) {
  cmd.add_option_function<std::string>(
         "--log-format",
         [](const std::string& name) {
           LogFormat format = LogFormat::kText;
           parse_log_format(name, &format);  // the check below allows only known names
           set_log_format(format);
           ::setenv("PDSERVE_LOG_FORMAT", name.c_str(), 1);
         },
         "log lines as text or as one JSON object each (milestones of every request included)")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
}

}  // namespace pdserve::cli

// --log-format {text,json} on the serving commands: sets this process's log
// format (common/base/logging.h) and exports PDSERVE_LOG_FORMAT so the
// processes it starts (pdserve serve's children) log the same way.
//
//   add_log_format_flag(*cmd);
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

void add_log_format_flag(CLI::App& cmd);

}  // namespace pdserve::cli

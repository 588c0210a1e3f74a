#include "cli/seconds_flag.h"

#include <CLI/CLI.hpp>

namespace pdserve::cli {

SecondsFlag add_seconds_flag(CLI::App& cmd, const std::string& name, double default_s, double min_s,
                             double max_s, const std::string& help) {
  SecondsFlag flag(default_s);
  cmd.add_option(name, flag.value(), help)->check(CLI::Range(min_s, max_s));
  return flag;
}

}  // namespace pdserve::cli

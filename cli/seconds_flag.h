// A flag given in seconds (fractions allowed) within a range, read as
// milliseconds once the command line is parsed:
//
//   SecondsFlag grace = add_seconds_flag(*cmd, "--shutdown-grace", 30, 0, 3600, "...");
//   cmd->final_callback([grace] { options.grace = grace.ms(); });
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace pdserve::cli {

class SecondsFlag {
 public:
  explicit SecondsFlag(double seconds) : seconds_(std::make_shared<double>(seconds)) {}
  double seconds() const { return *seconds_; }
  std::chrono::milliseconds ms() const {
    return std::chrono::milliseconds(static_cast<int64_t>(*seconds_ * 1000));
  }
  double& value() { return *seconds_; }  // what the parser writes

 private:
  std::shared_ptr<double> seconds_;  // shared with the parser's option
};

SecondsFlag add_seconds_flag(CLI::App& cmd, const std::string& name, double default_s, double min_s,
                             double max_s, const std::string& help);

}  // namespace pdserve::cli

// For tests of the pdserve binary from the outside (PDSERVE_BIN): run it and
// read its exit status and output, and check that bad input gets one line
// naming the problem.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace pdserve::cli_test {

struct CliRun {
  int status;
  std::string output;  // stdout and stderr
};

inline CliRun run_pdserve(const std::string& args) {
  const std::string cmd = std::string(PDSERVE_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct CliCase {
  std::string args, message;
};

// `pdserve <command> <args>` fails with exactly one line holding `message`, for each case.
inline void expect_one_line_errors(const std::string& command, const std::vector<CliCase>& cases) {
  for (const CliCase& c : cases) {
    const CliRun r = run_pdserve(command + " " + c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << " printed: " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1)
        << c.args << " printed: " << r.output;
  }
}

}  // namespace pdserve::cli_test

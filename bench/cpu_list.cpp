#include "bench/cpu_list.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

namespace pdserve::bench {
namespace {

Result<int> parse_cpu(std::string_view text, std::string_view list) {
  int cpu = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cpu);
  if (ec != std::errc() || end != text.data() + text.size() || cpu < 0 || cpu >= CPU_SETSIZE)
    return invalid_argument("bad CPU list '" + std::string(list) + "' (e.g. 0 or 0,2-3)");
  return cpu;
}

}  // namespace

Result<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    const size_t dash = item.find('-');
    PD_ASSIGN_OR_RETURN(int first, parse_cpu(item.substr(0, dash), text));
    int last = first;
    if (dash != std::string_view::npos) {
      PD_ASSIGN_OR_RETURN(last, parse_cpu(item.substr(dash + 1), text));
    }
    if (last < first)
      return invalid_argument("bad CPU list '" + std::string(text) + "': a range runs backwards");
    for (int c = first; c <= last; ++c) cpus.push_back(c);
    start = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

Result<std::vector<int>> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0)
    return internal_error(std::string("sched_getaffinity: ") + std::strerror(errno));
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

Status pin_calling_thread(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    return internal_error(std::string("sched_setaffinity: ") + std::strerror(errno));
  return ok_status();
}

}  // namespace pdserve::bench

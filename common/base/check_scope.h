// Containing PD_CHECK failures inside one unit of work that can be failed on
// its own (an engine step): on a thread inside a RecoverableChecks scope, a
// failed PD_CHECK logs its message as usual and then throws CheckFailure
// instead of aborting the process. Outside any scope PD_CHECK aborts, as
// before.
//
//   {
//     RecoverableChecks scope;
//     try {
//       run_step();                      // a PD_CHECK in here throws
//     } catch (const CheckFailure& e) {
//       return internal_error(e.what());  // the step fails, the process lives
//     }
//   }
//
// Use it only where everything the work touched can be thrown away with it
// (the step's requests are failed and their blocks freed), never around
// state that would be left half-updated. A check that fails in a destructor
// while the work unwinds (an exception is in flight) is logged and the
// destructor goes on: a second exception would end the process. One that
// fails in a noexcept function otherwise still ends it, so destructors and
// noexcept functions contain no check (tests/noexcept_checks_test.py).
//
// Thread-safety: the scope is per thread; nesting is allowed.
#pragma once

#include <stdexcept>
#include <string>

namespace pdserve {

class CheckFailure : public std::runtime_error {
 public:
  explicit CheckFailure(const std::string& message) : std::runtime_error(message) {}
};

class RecoverableChecks {
 public:
  RecoverableChecks();
  ~RecoverableChecks();
  RecoverableChecks(const RecoverableChecks&) = delete;
  RecoverableChecks& operator=(const RecoverableChecks&) = delete;
};

// True on a thread inside at least one RecoverableChecks scope.
bool checks_recoverable();

}  // namespace pdserve

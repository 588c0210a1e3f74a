// Runs scheduled steps on a ModelRunner, in submission order: inline
// (submit() executes) or on a runner thread, so that the scheduler thread
// prepares step N+1 while the runner executes step N (async scheduling).
// Every call into the runner (remove_sequence, add_sequence, execute) is
// made from that one thread, as model_runner.h requires.
//
// A job runs inside a RecoverableChecks scope (common/base/check_scope.h): a
// PD_CHECK that fails in the runner or the backend, or an exception thrown
// there (std::bad_alloc, ...), fails that job with kInternal instead of
// ending the process. The caller then drops every sequence of the job.
//
// Thread-safety: submit(), wait() and the destructor from one (the
// scheduler's) thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "engine/runner/model_runner.h"

namespace pdserve::scheduler {

struct StepJob {
  std::vector<uint64_t> remove_seqs;
  std::vector<runner::SequenceInfo> add_seqs;
  runner::StepBatch batch;  // executed when it has work
};

class StepExecutor {
 public:
  // `runner` must outlive the executor.
  StepExecutor(runner::ModelRunner* runner, bool use_thread);
  ~StepExecutor();  // finishes the submitted jobs, then joins
  StepExecutor(const StepExecutor&) = delete;
  StepExecutor& operator=(const StepExecutor&) = delete;

  void submit(StepJob job);
  // The output of the oldest submitted job not waited for yet (blocks).
  // PD_CHECK: one is in flight.
  Result<runner::StepOutput> wait();
  int num_in_flight() const { return num_in_flight_; }

 private:
  // run_unguarded() with failed checks and exceptions turned into kInternal.
  Result<runner::StepOutput> run(const StepJob& job);
  Result<runner::StepOutput> run_unguarded(const StepJob& job);
  void loop();

  runner::ModelRunner* runner_;
  bool use_thread_;
  int num_in_flight_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StepJob> jobs_;                        // guarded by mu_
  std::deque<Result<runner::StepOutput>> results_;  // guarded by mu_
  bool stop_ = false;                               // guarded by mu_
  std::thread thread_;
};

}  // namespace pdserve::scheduler

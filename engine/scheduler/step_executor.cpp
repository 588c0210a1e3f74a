#include "engine/scheduler/step_executor.h"

#include <exception>
#include <string>

#include "common/base/check_scope.h"
#include "common/base/logging.h"

namespace pdserve::scheduler {

StepExecutor::StepExecutor(runner::ModelRunner* runner, bool use_thread)
    : runner_(runner), use_thread_(use_thread) {
  PD_CHECK(runner_ != nullptr);
  if (use_thread_) thread_ = std::thread([this] { loop(); });
}

StepExecutor::~StepExecutor() {
  if (!use_thread_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<runner::StepOutput> StepExecutor::run(const StepJob& job) {
  RecoverableChecks scope;
  try {
    return run_unguarded(job);
  } catch (const CheckFailure& e) {
    return internal_error(std::string("check failed in the step: ") + e.what());
  } catch (const std::exception& e) {
    return internal_error(std::string("exception in the step: ") + e.what());
  }
}

Result<runner::StepOutput> StepExecutor::run_unguarded(const StepJob& job) {
  for (uint64_t id : job.remove_seqs) runner_->remove_sequence(id);
  for (const runner::SequenceInfo& info : job.add_seqs) {
    Status s = runner_->add_sequence(info);
    if (!s.ok()) return s.with_context("add_sequence " + std::to_string(info.seq_id));
  }
  const runner::StepBatch& b = job.batch;
  if (b.seqs.empty() && b.swap_in.empty() && b.swap_out.empty()) return runner::StepOutput{};
  return runner_->execute(b);
}

void StepExecutor::submit(StepJob job) {
  ++num_in_flight_;
  if (!use_thread_) {
    results_.push_back(run(job));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

Result<runner::StepOutput> StepExecutor::wait() {
  PD_CHECK(num_in_flight_ > 0) << "wait() with no step in flight";
  --num_in_flight_;
  std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
  if (use_thread_) {
    lock.lock();
    cv_.wait(lock, [this] { return !results_.empty(); });
  }
  Result<runner::StepOutput> out = std::move(results_.front());
  results_.pop_front();
  return out;
}

void StepExecutor::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stop_ and nothing left
    StepJob job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Result<runner::StepOutput> out = run(job);
    lock.lock();
    results_.push_back(std::move(out));
    cv_.notify_all();
  }
}

}  // namespace pdserve::scheduler

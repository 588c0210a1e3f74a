#include "engine/runner/mask_worker.h"

#include <optional>
#include <utility>

#include "common/base/check_scope.h"

namespace pdserve::runner {

MaskWorker::Pending::~Pending() {
  if (worker_) worker_->drain();
}

Status MaskWorker::Pending::wait() {
  MaskWorker* w = std::exchange(worker_, nullptr);
  return w ? w->finish() : ok_status();
}

MaskWorker::~MaskWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

MaskWorker::Pending MaskWorker::start(std::vector<Job> jobs) {
  if (jobs.empty()) return Pending(nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_ = std::move(jobs);
    busy_ = true;
    recoverable_ = checks_recoverable();
    status_ = ok_status();
    failure_ = nullptr;
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  cv_.notify_all();
  return Pending(this);
}

Status MaskWorker::finish() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !busy_; });
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  return status_;
}

void MaskWorker::drain() noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !busy_; });
  failure_ = nullptr;  // the step is already failing: its caller is unwinding or returned
}

void MaskWorker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || busy_; });
    if (stop_) return;
    const bool recoverable = recoverable_;
    std::vector<Job> jobs = std::move(jobs_);
    lock.unlock();
    Status status;
    std::exception_ptr failure;
    try {
      std::optional<RecoverableChecks> scope;  // contain checks as the caller does
      if (recoverable) scope.emplace();
      for (const Job& job : jobs) {
        Status s = job.grammar->prepare(job.drafts);
        if (status.ok()) status = std::move(s);
      }
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    status_ = std::move(status);
    failure_ = failure;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace pdserve::runner

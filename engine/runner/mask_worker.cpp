#include "engine/runner/mask_worker.h"

#include <algorithm>
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

MaskWorker::MaskWorker(int num_threads) : max_threads_(std::max(num_threads, 1)) {}

MaskWorker::~MaskWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

int MaskWorker::default_num_threads() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores - 1, 1, 8);
}

MaskWorker::Pending MaskWorker::start(std::vector<Job> jobs) {
  if (jobs.empty()) return Pending(nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Threads first: should starting one throw, no job has been handed over.
    const size_t wanted = std::min(static_cast<size_t>(max_threads_), jobs.size());
    while (threads_.size() < wanted) threads_.emplace_back([this] { run(); });
    jobs_ = std::move(jobs);
    num_taken_ = 0;
    num_done_ = 0;
    statuses_.assign(jobs_.size(), ok_status());
    failures_.assign(jobs_.size(), nullptr);
    recoverable_ = checks_recoverable();
  }
  work_cv_.notify_all();
  return Pending(this);
}

void MaskWorker::take_jobs(std::unique_lock<std::mutex>& lock) {
  while (num_taken_ < jobs_.size()) {
    const size_t i = num_taken_++;
    const Job job = jobs_[i];
    lock.unlock();
    Status status;
    std::exception_ptr failure;
    try {
      status = job.grammar->prepare(job.drafts);
      if (status.ok() && !job.words.empty()) job.grammar->write_bits(job.words);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    statuses_[i] = std::move(status);
    failures_[i] = failure;
    if (++num_done_ == jobs_.size()) done_cv_.notify_all();
  }
}

Status MaskWorker::finish() {
  std::unique_lock<std::mutex> lock(mu_);
  take_jobs(lock);
  done_cv_.wait(lock, [this] { return num_done_ == jobs_.size(); });
  jobs_.clear();
  for (std::exception_ptr& f : failures_)
    if (f) std::rethrow_exception(std::exchange(f, nullptr));
  for (Status& s : statuses_)
    if (!s.ok()) return std::move(s);
  return ok_status();
}

void MaskWorker::drain() noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return num_done_ == jobs_.size(); });
  jobs_.clear();  // what the jobs left is dropped: the step is already failing
}

void MaskWorker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || num_taken_ < jobs_.size(); });
    if (stop_) return;
    std::optional<RecoverableChecks> scope;  // contain checks as the caller does
    if (recoverable_) scope.emplace();
    take_jobs(lock);
  }
}

}  // namespace pdserve::runner

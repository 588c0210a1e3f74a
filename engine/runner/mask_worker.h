// MaskWorker: computes a step's structured-output masks on a small pool of
// threads while the runner's thread runs the step's forward pass, so that
// the host's mask work overlaps the device's (on CUDA the forward is queued
// and the host waits at the copy of the logits; on the CPU backend the
// forward's pool leaves the masks a core's share). A sample's mask depends
// on every token before it, so the earliest it can be computed is once the
// previous step's tokens are accepted: exactly while this step's forward runs.
//
//   MaskWorker::Pending masks = worker.start({{grammar, drafts, words}, ...});
//   forward(batch);
//   PD_RETURN_IF_ERROR(masks.wait());   // every job done; then apply and sample
//   // or, in one: worker.overlap<Logits>(jobs, [&] { return forward(batch); })
//
// The jobs (one per sequence) are independent: each runs on one thread, in
// no set order, and gives what it gives inline, whatever the number of
// threads. wait() also runs the jobs no thread has taken yet on the
// caller's thread (after the forward, the caller has nothing else to do).
// The grammars, drafts and words belong to the caller, who touches none of
// them until wait() returned; a Pending that is dropped waits in its
// destructor (a step that fails or throws still never leaves a thread
// using them). An exception out of a job (a failed PD_CHECK inside a
// RecoverableChecks step, bad_alloc) is rethrown by wait(), as if the job
// had run inline; of several failures, the first job's.
// Thread-safety: one caller thread; one Pending at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "engine/runner/sequence_grammar.h"

namespace pdserve::runner {

class MaskWorker {
 public:
  struct Job {
    SequenceGrammar* grammar;
    std::span<const int32_t> drafts;  // SequenceGrammar::prepare's
    std::span<uint32_t> words;        // non-empty: SequenceGrammar::write_bits' once prepared
  };

  class [[nodiscard]] Pending {
   public:
    Pending(Pending&& other) noexcept : worker_(other.worker_) { other.worker_ = nullptr; }
    Pending(const Pending&) = delete;
    Pending& operator=(const Pending&) = delete;
    Pending& operator=(Pending&&) = delete;
    ~Pending();
    // Runs the jobs no thread took yet, then blocks until every job ran;
    // the first failed job's status (in the order of the jobs).
    Status wait();

   private:
    friend class MaskWorker;
    explicit Pending(MaskWorker* worker) : worker_(worker) {}
    MaskWorker* worker_;  // null: nothing to wait for
  };

  // Up to `num_threads` threads (at least one), started as steps need them.
  explicit MaskWorker(int num_threads = default_num_threads());
  ~MaskWorker();
  MaskWorker(const MaskWorker&) = delete;
  MaskWorker& operator=(const MaskWorker&) = delete;

  // min(cores - 1, 8), at least 1: with the caller's thread in wait(), one
  // thread a core.
  static int default_num_threads();

  // Hands `jobs` to the threads; with none, returns at once and nothing runs.
  Pending start(std::vector<Job> jobs);

  // start(jobs), `forward()` on this thread, then the wait: the forward's
  // result, or the jobs' failed status when the forward succeeded.
  template <typename T, typename Forward>
  Result<T> overlap(std::vector<Job> jobs, Forward&& forward) {
    Pending pending = start(std::move(jobs));
    Result<T> result = forward();
    Status masked = pending.wait();
    if (result.ok() && !masked.ok()) return masked;
    return result;
  }

 private:
  void run();
  // Runs jobs until none is left to take; `lock` (on mu_) held on entry
  // and return, released while a job runs.
  void take_jobs(std::unique_lock<std::mutex>& lock);
  // Takes the jobs left, then blocks until every job ran (the exception or
  // status they left). Call with nothing pending: returns at once.
  Status finish();
  // As finish(), for ~Pending: what the jobs left is dropped.
  void drain() noexcept;

  const int max_threads_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // jobs to take, or stop_
  std::condition_variable done_cv_;  // every job ran
  std::vector<Job> jobs_;
  size_t num_taken_ = 0;
  size_t num_done_ = 0;
  bool stop_ = false;
  bool recoverable_ = false;                  // the caller was inside a RecoverableChecks scope
  std::vector<Status> statuses_;              // by job
  std::vector<std::exception_ptr> failures_;  // by job
  std::vector<std::thread> threads_;          // last: started when everything above exists
};

}  // namespace pdserve::runner

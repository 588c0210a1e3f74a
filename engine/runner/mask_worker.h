// MaskWorker: computes a step's structured-output masks on a thread of its
// own while the runner's thread runs the step's forward pass, so that the
// host's mask work overlaps the device's (on CUDA the forward is queued
// and the host waits at the copy of the logits; on the CPU backend the
// forward's pool leaves the mask a core's share). A sample's mask depends
// on every token before it, so the earliest it can be computed is once the
// previous step's tokens are accepted: exactly while this step's forward runs.
//
//   MaskWorker::Pending masks = worker.start({{grammar, drafts}, ...});
//   forward(batch);
//   PD_RETURN_IF_ERROR(masks.wait());   // every job prepared; then apply and sample
//   // or, in one: worker.overlap<Logits>(jobs, [&] { return forward(batch); })
//
// The grammars and drafts belong to the caller, who touches none of them
// until wait() returned; a Pending that is dropped waits in its destructor
// (a step that fails or throws still never leaves the thread using them).
// An exception out of a job (a failed PD_CHECK inside a RecoverableChecks
// step, bad_alloc) is rethrown by wait(), as if the job had run inline.
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
  };

  class [[nodiscard]] Pending {
   public:
    Pending(Pending&& other) noexcept : worker_(other.worker_) { other.worker_ = nullptr; }
    Pending(const Pending&) = delete;
    Pending& operator=(const Pending&) = delete;
    Pending& operator=(Pending&&) = delete;
    ~Pending();
    // Blocks until every job ran; the first failed prepare()'s status.
    Status wait();

   private:
    friend class MaskWorker;
    explicit Pending(MaskWorker* worker) : worker_(worker) {}
    MaskWorker* worker_;  // null: nothing to wait for
  };

  MaskWorker() = default;
  ~MaskWorker();
  MaskWorker(const MaskWorker&) = delete;
  MaskWorker& operator=(const MaskWorker&) = delete;

  // Hands `jobs` to the thread (started on the first call with jobs); with
  // none, returns at once and nothing runs.
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
  // Blocks until the thread finished the current jobs (the exception or
  // status they left). Call with nothing pending: returns at once.
  Status finish();
  // As finish(), for ~Pending: what the jobs left is dropped.
  void drain() noexcept;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Job> jobs_;
  bool busy_ = false;  // jobs_ handed over and not finished
  bool stop_ = false;
  bool recoverable_ = false;  // the caller was inside a RecoverableChecks scope
  Status status_;             // the first failed prepare() of the current jobs
  std::exception_ptr failure_;
  std::thread thread_;  // last: started when everything above exists
};

}  // namespace pdserve::runner

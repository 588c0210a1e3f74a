// UcxAgent: the ucp context and worker, the progress thread that makes every
// worker call, and shutdown (see ucx_internal.h).
#include <poll.h>

#include <cstdlib>
#include <future>
#include <string_view>

#include "common/base/logging.h"
#include "kvtransfer/device_copy.h"
#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

Status ucx_error(const std::string& what, ucs_status_t s) {
  return unavailable(what + ": " + ucs_status_string(s));
}

namespace {

// An integer from the environment variable `name`, or `fallback` when unset;
// kInvalidArgument outside [min, max].
Result<long long> env_int(const char* name, long long fallback, long long min, long long max) {
  const char* text = std::getenv(name);
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > max) {
    return invalid_argument(std::string(name) + " must be an integer from " + std::to_string(min) +
                            " to " + std::to_string(max));
  }
  return v;
}

// A size in KB from the environment (bytes returned); see env_int.
Result<size_t> env_kb(const char* name, size_t fallback, long long min_kb, long long max_kb) {
  PD_ASSIGN_OR_RETURN(const long long kb,
                      env_int(name, static_cast<long long>(fallback >> 10), min_kb, max_kb));
  return static_cast<size_t>(kb) << 10;
}

}  // namespace

Status UcxAgent::start() {
  ucp_config_t* config = nullptr;
  ucs_status_t s = ucp_config_read(nullptr, nullptr, &config);
  if (s != UCS_OK) return ucx_error("ucp_config_read", s);
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_RMA | UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  params.mt_workers_shared = 1;
  s = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (s != UCS_OK) return ucx_error("ucp_init", s);

  ucp_context_attr_t attr{};
  attr.field_mask = UCP_ATTR_FIELD_MEMORY_TYPES;
  if (ucp_context_query(context_, &attr) == UCS_OK) {
    cuda_memory_ = (attr.memory_types & UCS_BIT(UCS_MEMORY_TYPE_CUDA)) != 0;
  }

  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_MULTI;  // ucp_worker_signal comes from caller threads
  s = ucp_worker_create(context_, &wp, &worker_);
  if (s != UCS_OK) return ucx_error("ucp_worker_create", s);
  s = ucp_worker_get_efd(worker_, &efd_);
  if (s != UCS_OK) return ucx_error("ucp_worker_get_efd", s);

  ucp_address_t* addr = nullptr;
  size_t addr_len = 0;
  s = ucp_worker_get_address(worker_, &addr, &addr_len);
  if (s != UCS_OK) return ucx_error("ucp_worker_get_address", s);
  worker_address_.assign(reinterpret_cast<const char*>(addr), addr_len);
  ucp_worker_release_address(worker_, addr);

  for (auto [id, cb] :
       {std::pair{kNotifyAm, &UcxAgent::on_notify_am}, std::pair{kAckAm, &UcxAgent::on_ack_am},
        std::pair{kDataAm, &UcxAgent::on_data_am}, std::pair{kAbortAm, &UcxAgent::on_abort_am},
        std::pair{kHelloAm, &UcxAgent::on_hello_am},
        std::pair{kChallengeAm, &UcxAgent::on_challenge_am},
        std::pair{kAuthAm, &UcxAgent::on_auth_am}, std::pair{kWelcomeAm, &UcxAgent::on_welcome_am},
        std::pair{kPlanAm, &UcxAgent::on_plan_am},
        std::pair{kPlanAnswerAm, &UcxAgent::on_plan_answer_am},
        std::pair{kProbeAm, &UcxAgent::on_probe_am},
        std::pair{kProbeAnswerAm, &UcxAgent::on_probe_answer_am}}) {
    ucp_am_handler_param_t hp{};
    hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                    UCP_AM_HANDLER_PARAM_FIELD_ARG | UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
    hp.id = id;
    hp.cb = cb;
    hp.arg = this;
    hp.flags = UCP_AM_FLAG_WHOLE_MSG;
    s = ucp_worker_set_am_recv_handler(worker_, &hp);
    if (s != UCS_OK) return ucx_error("ucp_worker_set_am_recv_handler", s);
  }
  if (const char* proto = std::getenv("PDSERVE_KV_UCX_PROTOCOL"); proto != nullptr) {
    std::string_view p(proto);
    if (p == "put") {
      protocol_ = Protocol::kPut;
    } else if (p != "am" && !p.empty()) {
      return invalid_argument("PDSERVE_KV_UCX_PROTOCOL must be 'am' or 'put'");
    }
  }
  if (const char* staging = std::getenv("PDSERVE_KV_UCX_STAGING"); staging != nullptr) {
    std::string_view v(staging);
    if (v == "always") {
      stage_all_ = true;
    } else if (v != "auto" && !v.empty()) {
      return invalid_argument("PDSERVE_KV_UCX_STAGING must be 'auto' or 'always'");
    }
  }
  if (stage_all_ && protocol_ == Protocol::kPut) {
    return invalid_argument("PDSERVE_KV_UCX_STAGING=always needs the am protocol");
  }
  PD_ASSIGN_OR_RETURN(const size_t chunk,
                      env_kb("PDSERVE_KV_UCX_STAGING_CHUNK_KB", kDefaultStageChunk, 4, 1 << 20));
  PD_ASSIGN_OR_RETURN(eager_max_, env_kb("PDSERVE_KV_UCX_EAGER_MAX_KB", kDefaultEagerMax, 0, 1024));
  stage_chunk_ = chunk;
  recv_stage_ = std::make_unique<StagingPool>(chunk, kStageBuffers);
  PD_ASSIGN_OR_RETURN(const long long spin_us,
                      env_int("PDSERVE_KV_UCX_SPIN_US", spin_.count(), 0, 1000000));
  spin_ = std::chrono::microseconds(spin_us);
  thread_ = std::thread([this] { progress_loop(); });
  return ok_status();
}

void UcxAgent::shutdown() {
  if (thread_.joinable()) {
    submit([this] {
      {
        // Endpoints first: closing them completes their requests, so no UCX
        // operation reads a transfer's memory once it is cancelled below.
        std::lock_guard lock(mu_);
        for (auto& [id, peer] : peers_) close_endpoint(*peer);
      }
      for (auto& [id, job] : jobs_) transfers_.complete(id, cancelled("agent shut down"));
      jobs_.clear();
      plans_.clear();  // their pins
      stop_ = true;
    });
    thread_.join();
  }
  for (const Region& r : regions_.all()) {
    if (r.backend_handle != nullptr)
      ucp_mem_unmap(context_, static_cast<ucp_mem_h>(r.backend_handle));
  }
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  if (context_ != nullptr) ucp_cleanup(context_);
  worker_ = nullptr;
  context_ = nullptr;
}

void UcxAgent::submit(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    commands_.push_back(std::move(fn));
  }
  wake();
}

Status UcxAgent::on_worker(std::function<Status()> fn) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> result = done->get_future();
  submit([fn = std::move(fn), done] { done->set_value(fn()); });
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return deadline_exceeded("ucx progress thread did not answer within 10 s");
  }
  return result.get();
}

void UcxAgent::progress_loop() {
  // Staging buffers and copy streams are made on this thread: on this agent's GPU.
  if (Status s = use_device(options_.device); !s.ok()) {
    PD_LOG(WARN) << "kvtransfer ucx " << options_.name << ": " << s.to_string();
  }
  auto busy_until = std::chrono::steady_clock::now();
  while (!stop_) {
    std::deque<std::function<void()>> commands;
    {
      std::lock_guard lock(mu_);
      commands.swap(commands_);
    }
    for (auto& fn : commands) fn();
    unsigned events = 0;
    while (ucp_worker_progress(worker_) != 0) ++events;
    send_acks();
    plans_.expire(std::chrono::steady_clock::now());
    std::vector<uint64_t> ids;
    bool posting = false;  // a job with puts left to post never waits for an event
    for (auto& [id, job] : jobs_) {
      ids.push_back(id);
      posting |= job->phase == UcxJob::Phase::kPosting;
    }
    for (uint64_t id : ids) {
      auto it = jobs_.find(id);
      if (it != jobs_.end()) drive(*it->second);
    }
    auto now = std::chrono::steady_clock::now();
    posting |= receiving_ > 0 || !acks_.empty();
    // While transfers are in flight here (sent or being assembled), more events
    // are due and UCX may hold internal pending work that no fd announces:
    // poll longer and sleep at most 1 ms.
    bool active = !jobs_.empty() || !assemblies_.empty();
    auto spin = active ? std::max(spin_, std::chrono::microseconds(2000)) : spin_;
    if (events != 0 || !commands.empty() || posting) busy_until = now + spin;
    if (now < busy_until || stop_) continue;  // spin briefly after activity: low latency
    ucs_status_t s = ucp_worker_arm(worker_);
    if (s == UCS_ERR_BUSY) continue;
    pollfd pfd{efd_, POLLIN, 0};
    ::poll(&pfd, 1, active ? 1 : 5);
  }
}

}  // namespace pdserve::kvtransfer::ucx

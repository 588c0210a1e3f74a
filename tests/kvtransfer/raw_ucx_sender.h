// A bare UCX worker with one endpoint to a worker address, for tests that
// play a process which has an agent's metadata but not the cluster token.
#pragma once

#include <gtest/gtest.h>
#include <ucp/api/ucp.h>

#include <string>

namespace pdserve::kvtransfer::testing {

// A bare UCX worker with one endpoint to `address`.
class RawUcxSender {
 public:
  explicit RawUcxSender(const std::string& address) {
    ucp_config_t* config = nullptr;
    EXPECT_EQ(ucp_config_read(nullptr, nullptr, &config), UCS_OK);
    ucp_params_t params{};
    params.field_mask = UCP_PARAM_FIELD_FEATURES;
    params.features = UCP_FEATURE_AM | UCP_FEATURE_RMA;
    EXPECT_EQ(ucp_init(&params, config, &context_), UCS_OK);
    ucp_config_release(config);
    ucp_worker_params_t wp{};
    wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wp.thread_mode = UCS_THREAD_MODE_SINGLE;
    EXPECT_EQ(ucp_worker_create(context_, &wp, &worker_), UCS_OK);
    ucp_ep_params_t ep{};
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS;
    ep.address = reinterpret_cast<const ucp_address_t*>(address.data());
    EXPECT_EQ(ucp_ep_create(worker_, &ep, &ep_), UCS_OK);
  }
  ~RawUcxSender() {
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = UCP_EP_CLOSE_FLAG_FORCE;
    void* req = ucp_ep_close_nbx(ep_, &p);
    if (UCS_PTR_IS_PTR(req)) {
      while (ucp_request_check_status(req) == UCS_INPROGRESS) ucp_worker_progress(worker_);
      ucp_request_free(req);
    }
    ucp_worker_destroy(worker_);
    ucp_cleanup(context_);
  }

  // Puts `len` bytes at `remote_addr` with a packed rkey and flushes; false
  // when UCX refuses the rkey or the put.
  bool put(const void* data, size_t len, uint64_t remote_addr, const std::string& packed_rkey) {
    ucp_rkey_h rkey = nullptr;
    if (ucp_ep_rkey_unpack(ep_, packed_rkey.data(), &rkey) != UCS_OK) return false;
    ucp_request_param_t p{};
    bool ok =
        wait(ucp_put_nbx(ep_, data, len, remote_addr, rkey, &p)) && wait(ucp_ep_flush_nbx(ep_, &p));
    ucp_rkey_destroy(rkey);
    return ok;
  }

  // Sends one eager active message and waits until it left.
  void send(unsigned am_id, const void* header, size_t header_len, const void* data, size_t len) {
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = UCP_AM_SEND_FLAG_EAGER;
    ucs_status_ptr_t req = ucp_am_send_nbx(ep_, am_id, header, header_len, data, len, &p);
    ASSERT_FALSE(UCS_PTR_IS_ERR(req));
    if (req == nullptr) return;
    while (ucp_request_check_status(req) == UCS_INPROGRESS) ucp_worker_progress(worker_);
    ucp_request_free(req);
  }

 private:
  bool wait(ucs_status_ptr_t req) {
    if (UCS_PTR_IS_ERR(req)) return false;
    if (req == nullptr) return true;
    ucs_status_t s;
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS) ucp_worker_progress(worker_);
    ucp_request_free(req);
    return s == UCS_OK;
  }

  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  ucp_ep_h ep_ = nullptr;
};

}  // namespace pdserve::kvtransfer::testing

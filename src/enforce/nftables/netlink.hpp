// The enforcer's only door to the kernel: a netfilter netlink socket behind a small interface, so
// unit tests of batch building pass a fake (Katran's adapter idea) and the real one is tested
// against the kernel in a network namespace.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"

struct nlmsghdr;

namespace picket::enforce::nftables {

// What the kernel said about one message: `error` is a positive errno (0 = acknowledged), `detail`
// the extended-ack text when the kernel gave one.
struct KernelAnswer {
  uint32_t seq = 0;
  int error = 0;
  std::string detail;
};

class NetlinkSocket {
 public:
  virtual ~NetlinkSocket() = default;
  // Sends one nf_tables transaction (NFNL_MSG_BATCH_BEGIN, messages, NFNL_MSG_BATCH_END, every
  // message with its own sequence number) and returns every error the kernel reported, by
  // sequence number. Empty = committed. The kernel applies a transaction entirely or not at all.
  // An Error means the transaction could not be sent or answered (errno text kept).
  virtual core::Result<std::vector<KernelAnswer>> transact(std::span<const uint8_t> batch) = 0;
  // Sends one dump request (NLM_F_DUMP) and hands every reply message to `on_message` until the
  // dump ends. Returns the kernel's final answer (error 0, or e.g. ENOENT for a missing set).
  virtual core::Result<KernelAnswer> dump(std::span<const uint8_t> request,
                                          const std::function<void(const nlmsghdr&)>& on_message) = 0;
};

// A NETLINK_NETFILTER socket in the calling thread's network namespace. Errors: "nftables: netlink
// socket: <errno text>" (e.g. when netfilter netlink is missing from the kernel).
core::Result<std::unique_ptr<NetlinkSocket>> open_kernel_socket();

}  // namespace picket::enforce::nftables

// Test scaffolding for enforcers against the real kernel: two network namespaces joined by a veth
// pair (never connected to the root namespace, no default route, addresses from 198.18.0.0/15 and
// 2001:db8::/32 only), and TCP helpers that run inside a namespace.
//
// The test process itself never changes namespace: in_netns() runs a function on a short-lived
// thread that joins the namespace with setns() (which moves only the calling thread); sockets
// created there stay in that namespace and can be used from any thread afterwards. That is also
// how an enforcer is opened "inside" a namespace: its netlink socket belongs to it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "sys/command.hpp"
#include "sys/netns.hpp"
#include "core/unique_fd.hpp"

namespace picket::enforce::testing {

using std::chrono::milliseconds;

// Commands and namespaces come from src/sys (shared with the live demo).
using sys::CommandResult;
using sys::in_netns;
using sys::run_command;
inline core::Result<void> join_netns(const std::string& name) { return sys::enter_netns(name); }

// Why kernel tests cannot run here ("needs root", "no `ip` command", ...), empty when they can.
std::string kernel_test_skip_reason();

// The topology every kernel test uses:
//   host ns: veth "pk0"  198.18.0.1/16  2001:db8::1/64              (where the enforcer runs)
//   peer ns: veth "pk1"  198.18.0.2, 198.18.0.3, 198.18.1.2 /16      (senders)
//                        2001:db8::2, 2001:db8::3, 2001:db8::1:2 /64
// Deleted (both namespaces) by the destructor, also when a test fails.
class NetnsPair {
 public:
  static core::Result<std::unique_ptr<NetnsPair>> create();
  ~NetnsPair();
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  const std::string& host() const noexcept { return host_; }
  const std::string& peer() const noexcept { return peer_; }
  // Runs `nft args...` in the host namespace.
  CommandResult nft(std::vector<std::string> args, milliseconds limit = milliseconds(10000)) const;

 private:
  NetnsPair(std::string host, std::string peer) : host_(std::move(host)), peer_(std::move(peer)) {}
  std::string host_;
  std::string peer_;
};

// --- TCP inside a namespace (all bounded by timeouts) ---------------------------------------------
// A listening socket on addr:port in namespace `ns`.
core::Result<core::UniqueFd> tcp_listen(const std::string& ns, const core::IpAddress& addr, uint16_t port);
// Connects from src (bound) to dst:port; returns the connected socket, or an Error after `limit`.
core::Result<core::UniqueFd> tcp_connect(const std::string& ns, const core::IpAddress& src,
                                         const core::IpAddress& dst, uint16_t port, milliseconds limit);
// Starts `count` connects at once from src and returns how many completed within `limit`.
core::Result<int> tcp_connect_burst(const std::string& ns, const core::IpAddress& src, const core::IpAddress& dst,
                                    uint16_t port, int count, milliseconds limit);
// Accepts one connection (waits up to `limit`).
core::Result<core::UniqueFd> tcp_accept(int listen_fd, milliseconds limit);
// Accepts and closes everything pending (a listener's backlog) without waiting.
int drain_accept(int listen_fd);
// Sends `text`; true when the kernel took it.
bool send_text(int fd, const std::string& text);
// Receives up to 256 bytes, waiting at most `limit`; empty on timeout.
std::string recv_text(int fd, milliseconds limit);

}  // namespace picket::enforce::testing

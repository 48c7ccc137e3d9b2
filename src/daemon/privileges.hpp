// Least privilege and service-manager integration for `picket run`.
//
// keep_only_network_capabilities(): once every socket and file is open, the daemon keeps just
// CAP_NET_ADMIN (firewall, conntrack, re-opening netlink) and CAP_NET_RAW (packet sockets), plus
// CAP_SYS_PTRACE when `keep_ptrace` (the connection table names the process owning each socket
// through /proc/PID/fd, which the kernel shows only to a reader with at least the owner's
// capabilities — without it every root daemon's sockets would be anonymous) —
// permitted, effective, inheritable and ambient, so the ipset backend's iptables/ipset children
// keep them too — and clears the bounding set of everything else. Capabilities are per thread:
// call it before the daemon starts any thread (threads started later inherit the reduced set).
// Without libcap-ng support or when not root it does nothing and says why.
//
// notify_*: sd_notify(3) messages for a systemd unit with Type=notify; no-ops outside systemd.
#pragma once

#include <string>

#include "core/result.hpp"

namespace picket::daemon {

// Ok(description) when applied, Ok("") when there was nothing to drop (not root), Error on failure.
core::Result<std::string> keep_only_network_capabilities(bool keep_ptrace);

void notify_ready(const std::string& status);
void notify_reloading();
void notify_stopping();
void notify_status(const std::string& status);

}  // namespace picket::daemon

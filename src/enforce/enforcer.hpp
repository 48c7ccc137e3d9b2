// Enforcer: the seam between policy and a firewall. One implementation per folder under
// src/enforce/ (nftables/ today; ipset/, exec/, dry_run/ later), chosen by configuration.
//
// Contract, for every backend:
// - One thread drives an Enforcer (the daemon's control thread); implementations need no locks.
// - Backends never log: every failure comes back as an Error whose message names the operation
//   and keeps the errno text ("nftables: add elements to set ban4: Operation not permitted").
// - init() creates the backend's own objects and is idempotent: calling it again (or after
//   remove(), or after someone deleted the objects by hand) recreates what is missing and keeps
//   the bans that are still there. Call it before anything else.
// - apply() validates the whole batch first (validate_decision); if any decision is invalid,
//   nothing is applied and the error names the decision. Within a valid batch, decisions take
//   effect in order: a block followed by an unblock of the same target leaves it unblocked.
//   Backends that can (nftables) apply the batch atomically: all of it or none of it.
// - block: `target` is a host prefix (/32, /128) or a shorter prefix. `duration` is the ban's
//   lifetime, held by the kernel where it can (the ban expires by itself, even if picket dies);
//   0 means no timeout. Blocking a target that is already blocked restarts its timer with the
//   new duration (escalation), it never adds a second entry.
// - unblock: lifts exactly `target` (not narrower or wider bans). Unblocking what is not blocked
//   is not an error.
// - rate_limit: `target` is a host prefix (the victim); new connections (TCP SYN without ACK; for
//   UDP, every datagram) to target:`port`/`proto` above `rate_per_second` are dropped for
//   `duration`. Again for the same (target, port, proto) replaces rate and duration.
//   unrate_limit lifts it. Backends without rate limiting return an error for these.
// - list() reports what the kernel holds now, with the time left; it is how the daemon
//   reconciles its store after a restart. Ban::detector is filled when the backend can keep it
//   next to the element; offence and reason are the store's business.
// - flush() removes every ban and rate limit and keeps the backend's objects; remove() deletes
//   the backend's objects entirely (on exit with `on_exit: remove`). Neither touches anything the
//   backend does not own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/decision.hpp"
#include "core/result.hpp"

namespace picket::enforce {

// An aggregate mitigation as the kernel holds it (what list_rate_limits() returns).
struct RateLimit {
  core::Prefix target;            // a host prefix: the protected address
  uint16_t port = 0;
  uint8_t proto = 0;              // 6 TCP, 17 UDP
  uint32_t rate_per_second = 0;
  core::Duration remaining;       // 0 = no timeout
};

class Enforcer {
 public:
  virtual ~Enforcer() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual core::Result<void> init() = 0;
  virtual core::Result<void> apply(std::span<const core::Decision> batch) = 0;
  virtual core::Result<std::vector<core::Ban>> list() const = 0;
  // Rate limits in force; backends without them return an empty list.
  virtual core::Result<std::vector<RateLimit>> list_rate_limits() const { return std::vector<RateLimit>{}; }
  virtual core::Result<void> flush() = 0;
  virtual core::Result<void> remove() = 0;
};

// Longest duration a backend accepts (policy caps escalation well below this).
inline constexpr core::Duration kMaxBanDuration = core::Duration::seconds(int64_t{10} * 365 * 86400);

// Checks what every backend needs before touching anything: a target with a family, a duration in
// [0, kMaxBanDuration], and for rate_limit a host target, a port, proto 6 or 17 and a rate > 0.
// The error says what is wrong ("rate_limit 198.18.0.1: proto 1 is not TCP (6) or UDP (17)").
core::Result<void> validate_decision(const core::Decision& d);

// "block 198.18.0.0/24 for 10m" — for error messages and logs.
std::string describe_decision(const core::Decision& d);

}  // namespace picket::enforce

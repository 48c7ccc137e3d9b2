// Decision and Ban: what policy asks the enforcers to do, and what an enforcer reports back.
// Plain values shared by policy, enforce and store (which depend on core only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/ip_address.hpp"
#include "core/time.hpp"

namespace picket::core {

enum class DecisionAction : uint8_t {
  block,        // drop everything from `target` for `duration`
  unblock,      // lift a block early
  rate_limit,   // aggregate mitigation: limit new connections to `target` (an address) on
                // `port`/`proto` to `rate_per_second` for `duration` (spoofed floods)
  unrate_limit, // lift a rate limit early
};

struct Decision {
  DecisionAction action = DecisionAction::block;
  Prefix target;                // a host prefix (/32, /128) for an address ban
  Duration duration;            // how long the kernel keeps it (0 for unblock)
  Timestamp decided_at;         // packet time (replay) or wall time (live) of the decision
  uint16_t port = 0;            // rate_limit only
  uint8_t proto = 0;            // rate_limit only (6 TCP, 17 UDP)
  uint32_t rate_per_second = 0; // rate_limit only
  uint32_t offence = 1;         // how many times this target has been banned (escalation)
  std::string detector;         // which detector's finding led to it ("manual" for the CLI)
  std::string reason;           // one human sentence
};

// A ban as an enforcer or the store knows it.
struct Ban {
  Prefix target;
  Duration remaining;           // time left in the kernel (0 = no timeout)
  std::string detector;
  std::string reason;
  uint32_t offence = 1;
};

std::string_view decision_action_name(DecisionAction a) noexcept;

}  // namespace picket::core

// FindingResponder: what happens to findings after the engine has sorted them — policy,
// decisions, enforcement. The engine calls it for each finding, in the fixed order it writes
// alerts, and once at the end of each tick; the app plugs policy in here.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "detect/finding.hpp"
#include "output/event.hpp"

namespace picket::engine {

class FindingResponder {
 public:
  struct Response {
    bool allowlisted = false;                 // the offender is allowlisted: alert only
    bool blocked = false;                     // a block or mitigation was decided (alert.action "blocked")
    std::vector<output::Event> events;        // decision events, written right after the alert
  };
  virtual ~FindingResponder() = default;
  virtual Response respond(const detect::Finding& f, core::Timestamp now) = 0;
  // End of a tick: apply what was decided; may return events to write (e.g. an enforcer failure).
  virtual std::vector<output::Event> end_tick(core::Timestamp now) = 0;
  virtual uint64_t decisions() const noexcept = 0;
};

}  // namespace picket::engine

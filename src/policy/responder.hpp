// PolicyResponder: the engine's FindingResponder backed by Policy and an Enforcer. Decisions
// become `decision` events at once and are applied to the enforcer in one batch per tick. A
// failing enforcer does not stop detection: the failure becomes an event, and the batch is kept
// to be retried with back-off (in packet time).
#pragma once

#include <string>
#include <vector>

#include "core/decision.hpp"
#include "engine/responder.hpp"
#include "enforce/enforcer.hpp"
#include "policy/policy.hpp"

namespace picket::policy {

class PolicyResponder : public engine::FindingResponder {
 public:
  // `enforcer` may be null in IDS mode (decisions are events only).
  PolicyResponder(Policy& policy, enforce::Enforcer* enforcer);

  Response respond(const detect::Finding& f, core::Timestamp now) override;
  std::vector<output::Event> end_tick(core::Timestamp now) override;
  uint64_t decisions() const noexcept override { return decisions_; }
  uint64_t enforcer_failures() const noexcept { return failures_; }

 private:
  Policy& policy_;
  enforce::Enforcer* enforcer_;
  std::vector<core::Decision> pending_;
  uint64_t decisions_ = 0;
  uint64_t failures_ = 0;
  core::Timestamp retry_at_;
  core::Duration backoff_ = core::Duration::seconds(1);
};

// The `decision` event for `d` (docs/events.md).
output::Event decision_event(const core::Decision& d, std::string_view enforcer, bool dry_run);

}  // namespace picket::policy

// PolicyResponder: the engine's FindingResponder backed by Policy and an Enforcer. Decisions
// become `decision` events at once and are applied to the enforcer in one batch per tick. A
// failing enforcer does not stop detection: the failure becomes an event, and the batch is kept
// to be retried with back-off (in packet time).
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/decision.hpp"
#include "engine/responder.hpp"
#include "enforce/enforcer.hpp"
#include "policy/policy.hpp"

namespace picket::policy {

// Where decisions are made durable before they reach the kernel (the daemon's store). Called from
// end_tick on the responder's thread.
class DecisionJournal {
 public:
  virtual ~DecisionJournal() = default;
  // Records newly decided blocks and rate limits (each decision once, however often its apply is
  // retried). An error is reported as an event; enforcement goes on regardless.
  virtual core::Result<void> record(std::span<const core::Decision> batch, core::Timestamp now) = 0;
  // The enforcer confirmed (or refused) `batch`.
  virtual void applied(std::span<const core::Decision> batch, bool ok) = 0;
};

class PolicyResponder : public engine::FindingResponder {
 public:
  // `enforcer` may be null in IDS mode (decisions are events only).
  PolicyResponder(Policy& policy, enforce::Enforcer* enforcer);

  Response respond(const detect::Finding& f, core::Timestamp now) override;
  std::vector<output::Event> end_tick(core::Timestamp now) override;
  uint64_t decisions() const noexcept override { return decisions_; }
  uint64_t enforcer_failures() const noexcept { return failures_; }
  uint64_t journal_failures() const noexcept { return journal_failures_; }
  // Decisions waiting for the enforcer (after a failure, until a retry succeeds).
  size_t pending() const noexcept { return pending_.size(); }
  // The last enforcer error, empty while the last attempt succeeded (for health).
  const std::string& last_error() const noexcept { return last_error_; }
  // Queues decisions that are already durable (a re-apply at start that failed) for the next
  // end_tick's apply, with the usual retry.
  void requeue(std::span<const core::Decision> batch);
  // Hands over every decision not yet applied (a config reload moves them to a new responder).
  std::vector<core::Decision> take_pending() {
    unrecorded_ = 0;
    return std::exchange(pending_, {});
  }
  // Makes decisions durable before they are applied; not owned, may be null.
  void set_journal(DecisionJournal* journal) noexcept { journal_ = journal; }

 private:
  Policy& policy_;
  enforce::Enforcer* enforcer_;
  DecisionJournal* journal_ = nullptr;
  std::vector<core::Decision> pending_;
  size_t unrecorded_ = 0;  // the last `unrecorded_` of pending_ are not journaled yet
  std::string last_error_;
  uint64_t journal_failures_ = 0;
  uint64_t decisions_ = 0;
  uint64_t failures_ = 0;
  core::Timestamp retry_at_;
  core::Duration backoff_ = core::Duration::seconds(1);
};

// The `decision` event for `d` (docs/events.md).
output::Event decision_event(const core::Decision& d, std::string_view enforcer, bool dry_run);

}  // namespace picket::policy

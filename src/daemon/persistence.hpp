// The daemon's link between policy, the enforcer and the store:
// - StoreHistory: repeat offences counted from the store (they survive restarts).
// - StoreJournal: every decision is committed to the store before the enforcer sees it, and
//   marked applied once the kernel has it — so a kill -9 at any point loses no ban.
// - reconcile_at_start: makes the kernel match the store (re-apply what is missing with its
//   remaining time, drop what expired, remove stray elements from picket's own sets) and tells
//   policy which decisions are still in force.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "enforce/enforcer.hpp"
#include "policy/policy.hpp"
#include "policy/responder.hpp"
#include "store/store.hpp"

namespace picket::daemon {

class StoreHistory : public policy::OffenderHistory {
 public:
  explicit StoreHistory(store::Store& store) : store_(store) {}
  // A store read error counts as no prior offence (the ban is still made, at base length).
  uint32_t prior_offences(const core::Prefix& target, core::Timestamp now, core::Duration forgive_after) override;
  // Nothing to do: StoreJournal::record() counts the offence when the ban is stored.
  void record_ban(const core::Prefix&, core::Timestamp) override {}
  uint64_t read_errors() const noexcept { return read_errors_; }

 private:
  store::Store& store_;
  uint64_t read_errors_ = 0;
};

class StoreJournal : public policy::DecisionJournal {
 public:
  explicit StoreJournal(store::Store& store) : store_(store) {}
  core::Result<void> record(std::span<const core::Decision> batch, core::Timestamp now) override;
  void applied(std::span<const core::Decision> batch, bool ok) override;
  uint64_t errors() const noexcept { return errors_; }

 private:
  store::Store& store_;
  uint64_t errors_ = 0;
};

struct ReconcileReport {
  size_t reapplied = 0;          // blocks and rate limits (re-)applied with their remaining time
  size_t removed_from_kernel = 0;  // stray or expired kernel elements removed
  size_t expired = 0;            // store rows dropped because their time was up
  size_t restored_to_policy = 0;  // decisions policy now knows are in force
  // When the enforcer refused the plan: why, and the whole batch (for the responder's retry).
  std::string apply_error;
  std::vector<core::Decision> unapplied;
};

// Runs at start, after enforcer.init(). An Error when the store or the kernel cannot be read; a
// refused apply is not an error but reported in the report (the daemon queues it for retry).
core::Result<ReconcileReport> reconcile_at_start(store::Store& store, enforce::Enforcer& enforcer,
                                                 policy::Policy& policy, core::Timestamp now);

}  // namespace picket::daemon

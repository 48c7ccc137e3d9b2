// ConntrackCleanupEnforcer: wraps any backend (nftables in the daemon) and, after each successful
// apply(), removes the blocked sources' existing connections from conntrack (ConntrackCleaner).
//
// Contract:
// - Every Enforcer call goes to the inner backend unchanged; name() is the inner one's.
// - After apply() succeeds, each target whose last decision in the batch is a block is cleaned
//   once (a block undone by an unblock later in the same batch is not; a target blocked twice is
//   cleaned once). A failed apply() cleans nothing.
// - A cleanup failure never fails apply(): the ban is in place, which is what matters. It is
//   counted in stats() (with the last error's text) for health and events; the other targets of
//   the batch are still cleaned.
#pragma once

#include <memory>
#include <string>

#include "enforce/conntrack/conntrack_cleaner.hpp"
#include "enforce/enforcer.hpp"

namespace picket::enforce::conntrack {

struct CleanupStats {
  uint64_t cleanups = 0;          // targets cleaned successfully
  uint64_t entries_removed = 0;   // conntrack entries the kernel deleted
  uint64_t failures = 0;          // targets whose cleanup failed
  std::string last_error;         // the most recent failure's message, empty if none
};

class ConntrackCleanupEnforcer final : public Enforcer {
 public:
  ConntrackCleanupEnforcer(std::unique_ptr<Enforcer> inner, ConntrackCleaner cleaner)
      : inner_(std::move(inner)), cleaner_(std::move(cleaner)) {}

  std::string_view name() const noexcept override { return inner_->name(); }
  core::Result<void> init() override { return inner_->init(); }
  core::Result<void> apply(std::span<const core::Decision> batch) override;
  core::Result<std::vector<core::Ban>> list() const override { return inner_->list(); }
  core::Result<std::vector<RateLimit>> list_rate_limits() const override { return inner_->list_rate_limits(); }
  core::Result<void> flush() override { return inner_->flush(); }
  core::Result<void> remove() override { return inner_->remove(); }

  const CleanupStats& stats() const noexcept { return stats_; }
  Enforcer& inner() noexcept { return *inner_; }

 private:
  std::unique_ptr<Enforcer> inner_;
  ConntrackCleaner cleaner_;
  CleanupStats stats_;
};

}  // namespace picket::enforce::conntrack

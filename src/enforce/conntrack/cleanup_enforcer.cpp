#include "enforce/conntrack/cleanup_enforcer.hpp"

#include <map>

namespace picket::enforce::conntrack {

core::Result<void> ConntrackCleanupEnforcer::apply(std::span<const core::Decision> batch) {
  if (auto r = inner_->apply(batch); !r) return r;
  // Last block/unblock per target wins, as in the backend (rate limits do not concern bans).
  std::map<core::Prefix, bool> blocked;
  for (const auto& d : batch) {
    if (d.action == core::DecisionAction::block) blocked[d.target] = true;
    if (d.action == core::DecisionAction::unblock) blocked[d.target] = false;
  }
  for (const auto& [target, is_blocked] : blocked) {
    if (!is_blocked) continue;
    auto removed = cleaner_.remove_from(target);
    if (!removed) {
      ++stats_.failures;
      stats_.last_error = removed.error().message;
      continue;
    }
    ++stats_.cleanups;
    stats_.entries_removed += *removed;
  }
  return {};
}

}  // namespace picket::enforce::conntrack

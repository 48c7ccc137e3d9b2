#include "store/reconcile.hpp"

#include <algorithm>
#include <map>

namespace picket::store {

ReconcilePlan plan_reconcile(const std::vector<StoredDecision>& stored, const std::vector<core::Ban>& kernel,
                             core::Timestamp now) {
  ReconcilePlan plan;
  // The kernel's bans by target; a duplicate keeps the longest remaining time (0 = none wins).
  std::map<core::Prefix, const core::Ban*> in_kernel;
  for (const auto& ban : kernel) {
    auto [it, inserted] = in_kernel.emplace(ban.target, &ban);
    if (!inserted) {
      const core::Ban* old = it->second;
      bool longer = ban.remaining.ns == 0 || (old->remaining.ns != 0 && ban.remaining > old->remaining);
      if (longer) it->second = &ban;
    }
  }

  std::map<core::Prefix, bool> live_blocks;  // targets with a live stored block
  for (const auto& sd : stored) {
    const core::Decision& d = sd.decision;
    bool permanent = !sd.expires_at.has_value();
    core::Duration left = sd.remaining(now);
    if (!permanent && left <= kMinReapply) {
      plan.expired.push_back(d.target);
      continue;
    }
    if (d.action == core::DecisionAction::block) {
      live_blocks[d.target] = true;
      auto it = in_kernel.find(d.target);
      if (it != in_kernel.end()) {
        core::Duration k = it->second->remaining;
        bool kernel_permanent = k.ns == 0;
        bool fresh_enough = permanent ? kernel_permanent : (kernel_permanent || k + kReconcileSlack >= left);
        if (fresh_enough) continue;  // present and long enough: untouched
      }
    } else if (d.action != core::DecisionAction::rate_limit) {
      continue;  // the store only holds blocks and rate limits
    }
    core::Decision again = d;
    again.duration = permanent ? core::Duration{} : left;
    plan.reapply.push_back(std::move(again));
  }

  for (const auto& [target, ban] : in_kernel) {
    if (live_blocks.count(target) != 0) continue;
    core::Decision un;
    un.action = core::DecisionAction::unblock;
    un.target = target;
    un.decided_at = now;
    un.offence = ban->offence;
    un.detector = ban->detector;
    un.reason = "reconcile: in the kernel but not active in the store";
    plan.remove_from_kernel.push_back(std::move(un));
  }

  auto by_target = [](const core::Decision& a, const core::Decision& b) {
    if (a.target != b.target) return a.target < b.target;
    if (a.action != b.action) return a.action < b.action;
    if (a.proto != b.proto) return a.proto < b.proto;
    return a.port < b.port;
  };
  std::sort(plan.reapply.begin(), plan.reapply.end(), by_target);
  std::sort(plan.remove_from_kernel.begin(), plan.remove_from_kernel.end(), by_target);
  std::sort(plan.expired.begin(), plan.expired.end());
  plan.expired.erase(std::unique(plan.expired.begin(), plan.expired.end()), plan.expired.end());
  return plan;
}

}  // namespace picket::store

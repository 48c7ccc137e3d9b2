#include "daemon/persistence.hpp"

#include <algorithm>

#include "store/reconcile.hpp"

namespace picket::daemon {

uint32_t StoreHistory::prior_offences(const core::Prefix& target, core::Timestamp now, core::Duration forgive_after) {
  auto o = store_.offender(target);
  if (!o) {
    ++read_errors_;
    return 0;
  }
  if (!o->has_value()) return 0;
  const store::Offender& off = **o;
  if (now - off.last_offence_at >= forgive_after) return 0;
  return off.offences;
}

core::Result<void> StoreJournal::record(std::span<const core::Decision> batch, core::Timestamp now) {
  auto r = store_.record(batch, now);
  if (!r) ++errors_;
  return r;
}

void StoreJournal::applied(std::span<const core::Decision> batch, bool ok) {
  if (!store_.mark_applied(batch, ok)) ++errors_;
}

core::Result<ReconcileReport> reconcile_at_start(store::Store& store, enforce::Enforcer& enforcer,
                                                 policy::Policy& policy, core::Timestamp now) {
  ReconcileReport report;
  auto stored = store.active(now);
  if (!stored) return core::make_error("reconcile: read the store: " + stored.error().message);
  auto kernel = enforcer.list();
  if (!kernel) return core::make_error("reconcile: list the kernel's bans: " + kernel.error().message);
  const store::ReconcilePlan plan = store::plan_reconcile(*stored, *kernel, now);

  // Rows whose time is up (active() already leaves them out; the plan adds those within
  // kMinReapply of their end) go now.
  auto n = store.expire(now + store::kMinReapply);
  if (!n) return core::make_error("reconcile: drop expired decisions: " + n.error().message);
  report.expired = *n;
  // Policy learns what is in force even if the kernel refuses the re-apply below: the store is
  // the truth, and the responder's retry will bring the kernel in line.
  for (const auto& sd : *stored) {
    if (sd.expired(now + store::kMinReapply)) continue;
    policy.restore(sd.decision, sd.expires_at);
    ++report.restored_to_policy;
  }
  std::vector<core::Decision> batch = plan.remove_from_kernel;
  // Rate limits the kernel holds but the store does not (a Ban cannot describe them, so the plan
  // leaves them to us).
  if (auto limits = enforcer.list_rate_limits()) {
    for (const auto& rl : *limits) {
      const bool known = std::any_of(stored->begin(), stored->end(), [&](const store::StoredDecision& sd) {
        const auto& d = sd.decision;
        return d.action == core::DecisionAction::rate_limit && d.target == rl.target && d.port == rl.port &&
               d.proto == rl.proto && !sd.expired(now + store::kMinReapply);
      });
      if (known) continue;
      core::Decision un;
      un.action = core::DecisionAction::unrate_limit;
      un.target = rl.target;
      un.port = rl.port;
      un.proto = rl.proto;
      un.decided_at = now;
      un.reason = "reconcile: not in the store";
      batch.push_back(std::move(un));
      ++report.removed_from_kernel;
    }
  }
  batch.insert(batch.end(), plan.reapply.begin(), plan.reapply.end());
  if (!batch.empty()) {
    if (auto a = enforcer.apply(batch); !a) {
      report.apply_error = "reconcile: apply: " + a.error().message;
      report.unapplied = std::move(batch);
    } else {
      (void)store.mark_applied(plan.reapply, true);
    }
  }
  report.reapplied = plan.reapply.size();
  report.removed_from_kernel += plan.remove_from_kernel.size();
  return report;
}

}  // namespace picket::daemon

// plan_reconcile: what to do at start so the kernel matches the store. Pure: it reads two lists
// and a time, and touches neither the kernel nor the file (the caller applies the plan).
#pragma once

#include <vector>

#include "core/decision.hpp"
#include "core/time.hpp"
#include "store/store.hpp"

namespace picket::store {

// A stored ban with this much time left or less is treated as expired rather than re-applied:
// some backends keep whole-second timeouts (ipset), where a rounded-down 0 would mean "for ever".
inline constexpr core::Duration kMinReapply = core::Duration::seconds(1);
// A kernel timeout shorter than the store's remaining time by more than this is refreshed (the
// ban was extended in the store but the process died before the kernel saw it).
inline constexpr core::Duration kReconcileSlack = core::Duration::seconds(2);

struct ReconcilePlan {
  // Blocks and rate limits to apply, with duration = the REMAINING time at `now` (0 = no expiry)
  // and the stored detector, reason, offence. A block may name a target the kernel already
  // holds (to lengthen its timeout): enforcers treat block as add-or-refresh.
  std::vector<core::Decision> reapply;
  // Unblocks for kernel bans the store does not hold as active (stray elements, or bans the
  // store has expired while the kernel still holds them).
  std::vector<core::Decision> remove_from_kernel;
  // Targets of stored decisions (blocks and rate limits) that have expired or have at most
  // kMinReapply left. The caller deletes them with Store::expire(now + kMinReapply), which
  // removes exactly those rows (not with Store::remove, which would also take a target's other,
  // live decisions).
  std::vector<core::Prefix> expired;
};

// `stored`: Store::active() or any superset (expired rows are recognised by `now`).
// `kernel`: the enforcer's list() — blocks only, since a Ban cannot describe a rate limit;
// rate limits in the store are therefore always re-applied (enforcers apply them idempotently).
// Outputs are sorted by target, so a plan is deterministic whatever the input order.
ReconcilePlan plan_reconcile(const std::vector<StoredDecision>& stored, const std::vector<core::Ban>& kernel,
                             core::Timestamp now);

}  // namespace picket::store

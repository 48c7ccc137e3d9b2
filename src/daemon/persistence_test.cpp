#include "daemon/persistence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "detect/finding.hpp"

namespace picket::daemon {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::Prefix;
using core::Timestamp;

constexpr Timestamp kNow = Timestamp::from_parts(1'800'000'000, 0);

Prefix pfx(const char* text) {
  auto p = Prefix::parse(text);
  EXPECT_TRUE(p.has_value()) << text;
  return p.value_or(Prefix{});
}

Decision block(const char* target, Duration d, Timestamp at = kNow) {
  Decision x;
  x.action = DecisionAction::block;
  x.target = pfx(target);
  x.duration = d;
  x.decided_at = at;
  x.detector = "port_scan";
  x.reason = "test";
  return x;
}

// A kernel stand-in: holds bans with their expiry at a settable clock; can be made to fail.
class FakeEnforcer : public enforce::Enforcer {
 public:
  Timestamp now = kNow;
  bool fail = false;
  bool fail_apply = false;
  std::map<Prefix, Timestamp> bans;  // Timestamp{} = no timeout
  std::map<std::tuple<Prefix, uint16_t, uint8_t>, Timestamp> limits;
  int applies = 0;

  std::string_view name() const noexcept override { return "fake"; }
  core::Result<void> init() override {
    if (fail) return core::make_error("fake: init refused");
    return {};
  }
  core::Result<void> apply(std::span<const Decision> batch) override {
    if (fail || fail_apply) return core::make_error("fake: no permission");
    ++applies;
    for (const auto& d : batch) {
      const Timestamp until = d.duration.ns == 0 ? Timestamp{} : now + d.duration;
      switch (d.action) {
        case DecisionAction::block: bans[d.target] = until; break;
        case DecisionAction::unblock: bans.erase(d.target); break;
        case DecisionAction::rate_limit: limits[{d.target, d.port, d.proto}] = until; break;
        case DecisionAction::unrate_limit: limits.erase({d.target, d.port, d.proto}); break;
      }
    }
    return {};
  }
  core::Result<std::vector<core::Ban>> list() const override {
    if (fail) return core::make_error("fake: cannot list");
    std::vector<core::Ban> out;
    for (const auto& [t, until] : bans) {
      if (until.ns != 0 && until <= now) continue;
      out.push_back(core::Ban{t, until.ns == 0 ? Duration{} : until - now, "", "", 1});
    }
    return out;
  }
  core::Result<std::vector<enforce::RateLimit>> list_rate_limits() const override {
    std::vector<enforce::RateLimit> out;
    for (const auto& [k, until] : limits) {
      out.push_back(enforce::RateLimit{std::get<0>(k), std::get<1>(k), std::get<2>(k), 100,
                                       until.ns == 0 ? Duration{} : until - now});
    }
    return out;
  }
  core::Result<void> flush() override {
    bans.clear();
    limits.clear();
    return {};
  }
  core::Result<void> remove() override { return flush(); }
};

std::unique_ptr<store::Store> memory_store() {
  auto s = store::Store::open(":memory:");
  EXPECT_TRUE(static_cast<bool>(s));
  return s ? std::move(s.value()) : nullptr;
}

policy::PolicySettings block_scans(Duration d) {
  policy::PolicySettings ps;
  policy::DetectorPolicy dp;
  dp.action = policy::Action::block;
  dp.duration = d;
  ps.detectors.emplace("port_scan", dp);
  ps.escalation_factor = 2.0;
  ps.max_duration = Duration::seconds(86400);
  ps.forgive_after = Duration::seconds(3600);
  return ps;
}

detect::Finding scan_from(const char* addr, Timestamp at) {
  detect::Finding f;
  f.detector = "port_scan";
  f.kind = "port_scan";
  f.ts = at;
  f.source = core::IpAddress::parse(addr).value();
  f.signature = "port scan";
  return f;
}

TEST(StoreHistory, CountsOffencesFromTheStoreAndForgives) {
  auto st = memory_store();
  StoreHistory h(*st);
  const Prefix t = pfx("198.18.0.7/32");
  EXPECT_EQ(h.prior_offences(t, kNow, Duration::seconds(3600)), 0u);
  std::vector<Decision> b{block("198.18.0.7/32", Duration::minutes(10))};
  ASSERT_TRUE(st->record(b, kNow));
  ASSERT_TRUE(st->record(b, kNow + Duration::minutes(20)));
  EXPECT_EQ(h.prior_offences(t, kNow + Duration::minutes(30), Duration::seconds(3600)), 2u);
  // Quiet for longer than forgive_after: a fresh start.
  EXPECT_EQ(h.prior_offences(t, kNow + Duration::minutes(20) + Duration::seconds(3600), Duration::seconds(3600)), 0u);
  EXPECT_EQ(h.prior_offences(pfx("198.18.0.8/32"), kNow, Duration::seconds(3600)), 0u);
}

TEST(StoreJournal, DecisionsAreStoredBeforeTheKernelAndMarkedApplied) {
  auto st = memory_store();
  StoreHistory history(*st);
  StoreJournal journal(*st);
  policy::Policy pol(block_scans(Duration::minutes(10)), history);
  FakeEnforcer fake;
  fake.fail = true;  // the kernel refuses: the store must hold the ban anyway
  policy::PolicyResponder resp(pol, &fake);
  resp.set_journal(&journal);

  auto r = resp.respond(scan_from("198.18.0.9", kNow), kNow);
  ASSERT_TRUE(r.blocked);
  auto events = resp.end_tick(kNow);
  ASSERT_EQ(events.size(), 1u);  // apply_failed
  auto active = st->active(kNow);
  ASSERT_TRUE(static_cast<bool>(active));
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].decision.target, pfx("198.18.0.9/32"));
  EXPECT_FALSE((*active)[0].applied);

  // The retry succeeds: the row is marked applied, and it was recorded only once (one offence).
  fake.fail = false;
  events = resp.end_tick(kNow + Duration::seconds(2));
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(fake.bans.count(pfx("198.18.0.9/32")), 1u);
  active = st->active(kNow + Duration::seconds(2));
  ASSERT_TRUE(static_cast<bool>(active));
  ASSERT_EQ(active->size(), 1u);
  EXPECT_TRUE((*active)[0].applied);
  auto off = st->offender(pfx("198.18.0.9/32"));
  ASSERT_TRUE(static_cast<bool>(off) && off->has_value());
  EXPECT_EQ((**off).offences, 1u);
}

TEST(StoreJournal, RepeatOffenderAfterExpiryGetsALongerBan) {
  auto st = memory_store();
  StoreHistory history(*st);
  StoreJournal journal(*st);
  policy::Policy pol(block_scans(Duration::minutes(10)), history);
  FakeEnforcer fake;
  policy::PolicyResponder resp(pol, &fake);
  resp.set_journal(&journal);
  (void)resp.respond(scan_from("198.18.0.9", kNow), kNow);
  (void)resp.end_tick(kNow);
  const Timestamp later = kNow + Duration::minutes(11);
  fake.now = later;
  auto r = resp.respond(scan_from("198.18.0.9", later), later);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].body["duration"], 1200);  // 10 min x 2
  EXPECT_EQ(r.events[0].body["offence"], 2);
}

TEST(Reconcile, ReappliesMissingBansWithTheirRemainingTime) {
  auto st = memory_store();
  std::vector<Decision> b{block("198.18.0.1/32", Duration::minutes(10)), block("198.18.1.0/24", Duration::minutes(5))};
  ASSERT_TRUE(st->record(b, kNow));
  FakeEnforcer kernel;  // empty: as after a reboot, or `on_exit: remove`
  const Timestamp later = kNow + Duration::minutes(3);
  kernel.now = later;
  policy::MemoryHistory h;
  policy::Policy pol(block_scans(Duration::minutes(10)), h);
  auto rep = reconcile_at_start(*st, kernel, pol, later);
  ASSERT_TRUE(static_cast<bool>(rep)) << rep.error().message;
  EXPECT_EQ(rep->reapplied, 2u);
  EXPECT_EQ(rep->restored_to_policy, 2u);
  EXPECT_TRUE(rep->apply_error.empty());
  ASSERT_EQ(kernel.bans.size(), 2u);
  EXPECT_EQ(kernel.bans[pfx("198.18.0.1/32")], kNow + Duration::minutes(10));  // 7 min left, not 10
  EXPECT_EQ(kernel.bans[pfx("198.18.1.0/24")], kNow + Duration::minutes(5));
  // Policy knows: the same scanner again is "already active", not a new ban.
  auto v = pol.decide(scan_from("198.18.0.1", later), later);
  EXPECT_FALSE(v.decision.has_value());
  EXPECT_TRUE(v.already_active);
}

TEST(Reconcile, DropsExpiredRowsAndRemovesStrayKernelElements) {
  auto st = memory_store();
  std::vector<Decision> b{block("198.18.0.1/32", Duration::minutes(1)), block("198.18.0.2/32", Duration::minutes(30))};
  ASSERT_TRUE(st->record(b, kNow));
  FakeEnforcer kernel;
  kernel.bans[pfx("198.18.0.99/32")] = Timestamp{};           // stray: not in the store
  kernel.bans[pfx("198.18.0.2/32")] = kNow + Duration::minutes(30);  // already there
  kernel.limits[{pfx("198.18.0.10/32"), 80, 6}] = Timestamp{};  // stray rate limit
  const Timestamp later = kNow + Duration::minutes(5);
  kernel.now = later;
  policy::MemoryHistory h;
  policy::Policy pol(block_scans(Duration::minutes(10)), h);
  auto rep = reconcile_at_start(*st, kernel, pol, later);
  ASSERT_TRUE(static_cast<bool>(rep)) << rep.error().message;
  EXPECT_EQ(rep->expired, 1u);
  EXPECT_EQ(rep->removed_from_kernel, 2u);
  EXPECT_EQ(kernel.bans.count(pfx("198.18.0.99/32")), 0u);
  EXPECT_EQ(kernel.bans.count(pfx("198.18.0.1/32")), 0u);
  EXPECT_EQ(kernel.bans.count(pfx("198.18.0.2/32")), 1u);
  EXPECT_TRUE(kernel.limits.empty());
  auto active = st->active(later);
  ASSERT_TRUE(static_cast<bool>(active));
  ASSERT_EQ(active->size(), 1u);
}

TEST(Reconcile, RefusedApplyIsReportedWithTheBatchForRetry) {
  auto st = memory_store();
  std::vector<Decision> b{block("198.18.0.1/32", Duration::minutes(10))};
  ASSERT_TRUE(st->record(b, kNow));
  FakeEnforcer kernel;
  policy::MemoryHistory h;
  policy::Policy pol(block_scans(Duration::minutes(10)), h);
  kernel.fail_apply = true;
  auto rep = reconcile_at_start(*st, kernel, pol, kNow);
  ASSERT_TRUE(static_cast<bool>(rep)) << rep.error().message;
  EXPECT_NE(rep->apply_error.find("no permission"), std::string::npos);
  ASSERT_EQ(rep->unapplied.size(), 1u);
  EXPECT_EQ(rep->unapplied[0].target, pfx("198.18.0.1/32"));
  EXPECT_TRUE(kernel.bans.empty());
  // Still in force as far as policy is concerned: the store is the truth.
  EXPECT_TRUE(pol.decide(scan_from("198.18.0.1", kNow), kNow).already_active);
  // A kernel that cannot even be listed is an error.
  kernel.fail = true;
  EXPECT_FALSE(static_cast<bool>(reconcile_at_start(*st, kernel, pol, kNow)));
}

TEST(PolicyRestore, NoExpiryMeansInForceForever) {
  policy::MemoryHistory h;
  policy::Policy pol(block_scans(Duration::minutes(10)), h);
  pol.restore(block("198.18.0.5/32", Duration{}), std::nullopt);
  const Timestamp much_later = kNow + Duration::seconds(int64_t{400} * 86400);
  auto v = pol.decide(scan_from("198.18.0.5", much_later), much_later);
  EXPECT_TRUE(v.already_active);
  pol.restore(block("198.18.0.6/32", Duration::minutes(1)), kNow + Duration::minutes(1));
  v = pol.decide(scan_from("198.18.0.6", kNow + Duration::minutes(2)), kNow + Duration::minutes(2));
  EXPECT_TRUE(v.decision.has_value());
}

}  // namespace
}  // namespace picket::daemon

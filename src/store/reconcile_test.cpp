#include "store/reconcile.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace picket::store {
namespace {

using core::Ban;
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

// A stored block expiring `left` after kNow (nullopt: no expiry; negative: already expired).
StoredDecision stored_block(const char* target, std::optional<Duration> left) {
  StoredDecision sd;
  sd.decision.action = DecisionAction::block;
  sd.decision.target = pfx(target);
  sd.decision.duration = Duration::minutes(10);
  sd.decision.detector = "port_scan";
  sd.decision.reason = std::string("stored ") + target;
  sd.decision.offence = 3;
  sd.created_at = kNow - Duration::minutes(1);
  if (left) sd.expires_at = kNow + *left;
  return sd;
}

StoredDecision stored_rate_limit(const char* target, uint16_t port, Duration left) {
  StoredDecision sd = stored_block(target, left);
  sd.decision.action = DecisionAction::rate_limit;
  sd.decision.port = port;
  sd.decision.proto = 6;
  sd.decision.rate_per_second = 100;
  return sd;
}

Ban kernel_ban(const char* target, Duration remaining) {
  return Ban{pfx(target), remaining, "port_scan", "in kernel", 2};
}

struct Expect {
  std::vector<std::pair<std::string, int64_t>> reapply;  // target, duration seconds (0 = none)
  std::vector<std::string> remove;
  std::vector<std::string> expired;
};

struct Case {
  const char* name;
  std::vector<StoredDecision> stored;
  std::vector<Ban> kernel;
  Expect want;
};

TEST(PlanReconcile, Table) {
  const Duration m5 = Duration::minutes(5);
  const Case cases[] = {
      {"nothing anywhere", {}, {}, {}},
      {"missing in the kernel: reapplied with the remaining time",
       {stored_block("192.0.2.1", m5)},
       {},
       {{{"192.0.2.1/32", 300}}, {}, {}}},
      {"present and long enough: untouched",
       {stored_block("192.0.2.1", m5)},
       {kernel_ban("192.0.2.1", m5 - Duration::seconds(1))},
       {}},
      {"present with a permanent kernel element: untouched",
       {stored_block("192.0.2.1", m5)},
       {kernel_ban("192.0.2.1", Duration{})},
       {}},
      {"kernel timeout much shorter (ban extended before a crash): refreshed",
       {stored_block("192.0.2.1", m5)},
       {kernel_ban("192.0.2.1", Duration::seconds(30))},
       {{{"192.0.2.1/32", 300}}, {}, {}}},
      {"stored without expiry, kernel has a timeout: refreshed as permanent",
       {stored_block("2001:db8::1", std::nullopt)},
       {kernel_ban("2001:db8::1", m5)},
       {{{"2001:db8::1/128", 0}}, {}, {}}},
      {"stored without expiry, missing: reapplied as permanent",
       {stored_block("2001:db8::/32", std::nullopt)},
       {},
       {{{"2001:db8::/32", 0}}, {}, {}}},
      {"expired in the store and gone from the kernel: dropped",
       {stored_block("192.0.2.1", Duration::seconds(-10))},
       {},
       {{}, {}, {"192.0.2.1/32"}}},
      {"expired at exactly now: dropped", {stored_block("192.0.2.1", Duration{})}, {}, {{}, {}, {"192.0.2.1/32"}}},
      {"less than kMinReapply left: dropped, not reapplied with a rounded-down 0",
       {stored_block("192.0.2.1", Duration::millis(400))},
       {},
       {{}, {}, {"192.0.2.1/32"}}},
      {"exactly kMinReapply left: dropped (Store::expire(now + kMinReapply) agrees)",
       {stored_block("192.0.2.1", kMinReapply)},
       {},
       {{}, {}, {"192.0.2.1/32"}}},
      {"just over kMinReapply left: reapplied",
       {stored_block("192.0.2.1", Duration::seconds(2))},
       {},
       {{{"192.0.2.1/32", 2}}, {}, {}}},
      {"expired rate limit next to a live block of the same target",
       {stored_rate_limit("192.0.2.10", 443, Duration::seconds(-5)), stored_block("192.0.2.10", m5)},
       {kernel_ban("192.0.2.10", m5)},
       {{}, {}, {"192.0.2.10/32"}}},
      {"expired in the store but still in the kernel: dropped and removed",
       {stored_block("192.0.2.1", Duration::seconds(-10))},
       {kernel_ban("192.0.2.1", Duration{})},
       {{}, {"192.0.2.1/32"}, {"192.0.2.1/32"}}},
      {"stray kernel element: removed",
       {},
       {kernel_ban("198.51.100.0/24", m5), kernel_ban("2001:db8::66", m5)},
       {{}, {"198.51.100.0/24", "2001:db8::66/128"}, {}}},
      {"same address, different prefix length: not the same ban",
       {stored_block("198.51.100.0/24", m5)},
       {kernel_ban("198.51.100.0/25", m5)},
       {{{"198.51.100.0/24", 300}}, {"198.51.100.0/25"}, {}}},
      {"rate limits are always reapplied (a Ban cannot describe them)",
       {stored_rate_limit("192.0.2.10", 443, m5), stored_rate_limit("192.0.2.10", 80, Duration::seconds(-1))},
       {},
       {{{"192.0.2.10/32", 300}}, {}, {"192.0.2.10/32"}}},
      {"a rate limit does not keep a kernel block of the same target",
       {stored_rate_limit("192.0.2.10", 443, m5)},
       {kernel_ban("192.0.2.10", m5)},
       {{{"192.0.2.10/32", 300}}, {"192.0.2.10/32"}, {}}},
      {"duplicate kernel entries: one removal",
       {},
       {kernel_ban("192.0.2.7", m5), kernel_ban("192.0.2.7", Duration::seconds(3))},
       {{}, {"192.0.2.7/32"}, {}}},
      {"duplicate kernel entries: the longer one counts",
       {stored_block("192.0.2.7", m5)},
       {kernel_ban("192.0.2.7", Duration::seconds(3)), kernel_ban("192.0.2.7", m5)},
       {}},
      {"mixed, unordered input gives sorted output",
       {stored_block("203.0.113.9", m5), stored_block("192.0.2.1", Duration::seconds(-1)),
        stored_block("10.0.0.1", Duration::minutes(1)), stored_block("192.0.2.2", m5)},
       {kernel_ban("192.0.2.2", m5), kernel_ban("172.16.0.1", m5), kernel_ban("10.9.9.9", m5)},
       {{{"10.0.0.1/32", 60}, {"203.0.113.9/32", 300}}, {"10.9.9.9/32", "172.16.0.1/32"}, {"192.0.2.1/32"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ReconcilePlan plan = plan_reconcile(c.stored, c.kernel, kNow);
    ASSERT_EQ(plan.reapply.size(), c.want.reapply.size());
    for (size_t i = 0; i < plan.reapply.size(); ++i) {
      EXPECT_EQ(plan.reapply[i].target.to_string(), c.want.reapply[i].first);
      EXPECT_EQ(plan.reapply[i].duration, Duration::seconds(c.want.reapply[i].second));
    }
    ASSERT_EQ(plan.remove_from_kernel.size(), c.want.remove.size());
    for (size_t i = 0; i < plan.remove_from_kernel.size(); ++i) {
      EXPECT_EQ(plan.remove_from_kernel[i].target.to_string(), c.want.remove[i]);
      EXPECT_EQ(plan.remove_from_kernel[i].action, DecisionAction::unblock);
    }
    ASSERT_EQ(plan.expired.size(), c.want.expired.size());
    for (size_t i = 0; i < plan.expired.size(); ++i) EXPECT_EQ(plan.expired[i].to_string(), c.want.expired[i]);
  }
}

TEST(PlanReconcile, ReappliedDecisionKeepsItsStoredFields) {
  StoredDecision rl = stored_rate_limit("192.0.2.10", 443, Duration::seconds(90));
  StoredDecision bl = stored_block("2001:db8::5", Duration::millis(1500));
  ReconcilePlan plan = plan_reconcile({rl, bl}, {}, kNow);
  ASSERT_EQ(plan.reapply.size(), 2u);
  const Decision& r = plan.reapply[0];
  EXPECT_EQ(r.action, DecisionAction::rate_limit);
  EXPECT_EQ(r.port, 443);
  EXPECT_EQ(r.proto, 6);
  EXPECT_EQ(r.rate_per_second, 100u);
  EXPECT_EQ(r.duration, Duration::seconds(90));
  EXPECT_EQ(r.offence, 3u);
  EXPECT_EQ(r.detector, "port_scan");
  EXPECT_EQ(r.reason, "stored 192.0.2.10");
  const Decision& b = plan.reapply[1];
  EXPECT_EQ(b.action, DecisionAction::block);
  EXPECT_EQ(b.duration, Duration::millis(1500));  // exact remaining time, not rounded
}

TEST(PlanReconcile, RemovalCarriesTheKernelBansDetector) {
  ReconcilePlan plan = plan_reconcile({}, {Ban{pfx("192.0.2.1"), Duration::seconds(5), "syn_flood", "x", 4}}, kNow);
  ASSERT_EQ(plan.remove_from_kernel.size(), 1u);
  EXPECT_EQ(plan.remove_from_kernel[0].detector, "syn_flood");
  EXPECT_EQ(plan.remove_from_kernel[0].offence, 4u);
  EXPECT_EQ(plan.remove_from_kernel[0].decided_at, kNow);
  EXPECT_FALSE(plan.remove_from_kernel[0].reason.empty());
}

}  // namespace
}  // namespace picket::store

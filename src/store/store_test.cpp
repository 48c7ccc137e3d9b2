// Store behaviour on an in-memory database: round trips, batches, upserts, expiry, history.
#include "store/store.hpp"

#include "store/reconcile.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace picket::store {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::Prefix;
using core::Timestamp;

constexpr Timestamp kT0 = Timestamp::from_parts(1'800'000'000, 0);

Prefix pfx(const char* text) {
  auto p = Prefix::parse(text);
  EXPECT_TRUE(p.has_value()) << text;
  return p.value_or(Prefix{});
}

Decision block(const char* target, Duration d, const char* detector = "port_scan") {
  Decision x;
  x.action = DecisionAction::block;
  x.target = pfx(target);
  x.duration = d;
  x.decided_at = kT0;
  x.detector = detector;
  x.reason = std::string("scanned from ") + target;
  return x;
}

Decision unblock(const char* target) {
  Decision x;
  x.action = DecisionAction::unblock;
  x.target = pfx(target);
  x.detector = "manual";
  return x;
}

Decision rate_limit(const char* target, uint16_t port, uint8_t proto, uint32_t rate, Duration d) {
  Decision x;
  x.action = DecisionAction::rate_limit;
  x.target = pfx(target);
  x.port = port;
  x.proto = proto;
  x.rate_per_second = rate;
  x.duration = d;
  x.decided_at = kT0;
  x.detector = "spoofed_flood";
  x.reason = "spoofed SYN flood";
  return x;
}

Decision unrate_limit(const char* target, uint16_t port, uint8_t proto) {
  Decision x = rate_limit(target, port, proto, 0, {});
  x.action = DecisionAction::unrate_limit;
  return x;
}

std::unique_ptr<Store> open_memory() {
  auto s = Store::open(":memory:");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : nullptr;
}

void must(const core::Result<void>& r) {
  ASSERT_TRUE(r.ok()) << r.error().message;
}

std::vector<StoredDecision> active_at(Store& s, Timestamp now) {
  auto a = s.active(now);
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message);
  return a.ok() ? *a : std::vector<StoredDecision>{};
}

TEST(Store, RoundTripsBlocksOfEveryFamilyAndLength) {
  struct Case {
    const char* target;
    Duration duration;
  };
  const Case cases[] = {
      {"198.51.100.7/32", Duration::minutes(5)},
      {"198.51.100.0/24", Duration::minutes(10)},
      {"0.0.0.0/0", Duration::seconds(1)},
      {"2001:db8::1/128", Duration::seconds(300)},
      {"2001:db8:1::/48", Duration::seconds(3600)},
      {"::ffff:198.51.100.7/128", Duration::seconds(42)},
      {"10.1.2.3/32", Duration{}},  // no expiry
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    auto store = open_memory();
    ASSERT_TRUE(store);
    Decision d = block(c.target, c.duration);
    d.offence = 1;
    must(store->record({&d, 1}, kT0 + Duration::seconds(1)));
    auto got = active_at(*store, kT0 + Duration::seconds(1));
    ASSERT_EQ(got.size(), 1u);
    const auto& sd = got[0];
    EXPECT_EQ(sd.decision.action, DecisionAction::block);
    EXPECT_EQ(sd.decision.target, d.target);
    EXPECT_EQ(sd.decision.target.to_string(), c.target);
    EXPECT_EQ(sd.decision.duration, c.duration);
    EXPECT_EQ(sd.decision.decided_at, kT0);
    EXPECT_EQ(sd.decision.detector, "port_scan");
    EXPECT_EQ(sd.decision.reason, d.reason);
    EXPECT_EQ(sd.decision.offence, 1u);
    EXPECT_EQ(sd.created_at, kT0 + Duration::seconds(1));
    if (c.duration.ns == 0) {
      EXPECT_FALSE(sd.expires_at.has_value());
    } else {
      ASSERT_TRUE(sd.expires_at.has_value());
      EXPECT_EQ(*sd.expires_at, kT0 + Duration::seconds(1) + c.duration);
    }
    EXPECT_FALSE(sd.applied);
  }
}

TEST(Store, RoundTripsRateLimitsKeyedByPortAndProto) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  std::vector<Decision> batch = {
      rate_limit("192.0.2.10/32", 443, 6, 100, Duration::minutes(10)),
      rate_limit("192.0.2.10/32", 80, 6, 50, Duration::minutes(10)),
      rate_limit("192.0.2.10/32", 53, 17, 500, Duration::minutes(10)),
      rate_limit("2001:db8::10/128", 443, 6, 100, Duration::minutes(10)),
  };
  must(store->record(batch, kT0));
  auto got = active_at(*store, kT0);
  ASSERT_EQ(got.size(), 4u);
  for (const auto& sd : got) {
    EXPECT_EQ(sd.decision.action, DecisionAction::rate_limit);
    EXPECT_EQ(sd.decision.detector, "spoofed_flood");
  }
  // Ordered by target, then action, port (numerically), proto.
  EXPECT_EQ(got[0].decision.port, 53);
  EXPECT_EQ(got[0].decision.proto, 17);
  EXPECT_EQ(got[0].decision.rate_per_second, 500u);
  EXPECT_EQ(got[1].decision.port, 80);
  EXPECT_EQ(got[2].decision.port, 443);
  EXPECT_EQ(got[3].decision.target, pfx("2001:db8::10/128"));

  // A rate limit protects its target: it is not an offence.
  auto o = store->offender(pfx("192.0.2.10/32"));
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->has_value());

  // unrate_limit removes only the matching (port, proto).
  Decision un = unrate_limit("192.0.2.10/32", 80, 6);
  must(store->record({&un, 1}, kT0));
  got = active_at(*store, kT0);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& sd : got) EXPECT_NE(sd.decision.port, 80);
}

TEST(Store, BlockAndRateLimitOnOneTargetAreSeparate) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  std::vector<Decision> batch = {block("192.0.2.10/32", Duration::minutes(5)),
                                 rate_limit("192.0.2.10/32", 443, 6, 100, Duration::minutes(10))};
  must(store->record(batch, kT0));
  EXPECT_EQ(active_at(*store, kT0).size(), 2u);
  Decision un = unblock("192.0.2.10/32");
  must(store->record({&un, 1}, kT0));
  auto got = active_at(*store, kT0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].decision.action, DecisionAction::rate_limit);
}

TEST(Store, InvalidDecisionFailsTheWholeBatch) {
  Decision no_target = block("192.0.2.1", Duration::seconds(1));
  no_target.target = Prefix{};
  Decision negative = block("192.0.2.2", Duration::seconds(-5));
  Decision no_rate = rate_limit("192.0.2.3", 80, 6, 0, Duration::seconds(10));
  Decision no_proto = rate_limit("192.0.2.4", 80, 0, 10, Duration::seconds(10));
  struct Case {
    Decision bad;
    const char* expect;
  };
  const Case cases[] = {{no_target, "no target"},
                        {negative, "negative duration"},
                        {no_rate, "without a rate"},
                        {no_proto, "without a protocol"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expect);
    auto store = open_memory();
    ASSERT_TRUE(store);
    std::vector<Decision> batch = {block("203.0.113.1", Duration::minutes(1)), c.bad,
                                   block("203.0.113.2", Duration::minutes(1))};
    auto r = store->record(batch, kT0);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("decision 1 of 3"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(":memory:"), std::string::npos) << r.error().message;
    EXPECT_TRUE(active_at(*store, kT0).empty());
    auto o = store->offender(pfx("203.0.113.1/32"));
    ASSERT_TRUE(o.ok());
    EXPECT_FALSE(o->has_value());
  }
}

TEST(Store, BatchOfManyIsStoredInOneGo) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  std::vector<Decision> batch;
  for (uint32_t i = 0; i < 5000; ++i) {
    Decision d = block("10.0.0.0", Duration::minutes(5));
    d.target = Prefix(core::IpAddress::v4(0x0A000000u + i), 32);
    batch.push_back(d);
  }
  must(store->record(batch, kT0));
  auto got = active_at(*store, kT0);
  ASSERT_EQ(got.size(), batch.size());
  auto more = store->offenders(10);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->size(), 10u);
}

TEST(Store, ExpiryHidesThenDeletesExpiredRows) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  std::vector<Decision> batch = {
      block("192.0.2.1", Duration::seconds(10)),
      block("192.0.2.2", Duration::seconds(20)),
      block("192.0.2.3", Duration{}),  // no expiry
      rate_limit("192.0.2.4", 443, 6, 10, Duration::seconds(10)),
  };
  must(store->record(batch, kT0));
  struct Step {
    Duration at;
    size_t active;
  };
  const Step steps[] = {{Duration::seconds(9), 4},
                        {Duration::seconds(10), 2},  // expires_at == now counts as expired
                        {Duration::seconds(19), 2},
                        {Duration::seconds(20), 1},
                        {Duration::seconds(1'000'000), 1}};
  for (const auto& s : steps) {
    EXPECT_EQ(active_at(*store, kT0 + s.at).size(), s.active) << s.at.ns;
  }
  auto n = store->expire(kT0 + Duration::seconds(10));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  n = store->expire(kT0 + Duration::seconds(10));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  // Still visible before its expiry, deleted after it.
  EXPECT_EQ(active_at(*store, kT0).size(), 2u);
  n = store->expire(kT0 + Duration::seconds(1'000'000));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto left = active_at(*store, kT0);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].decision.target, pfx("192.0.2.3/32"));
}

TEST(Store, RepeatedBanIncrementsOffenceAndExtendsExpiry) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  Decision d = block("198.51.100.7", Duration::minutes(5));
  must(store->record({&d, 1}, kT0));
  must(store->mark_applied({&d, 1}, true));

  // Repeat 1 minute later with a longer ban.
  Decision again = block("198.51.100.7", Duration::minutes(10), "syn_flood");
  must(store->record({&again, 1}, kT0 + Duration::minutes(1)));
  auto got = active_at(*store, kT0 + Duration::minutes(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].decision.offence, 2u);
  EXPECT_EQ(got[0].created_at, kT0);  // the ban started at the first record
  EXPECT_EQ(*got[0].expires_at, kT0 + Duration::minutes(11));
  EXPECT_EQ(got[0].decision.duration, Duration::minutes(10));
  EXPECT_EQ(got[0].decision.detector, "syn_flood");
  EXPECT_FALSE(got[0].applied);  // the kernel must hear about the new timeout

  // A shorter repeat never shortens the ban.
  Decision shorter = block("198.51.100.7", Duration::seconds(1));
  must(store->record({&shorter, 1}, kT0 + Duration::minutes(2)));
  got = active_at(*store, kT0 + Duration::minutes(2));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].decision.offence, 3u);
  EXPECT_EQ(*got[0].expires_at, kT0 + Duration::minutes(11));

  // No expiry wins over any expiry.
  Decision forever = block("198.51.100.7", Duration{});
  must(store->record({&forever, 1}, kT0 + Duration::minutes(3)));
  Decision timed = block("198.51.100.7", Duration::minutes(1));
  must(store->record({&timed, 1}, kT0 + Duration::minutes(4)));
  got = active_at(*store, kT0 + Duration::minutes(4));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].expires_at.has_value());
  EXPECT_EQ(got[0].decision.offence, 5u);

  auto o = store->offender(pfx("198.51.100.7/32"));
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->has_value());
  EXPECT_EQ((*o)->offences, 5u);
}

TEST(Store, RebanAfterExpiryStartsANewBanButKeepsCounting) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  Decision d = block("198.51.100.8", Duration::minutes(5));
  must(store->record({&d, 1}, kT0));
  // Not yet purged by expire(), but expired: the new ban starts now.
  must(store->record({&d, 1}, kT0 + Duration::minutes(30)));
  auto got = active_at(*store, kT0 + Duration::minutes(30));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].created_at, kT0 + Duration::minutes(30));
  EXPECT_EQ(*got[0].expires_at, kT0 + Duration::minutes(35));
  EXPECT_EQ(got[0].decision.offence, 2u);
}

TEST(Store, OffenceTakesTheLargestOfPolicyStoreAndHistory) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  Decision d = block("198.51.100.9", Duration::minutes(5));
  d.offence = 7;  // policy knows better (e.g. after an import)
  must(store->record({&d, 1}, kT0));
  auto got = active_at(*store, kT0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].decision.offence, 7u);
  // After an unblock the active row is gone; the history still counts.
  Decision un = unblock("198.51.100.9");
  Decision plain = block("198.51.100.9", Duration::minutes(5));
  must(store->record({&un, 1}, kT0));
  must(store->record({&plain, 1}, kT0 + Duration::minutes(1)));
  must(store->record({&plain, 1}, kT0 + Duration::minutes(2)));
  got = active_at(*store, kT0 + Duration::minutes(2));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].decision.offence, 3u);  // history: 3 blocks
}

TEST(Store, OffenderHistoryAndForgiveness) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  Decision a = block("203.0.113.1", Duration::minutes(5), "port_scan");
  Decision b = block("2001:db8::66", Duration::minutes(7), "syn_flood");
  Decision net = block("203.0.113.0/24", Duration::minutes(60), "distributed_scan");
  must(store->record({&a, 1}, kT0));
  must(store->record({&b, 1}, kT0 + Duration::minutes(1)));
  Decision a2 = block("203.0.113.1", Duration::minutes(10), "conn_rate");
  must(store->record({&a2, 1}, kT0 + Duration::minutes(20)));
  must(store->record({&net, 1}, kT0 + Duration::minutes(30)));
  Decision un = unblock("203.0.113.1");
  must(store->record({&un, 1}, kT0 + Duration::minutes(31)));

  struct Want {
    const char* target;
    uint32_t offences;
    Duration first, last, last_duration;
    const char* detector;
  };
  const Want wants[] = {
      {"203.0.113.1/32", 2, {}, Duration::minutes(20), Duration::minutes(10), "conn_rate"},
      {"2001:db8::66/128", 1, Duration::minutes(1), Duration::minutes(1), Duration::minutes(7), "syn_flood"},
      {"203.0.113.0/24", 1, Duration::minutes(30), Duration::minutes(30), Duration::minutes(60), "distributed_scan"},
  };
  for (const auto& w : wants) {
    SCOPED_TRACE(w.target);
    auto o = store->offender(pfx(w.target));
    ASSERT_TRUE(o.ok()) << o.error().message;
    ASSERT_TRUE(o->has_value());
    const Offender& off = **o;
    EXPECT_EQ(off.target, pfx(w.target));
    EXPECT_EQ(off.offences, w.offences);
    EXPECT_EQ(off.first_offence_at, kT0 + w.first);
    EXPECT_EQ(off.last_offence_at, kT0 + w.last);
    EXPECT_EQ(off.last_ban_duration, w.last_duration);
    EXPECT_EQ(off.last_detector, w.detector);
  }
  // Exact prefixes only: the /32 inside the /24 is its own history.
  auto none = store->offender(pfx("203.0.113.2/32"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto all = store->offenders(100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].target, pfx("203.0.113.0/24"));  // most recent first
  EXPECT_EQ((*all)[1].target, pfx("203.0.113.1/32"));
  EXPECT_EQ((*all)[2].target, pfx("2001:db8::66/128"));

  // Quiet since minute 10: the IPv6 host (last at minute 1) is forgiven, the others stay.
  auto n = store->forgive(kT0 + Duration::minutes(10));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto gone = store->offender(pfx("2001:db8::66/128"));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  // Last offence exactly at the cut-off is not "before" it.
  n = store->forgive(kT0 + Duration::minutes(20));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = store->forgive(kT0 + Duration::minutes(31));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  // Forgiveness does not touch active bans (the /24's runs to minute 90).
  auto still = active_at(*store, kT0 + Duration::minutes(31));
  ASSERT_EQ(still.size(), 1u);
  EXPECT_EQ(still[0].decision.target, pfx("203.0.113.0/24"));

  // A forgiven offender starts again at 1.
  Decision b2 = block("2001:db8::66", Duration::minutes(7), "syn_flood");
  must(store->record({&b2, 1}, kT0 + Duration::minutes(120)));
  auto again = store->offender(pfx("2001:db8::66/128"));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->offences, 1u);
  EXPECT_EQ((*again)->first_offence_at, kT0 + Duration::minutes(120));
}

TEST(Store, UnblockOfAnUnknownTargetIsANoOp) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  Decision d = block("192.0.2.1", Duration::minutes(1));
  must(store->record({&d, 1}, kT0));
  Decision un = unblock("192.0.2.99");
  must(store->record({&un, 1}, kT0));
  Decision un_net = unblock("192.0.2.0/24");  // the /24 is not the /32
  must(store->record({&un_net, 1}, kT0));
  EXPECT_EQ(active_at(*store, kT0).size(), 1u);
}

TEST(Store, RemoveAndClear) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  std::vector<Decision> batch = {block("192.0.2.1", Duration::minutes(1)),
                                 rate_limit("192.0.2.1", 443, 6, 10, Duration::minutes(1)),
                                 block("192.0.2.2", Duration::minutes(1)), block("2001:db8::2", Duration::minutes(1))};
  must(store->record(batch, kT0));
  must(store->remove(pfx("192.0.2.1/32")));
  auto got = active_at(*store, kT0);
  ASSERT_EQ(got.size(), 2u);
  for (const auto& sd : got) EXPECT_NE(sd.decision.target, pfx("192.0.2.1/32"));
  must(store->remove(pfx("198.18.0.0/15")));  // absent: fine
  EXPECT_EQ(active_at(*store, kT0).size(), 2u);
  must(store->clear_active());
  EXPECT_TRUE(active_at(*store, kT0).empty());
  // History survives both.
  auto o = store->offender(pfx("192.0.2.1/32"));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->has_value());
}

TEST(Store, MarkApplied) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  std::vector<Decision> batch = {block("192.0.2.1", Duration::minutes(1)), block("192.0.2.2", Duration::minutes(1)),
                                 rate_limit("192.0.2.3", 443, 6, 10, Duration::minutes(1))};
  must(store->record(batch, kT0));
  std::vector<Decision> applied = {batch[0], batch[2], unblock("192.0.2.9"), block("192.0.2.77", Duration{})};
  must(store->mark_applied(applied, true));
  auto got = active_at(*store, kT0);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(got[0].applied);
  EXPECT_FALSE(got[1].applied);
  EXPECT_TRUE(got[2].applied);
  must(store->mark_applied({&batch[0], 1}, false));
  got = active_at(*store, kT0);
  EXPECT_FALSE(got[0].applied);
}

TEST(Store, EmptyBatchIsFine) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  must(store->record({}, kT0));
  must(store->mark_applied({}, true));
  EXPECT_TRUE(active_at(*store, kT0).empty());
}

TEST(Store, HugeDurationSaturatesInsteadOfWrapping) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  Decision d = block("192.0.2.1", Duration{std::numeric_limits<int64_t>::max()});
  must(store->record({&d, 1}, kT0));
  auto got = active_at(*store, kT0 + Duration::minutes(525'600));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].expires_at.has_value());
  EXPECT_EQ(got[0].expires_at->ns, std::numeric_limits<int64_t>::max());
}

// The start-up sequence: read the store, plan against the kernel, delete what the plan dropped.
TEST(Store, ReconcileSequenceAgainstARealStore) {
  auto store = open_memory();
  ASSERT_TRUE(store);
  std::vector<Decision> batch = {
      block("192.0.2.1", Duration::seconds(10)),  // will have 0.5 s left: dropped
      block("192.0.2.2", Duration::minutes(10)),  // missing from the kernel: reapplied
      block("192.0.2.3", Duration::minutes(10)),  // in the kernel: untouched
      block("192.0.2.4", Duration::seconds(5)),   // expired before the restart
      rate_limit("192.0.2.5", 443, 6, 10, Duration::minutes(10)),
  };
  must(store->record(batch, kT0));
  const Timestamp restart = kT0 + Duration::millis(9'500);
  // What the daemon does: active() hides fully expired rows, so plan on everything stored.
  auto stored = active_at(*store, kT0);
  ASSERT_EQ(stored.size(), 5u);
  std::vector<core::Ban> kernel = {{pfx("192.0.2.3/32"), Duration::seconds(590), "port_scan", "", 1},
                                   {pfx("198.51.100.1/32"), Duration::minutes(1), "port_scan", "", 1}};
  ReconcilePlan plan = plan_reconcile(stored, kernel, restart);
  ASSERT_EQ(plan.reapply.size(), 2u);
  EXPECT_EQ(plan.reapply[0].target, pfx("192.0.2.2/32"));
  EXPECT_EQ(plan.reapply[0].duration, Duration::minutes(10) - Duration::millis(9'500));
  EXPECT_EQ(plan.reapply[1].target, pfx("192.0.2.5/32"));
  ASSERT_EQ(plan.remove_from_kernel.size(), 1u);
  EXPECT_EQ(plan.remove_from_kernel[0].target, pfx("198.51.100.1/32"));
  ASSERT_EQ(plan.expired.size(), 2u);
  auto n = store->expire(restart + kMinReapply);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, plan.expired.size());
  must(store->mark_applied(plan.reapply, true));
  auto after = active_at(*store, restart);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_TRUE(after[0].applied);   // 192.0.2.2
  EXPECT_FALSE(after[1].applied);  // 192.0.2.3 (was already in the kernel; not in the plan)
  EXPECT_TRUE(after[2].applied);   // 192.0.2.5
}

}  // namespace
}  // namespace picket::store

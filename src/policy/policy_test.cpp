#include "policy/policy.hpp"

#include <gtest/gtest.h>

#include "enforce/dry_run/dry_run_enforcer.hpp"
#include "policy/local_addresses.hpp"
#include "policy/responder.hpp"

namespace picket::policy {
namespace {

using core::Duration;
using core::IpAddress;
using core::Prefix;
using core::Timestamp;

const Timestamp kT0 = Timestamp::from_parts(1'767'225'600, 0);
const IpAddress kScanner = *IpAddress::parse("198.19.0.40");
const IpAddress kVictim = *IpAddress::parse("198.18.0.10");

PolicySettings settings() {
  PolicySettings s;
  s.detectors["port_scan"] = {Action::block, Scope::address, 24, 64, Duration::minutes(10)};
  s.detectors["subnet_conn"] = {Action::block, Scope::prefix, 24, 64, Duration::minutes(10)};
  s.detectors["syn_flood"] = {Action::block, Scope::prefix, 24, 64, Duration::minutes(10)};
  s.detectors["spoofed_flood"] = {Action::mitigate, Scope::address, 24, 64, Duration::minutes(10)};
  s.detectors["large_packet"] = {Action::alert, Scope::address, 24, 64, Duration::minutes(10)};
  s.allowlist = {*Prefix::parse("198.18.0.0/24"), *Prefix::parse("2001:db8:ffff::/48")};
  s.escalation_factor = 2;
  s.max_duration = Duration::minutes(60);
  s.forgive_after = Duration::seconds(86400);
  s.mitigation_rate = 50;
  return s;
}

detect::Finding finding(std::string_view detector, const IpAddress& src, Timestamp ts) {
  detect::Finding f;
  f.detector = detector;
  f.kind = detector;
  f.source = src;
  f.target = kVictim;
  f.target_port = 80;
  f.proto = 6;
  f.ts = ts;
  f.signature = "test";
  return f;
}

TEST(Policy, BlocksTheAddressOnceWhileTheBanLasts) {
  MemoryHistory h;
  Policy p(settings(), h);
  auto v = p.decide(finding("port_scan", kScanner, kT0), kT0);
  ASSERT_TRUE(v.decision);
  EXPECT_EQ(v.decision->action, core::DecisionAction::block);
  EXPECT_EQ(v.decision->target.to_string(), "198.19.0.40/32");
  EXPECT_EQ(v.decision->duration, Duration::minutes(10));
  EXPECT_EQ(v.decision->offence, 1u);
  // An update of the same finding during the ban decides nothing new.
  auto again = p.decide(finding("port_scan", kScanner, kT0 + Duration::minutes(5)), kT0 + Duration::minutes(5));
  EXPECT_FALSE(again.decision);
  EXPECT_TRUE(again.already_active);
}

TEST(Policy, RepeatOffendersGetLongerBansUpToTheCapAndAreForgiven) {
  MemoryHistory h;
  Policy p(settings(), h);
  Timestamp t = kT0;
  const Duration want[] = {Duration::minutes(10), Duration::minutes(20), Duration::minutes(40), Duration::minutes(60),
                           Duration::minutes(60)};
  for (const auto& w : want) {
    auto v = p.decide(finding("port_scan", kScanner, t), t);
    ASSERT_TRUE(v.decision);
    EXPECT_EQ(v.decision->duration, w);
    t = t + v.decision->duration + Duration::seconds(1);  // comes back right after the ban
  }
  // Quiet for longer than forgive_after: back to the base duration.
  t = t + Duration::seconds(86400 + 1);
  auto v = p.decide(finding("port_scan", kScanner, t), t);
  ASSERT_TRUE(v.decision);
  EXPECT_EQ(v.decision->duration, Duration::minutes(10));
  EXPECT_EQ(v.decision->offence, 1u);
}

TEST(Policy, PrefixScopeAndSubnetFindings) {
  MemoryHistory h;
  Policy p(settings(), h);
  auto v = p.decide(finding("syn_flood", kScanner, kT0), kT0);
  ASSERT_TRUE(v.decision);
  EXPECT_EQ(v.decision->target.to_string(), "198.19.0.0/24");
  detect::Finding sub = finding("subnet_conn", IpAddress{}, kT0);
  sub.source_prefix = *Prefix::parse("198.19.40.0/24");
  v = p.decide(sub, kT0);
  ASSERT_TRUE(v.decision);
  EXPECT_EQ(v.decision->target.to_string(), "198.19.40.0/24");
}

TEST(Policy, AllowlistedOffendersAreNeverBlocked) {
  MemoryHistory h;
  Policy p(settings(), h);
  auto v = p.decide(finding("port_scan", *IpAddress::parse("198.18.0.77"), kT0), kT0);
  EXPECT_FALSE(v.decision);
  EXPECT_TRUE(v.allowlisted);
  v = p.decide(finding("port_scan", *IpAddress::parse("2001:db8:ffff::5"), kT0), kT0);
  EXPECT_TRUE(v.allowlisted);
  // A prefix ban that would cover an allowlisted address is refused too.
  detect::Finding sub = finding("subnet_conn", IpAddress{}, kT0);
  sub.source_prefix = *Prefix::parse("198.18.0.0/16");
  v = p.decide(sub, kT0);
  EXPECT_FALSE(v.decision);
  EXPECT_TRUE(v.allowlisted);
}

TEST(Policy, SpoofedFloodsAreMitigatedNeverBannedPerSource) {
  MemoryHistory h;
  Policy p(settings(), h);
  detect::Finding f = finding("spoofed_flood", IpAddress{}, kT0);
  f.aggregate = true;
  auto v = p.decide(f, kT0);
  ASSERT_TRUE(v.decision);
  EXPECT_EQ(v.decision->action, core::DecisionAction::rate_limit);
  EXPECT_EQ(v.decision->target.address(), kVictim);
  EXPECT_EQ(v.decision->port, 80);
  EXPECT_EQ(v.decision->rate_per_second, 50u);
  // Aggregate evidence from a blocking detector still bans nobody.
  detect::Finding agg = finding("port_scan", kScanner, kT0);
  agg.aggregate = true;
  EXPECT_FALSE(p.decide(agg, kT0).decision);
  // Alert-only detectors decide nothing.
  EXPECT_FALSE(p.decide(finding("large_packet", kScanner, kT0), kT0).decision);
}

TEST(PolicyResponder, WritesDecisionEventsAndAppliesOneBatchPerTick) {
  MemoryHistory h;
  Policy p(settings(), h);
  enforce::DryRunEnforcer dry;
  PolicyResponder r(p, &dry);
  auto resp = r.respond(finding("port_scan", kScanner, kT0), kT0);
  EXPECT_TRUE(resp.blocked);
  ASSERT_EQ(resp.events.size(), 1u);
  EXPECT_EQ(output::to_json_line(resp.events[0]).find("\"event_type\":\"decision\"") != std::string::npos, true);
  EXPECT_EQ(resp.events[0].body["action"], "block");
  EXPECT_EQ(resp.events[0].body["target"], "198.19.0.40");
  EXPECT_TRUE(dry.applied().empty());  // not before the end of the tick
  EXPECT_TRUE(r.end_tick(kT0).empty());
  ASSERT_EQ(dry.applied().size(), 1u);
  EXPECT_EQ(r.decisions(), 1u);
  auto bans = dry.list();
  ASSERT_TRUE(bans.ok());
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].target.to_string(), "198.19.0.40/32");
}

// A backend that fails: detection goes on, the failure is an event, the batch is retried later.
class FailingEnforcer : public enforce::DryRunEnforcer {
 public:
  core::Result<void> apply(std::span<const core::Decision> batch) override {
    if (fail) return core::make_error("nftables: Operation not permitted");
    return DryRunEnforcer::apply(batch);
  }
  bool fail = true;
};

TEST(PolicyResponder, BackendFailureIsReportedAndRetriedWithBackoff) {
  MemoryHistory h;
  Policy p(settings(), h);
  FailingEnforcer bad;
  PolicyResponder r(p, &bad);
  r.respond(finding("port_scan", kScanner, kT0), kT0);
  auto ev = r.end_tick(kT0);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].body["event"], "apply_failed");
  EXPECT_TRUE(r.end_tick(kT0 + Duration::millis(500)).empty());  // backing off: no retry yet
  bad.fail = false;
  EXPECT_TRUE(r.end_tick(kT0 + Duration::seconds(1)).empty());
  EXPECT_EQ(bad.applied().size(), 1u);
  EXPECT_EQ(r.enforcer_failures(), 1u);
}

TEST(PolicyResponder, IdsModeDecidesButAppliesNothing) {
  MemoryHistory h;
  auto s = settings();
  s.dry_run = true;
  Policy p(s, h);
  enforce::DryRunEnforcer dry;
  PolicyResponder r(p, &dry);
  auto resp = r.respond(finding("port_scan", kScanner, kT0), kT0);
  ASSERT_EQ(resp.events.size(), 1u);
  EXPECT_EQ(resp.events[0].body["dry_run"], true);
  r.end_tick(kT0);
  EXPECT_TRUE(dry.applied().empty());
}

}  // namespace
}  // namespace picket::policy

namespace picket::policy {
namespace {

TEST(LocalAddresses, IncludeLoopback) {
  const auto local = local_addresses_and_gateways();
  EXPECT_NE(std::find(local.begin(), local.end(), *core::Prefix::parse("127.0.0.1/32")), local.end());
}

TEST(LocalAddresses, DefaultGatewaysFromProcFiles) {
  const char* route =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t011212C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
      "eth0\t001212C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
      "garbage line\n";
  const auto v4 = parse_proc_net_route(route);
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].to_string(), "198.18.18.1");
  const char* route6 =
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 "
      "00000400 00000001 00000000 00000003 eth0\n"
      "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 "
      "00000100 00000001 00000000 00000001 eth0\n"
      "short\n";
  const auto v6 = parse_proc_net_ipv6_route(route6);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].to_string(), "2001:db8::1");
}

}  // namespace
}  // namespace picket::policy

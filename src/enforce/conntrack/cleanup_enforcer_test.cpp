// ConntrackCleanupEnforcer with a fake inner backend and a fake conntrack table: what is
// forwarded, what is cleaned, and that a failing cleanup never fails apply().
#include "enforce/conntrack/cleanup_enforcer.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace picket::enforce::conntrack {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Prefix;

Prefix pfx(const char* text) { return *Prefix::parse(text); }

Decision make(DecisionAction a, const char* target) {
  Decision d;
  d.action = a;
  d.target = pfx(target);
  d.duration = a == DecisionAction::block ? core::Duration::seconds(60) : core::Duration{};
  if (a == DecisionAction::rate_limit || a == DecisionAction::unrate_limit) {
    d.port = 80;
    d.proto = 6;
    d.rate_per_second = 10;
  }
  return d;
}

// Records the calls it gets; apply() fails when told to.
struct FakeEnforcer : Enforcer {
  std::vector<std::string>* calls;
  bool fail_apply = false;
  explicit FakeEnforcer(std::vector<std::string>* c) : calls(c) {}
  std::string_view name() const noexcept override { return "fake"; }
  core::Result<void> init() override { return note("init"); }
  core::Result<void> apply(std::span<const Decision> batch) override {
    calls->push_back("apply " + std::to_string(batch.size()));
    if (fail_apply) return core::make_error("fake: apply refused");
    return {};
  }
  core::Result<std::vector<core::Ban>> list() const override {
    calls->push_back("list");
    return std::vector<core::Ban>{core::Ban{pfx("198.18.0.2"), {}, "x", "", 1}};
  }
  core::Result<std::vector<RateLimit>> list_rate_limits() const override {
    calls->push_back("list_rate_limits");
    return std::vector<RateLimit>{RateLimit{}, RateLimit{}};
  }
  core::Result<void> flush() override { return note("flush"); }
  core::Result<void> remove() override { return note("remove"); }
  core::Result<void> note(const char* what) {
    calls->push_back(what);
    return {};
  }
};

// Removes `per_target` entries per call; fails for the prefixes in `failing`.
struct FakeTable : ConntrackTable {
  std::vector<Prefix>* cleaned;
  std::set<Prefix> failing;
  uint64_t per_target = 3;
  explicit FakeTable(std::vector<Prefix>* c) : cleaned(c) {}
  core::Result<uint64_t> remove_from(const Prefix& source) override {
    cleaned->push_back(source);
    if (failing.count(source) != 0) return core::make_error("conntrack: dump " + source.to_string() + ": Operation not permitted");
    return per_target;
  }
};

struct Rig {
  std::vector<std::string> calls;
  std::vector<Prefix> cleaned;
  FakeEnforcer* inner = nullptr;
  FakeTable* table = nullptr;
  std::unique_ptr<ConntrackCleanupEnforcer> enforcer;
  Rig() {
    auto e = std::make_unique<FakeEnforcer>(&calls);
    inner = e.get();
    auto t = std::make_unique<FakeTable>(&cleaned);
    table = t.get();
    enforcer = std::make_unique<ConntrackCleanupEnforcer>(std::move(e), ConntrackCleaner(std::move(t)));
  }
};

TEST(ConntrackCleanupEnforcer, ForwardsEveryCall) {
  Rig rig;
  EXPECT_EQ(rig.enforcer->name(), "fake");
  ASSERT_TRUE(rig.enforcer->init());
  auto bans = rig.enforcer->list();
  ASSERT_TRUE(bans);
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].target, pfx("198.18.0.2"));
  auto limits = rig.enforcer->list_rate_limits();
  ASSERT_TRUE(limits);
  EXPECT_EQ(limits->size(), 2u);
  ASSERT_TRUE(rig.enforcer->flush());
  ASSERT_TRUE(rig.enforcer->remove());
  EXPECT_EQ(rig.calls, (std::vector<std::string>{"init", "list", "list_rate_limits", "flush", "remove"}));
  EXPECT_TRUE(rig.cleaned.empty());
}

struct CleanCase {
  const char* name;
  std::vector<Decision> batch;
  std::vector<const char*> cleaned;  // in Prefix order
};

TEST(ConntrackCleanupEnforcer, CleansTheBatchsFinalBlocks) {
  using A = DecisionAction;
  const std::vector<CleanCase> cases = {
      {"one v4 block", {make(A::block, "198.18.0.2")}, {"198.18.0.2"}},
      {"v6 and a prefix", {make(A::block, "2001:db8::2"), make(A::block, "198.18.1.0/24")},
       {"198.18.1.0/24", "2001:db8::2"}},
      {"same target twice, cleaned once", {make(A::block, "198.18.0.2"), make(A::block, "198.18.0.2")}, {"198.18.0.2"}},
      {"block then unblock: not cleaned", {make(A::block, "198.18.0.2"), make(A::unblock, "198.18.0.2")}, {}},
      {"unblock then block: cleaned", {make(A::unblock, "198.18.0.2"), make(A::block, "198.18.0.2")}, {"198.18.0.2"}},
      {"unblock only", {make(A::unblock, "198.18.0.3")}, {}},
      {"rate limits are not bans", {make(A::rate_limit, "198.18.0.1"), make(A::unrate_limit, "198.18.0.1")}, {}},
      {"empty batch", {}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Rig rig;
    ASSERT_TRUE(rig.enforcer->apply(c.batch));
    ASSERT_EQ(rig.calls.size(), 1u);
    EXPECT_EQ(rig.calls[0], "apply " + std::to_string(c.batch.size()));
    std::vector<Prefix> want;
    for (const char* t : c.cleaned) want.push_back(pfx(t));
    EXPECT_EQ(rig.cleaned, want);
    EXPECT_EQ(rig.enforcer->stats().cleanups, want.size());
    EXPECT_EQ(rig.enforcer->stats().entries_removed, want.size() * rig.table->per_target);
    EXPECT_EQ(rig.enforcer->stats().failures, 0u);
  }
}

TEST(ConntrackCleanupEnforcer, CountsAcrossApplies) {
  Rig rig;
  rig.table->per_target = 5;
  ASSERT_TRUE(rig.enforcer->apply(std::vector<Decision>{make(DecisionAction::block, "198.18.0.2")}));
  rig.table->per_target = 0;  // nothing left to remove is a success with 0 entries
  ASSERT_TRUE(rig.enforcer->apply(std::vector<Decision>{make(DecisionAction::block, "198.18.0.3")}));
  EXPECT_EQ(rig.enforcer->stats().cleanups, 2u);
  EXPECT_EQ(rig.enforcer->stats().entries_removed, 5u);
}

TEST(ConntrackCleanupEnforcer, FailedApplyCleansNothing) {
  Rig rig;
  rig.inner->fail_apply = true;
  auto r = rig.enforcer->apply(std::vector<Decision>{make(DecisionAction::block, "198.18.0.2")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "fake: apply refused");
  EXPECT_TRUE(rig.cleaned.empty());
  EXPECT_EQ(rig.enforcer->stats().cleanups, 0u);
  EXPECT_EQ(rig.enforcer->stats().failures, 0u);
}

TEST(ConntrackCleanupEnforcer, FailingCleanupIsCountedNotReturned) {
  Rig rig;
  rig.table->failing = {pfx("198.18.0.2")};
  ASSERT_TRUE(rig.enforcer->apply(
      std::vector<Decision>{make(DecisionAction::block, "198.18.0.2"), make(DecisionAction::block, "198.18.0.3")}));
  // The failure does not stop the other target's cleanup.
  EXPECT_EQ(rig.cleaned, (std::vector<Prefix>{pfx("198.18.0.2"), pfx("198.18.0.3")}));
  EXPECT_EQ(rig.enforcer->stats().failures, 1u);
  EXPECT_EQ(rig.enforcer->stats().cleanups, 1u);
  EXPECT_EQ(rig.enforcer->stats().entries_removed, rig.table->per_target);
  EXPECT_EQ(rig.enforcer->stats().last_error,
            "conntrack: dump " + pfx("198.18.0.2").to_string() + ": Operation not permitted");
}

TEST(ConntrackCleaner, RefusesSourcesThatAreNotBans) {
  std::vector<Prefix> cleaned;
  ConntrackCleaner cleaner(std::make_unique<FakeTable>(&cleaned));
  auto none = cleaner.remove_from(Prefix{});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no address family"), std::string::npos);
  for (const char* everything : {"0.0.0.0/0", "::/0"}) {
    auto r = cleaner.remove_from(pfx(everything));
    ASSERT_FALSE(r) << everything;
    EXPECT_NE(r.error().message.find("zero-length"), std::string::npos);
  }
  EXPECT_TRUE(cleaned.empty());
  auto ok = cleaner.remove_from(pfx("198.18.0.0/15"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 3u);
}

}  // namespace
}  // namespace picket::enforce::conntrack

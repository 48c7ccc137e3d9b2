#include "enforce/exec/exec_enforcer.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.hpp"
#include "enforce/exec/exec_test_support.hpp"

namespace picket::enforce::exec {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::Prefix;
using core::Timestamp;
using Calls = std::vector<std::vector<std::string>>;

Decision make(DecisionAction a, const char* target, Duration d = {}) {
  Decision x;
  x.action = a;
  x.target = *Prefix::parse(target);
  x.duration = d;
  x.detector = "port_scan";
  x.reason = "scan";
  return x;
}

class ExecEnforcerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    rec_ = dir_.recorder(log_);
  }
  std::unique_ptr<ExecEnforcer> open(ExecSettings s) {
    auto e = ExecEnforcer::create(s, [this] { return now_; });
    EXPECT_TRUE(e) << e.error().message;
    if (!e) return nullptr;
    auto r = (*e)->init();
    EXPECT_TRUE(r) << r.error().message;
    return std::move(e).value();
  }
  ExecSettings standard() {
    ExecSettings s;
    s.block = {rec_, "block", "{address}", "{duration}", "{detector}"};
    s.unblock = {rec_, "unblock", "{address}", "{detector}"};
    s.timeout = Duration::seconds(5);
    return s;
  }
  Calls calls() const { return test::ScratchDir::calls(log_); }

  test::ScratchDir dir_;
  std::string log_ = dir_.file("log");
  std::string rec_;
  Timestamp now_ = Timestamp::from_parts(1'800'000'000, 0);
};

TEST_F(ExecEnforcerTest, BlockAndUnblockRunTheirCommandsWithExactArguments) {
  auto e = open(standard());
  ASSERT_TRUE(e);
  const Decision batch[] = {make(DecisionAction::block, "192.0.2.7", Duration::seconds(600)),
                            make(DecisionAction::block, "198.18.0.0/24", Duration::seconds(60)),
                            make(DecisionAction::unblock, "192.0.2.7")};
  auto r = e->apply(batch);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(calls(), (Calls{{"block", "192.0.2.7", "600", "port_scan"},
                            {"block", "198.18.0.0/24", "60", "port_scan"},
                            {"unblock", "192.0.2.7", "port_scan"}}));
  auto bans = e->list();
  ASSERT_TRUE(bans);
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].target.to_string(), "198.18.0.0/24");
  EXPECT_EQ((*bans)[0].remaining, Duration::seconds(60));
  EXPECT_EQ((*bans)[0].detector, "port_scan");
  // Unblocking what is not held runs nothing and is not an error.
  const Decision again[] = {make(DecisionAction::unblock, "192.0.2.99")};
  EXPECT_TRUE(e->apply(again));
  EXPECT_EQ(calls().size(), 3u);
}

TEST_F(ExecEnforcerTest, ReblockLiftsFirstAndRestartsTheTimer) {
  auto e = open(standard());
  ASSERT_TRUE(e);
  const Decision first[] = {make(DecisionAction::block, "192.0.2.7", Duration::seconds(60))};
  ASSERT_TRUE(e->apply(first));
  now_ = now_ + Duration::seconds(30);
  const Decision second[] = {make(DecisionAction::block, "192.0.2.7", Duration::seconds(600))};
  ASSERT_TRUE(e->apply(second));
  EXPECT_EQ(calls(), (Calls{{"block", "192.0.2.7", "60", "port_scan"},
                            {"unblock", "192.0.2.7", "port_scan"},
                            {"block", "192.0.2.7", "600", "port_scan"}}));
  auto bans = e->list();
  ASSERT_TRUE(bans);
  ASSERT_EQ(bans->size(), 1u);
  EXPECT_EQ((*bans)[0].remaining, Duration::seconds(600));
}

TEST_F(ExecEnforcerTest, ExpireRunsUnblockForDueBansOnly) {
  auto e = open(standard());
  ASSERT_TRUE(e);
  const Decision batch[] = {make(DecisionAction::block, "192.0.2.1", Duration::seconds(10)),
                            make(DecisionAction::block, "192.0.2.2", Duration::seconds(100)),
                            make(DecisionAction::block, "192.0.2.3")};  // no timeout
  ASSERT_TRUE(e->apply(batch));
  auto n = e->expire(now_ + Duration::seconds(5));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  now_ = now_ + Duration::seconds(10);
  n = e->expire(now_);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(calls().back(), (std::vector<std::string>{"unblock", "192.0.2.1", "port_scan"}));
  auto bans = e->list();
  ASSERT_TRUE(bans);
  ASSERT_EQ(bans->size(), 2u);
  EXPECT_EQ((*bans)[0].remaining, Duration::seconds(90));
  EXPECT_EQ((*bans)[1].remaining, Duration{});
}

TEST_F(ExecEnforcerTest, InvalidOrRefusedDecisionRunsNothing) {
  auto e = open(standard());
  ASSERT_TRUE(e);
  Decision bad_detector = make(DecisionAction::block, "192.0.2.8", Duration::seconds(5));
  bad_detector.detector = "x; touch " + dir_.file("pwned");
  Decision no_target;
  no_target.action = DecisionAction::block;
  for (const Decision& bad : {bad_detector, no_target}) {
    const Decision batch[] = {make(DecisionAction::block, "192.0.2.7", Duration::seconds(5)), bad};
    EXPECT_FALSE(e->apply(batch));
  }
  EXPECT_TRUE(calls().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.file("pwned")));
  EXPECT_TRUE(e->list()->empty());
}

TEST_F(ExecEnforcerTest, ShellSyntaxInFieldsIsOneInertArgument) {
  ExecSettings s = standard();
  s.block = {rec_, "block", "{address}", "reason={reason}"};
  auto e = open(s);
  ASSERT_TRUE(e);
  Decision d = make(DecisionAction::block, "2001:db8::7", Duration::seconds(5));
  const std::string pwned = dir_.file("pwned");
  d.reason = "$(touch " + pwned + "); touch " + pwned + " `touch " + pwned + "`\n--help";
  const Decision batch[] = {d};
  ASSERT_TRUE(e->apply(batch));
  ASSERT_EQ(calls().size(), 1u);
  EXPECT_EQ(calls()[0], (std::vector<std::string>{"block", "2001:db8::7",
                                                  "reason=$(touch " + pwned + "); touch " + pwned + " `touch " +
                                                      pwned + "` --help"}));
  EXPECT_FALSE(std::filesystem::exists(pwned));
}

TEST_F(ExecEnforcerTest, FailingCommandStopsTheBatchWithStatusAndStderr) {
  ExecSettings s = standard();
  s.block = {dir_.script("fail.sh", "case \"$1\" in 192.0.2.2) echo 'rule exists' >&2; exit 4;; esac\nexit 0\n"),
             "{address}"};
  auto e = open(s);
  ASSERT_TRUE(e);
  const Decision batch[] = {make(DecisionAction::block, "192.0.2.1", Duration::seconds(5)),
                            make(DecisionAction::block, "192.0.2.2", Duration::seconds(5)),
                            make(DecisionAction::block, "192.0.2.3", Duration::seconds(5))};
  auto r = e->apply(batch);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exit status 4: rule exists"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("1 of 3 decisions applied"), std::string::npos) << r.error().message;
  ASSERT_EQ(e->list()->size(), 1u);
  EXPECT_EQ(e->list()->front().target.to_string(), "192.0.2.1/32");
}

TEST_F(ExecEnforcerTest, HangingCommandIsKilledAtTheTimeout) {
  ExecSettings s = standard();
  s.block = {"sleep", "30"};
  s.timeout = Duration::millis(200);
  auto e = open(s);
  ASSERT_TRUE(e);
  const Decision batch[] = {make(DecisionAction::block, "192.0.2.1", Duration::seconds(5))};
  auto r = e->apply(batch);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("timed out after 200ms (killed)"), std::string::npos) << r.error().message;
  EXPECT_TRUE(e->list()->empty());
}

TEST_F(ExecEnforcerTest, FlushUsesItsCommandOrUnblocksEach) {
  {
    auto e = open(standard());
    ASSERT_TRUE(e);
    const Decision batch[] = {make(DecisionAction::block, "192.0.2.1", Duration::seconds(5)),
                              make(DecisionAction::block, "192.0.2.2", Duration::seconds(5))};
    ASSERT_TRUE(e->apply(batch));
    ASSERT_TRUE(e->flush());
    EXPECT_TRUE(e->list()->empty());
    const Calls c = calls();
    ASSERT_EQ(c.size(), 4u);
    EXPECT_EQ(c[2][0], "unblock");
    EXPECT_EQ(c[3][0], "unblock");
  }
  ExecSettings s = standard();
  s.flush = {rec_, "flush-all"};
  auto e = open(s);
  ASSERT_TRUE(e);
  const Decision batch[] = {make(DecisionAction::block, "192.0.2.1", Duration::seconds(5))};
  ASSERT_TRUE(e->apply(batch));
  ASSERT_TRUE(e->remove());
  EXPECT_EQ(calls().back(), (std::vector<std::string>{"flush-all"}));
  EXPECT_TRUE(e->list()->empty());
}

TEST_F(ExecEnforcerTest, RateLimitsNeedTheirTemplates) {
  auto e = open(standard());
  ASSERT_TRUE(e);
  Decision rl = make(DecisionAction::rate_limit, "192.0.2.1", Duration::seconds(30));
  rl.port = 80;
  rl.proto = 6;
  rl.rate_per_second = 20;
  const Decision batch[] = {rl};
  EXPECT_FALSE(e->apply(batch));

  ExecSettings s = standard();
  s.rate_limit = {rec_, "limit", "{address}", "{port}/{proto}", "{rate}"};
  s.unrate_limit = {rec_, "unlimit", "{address}", "{port}/{proto}"};
  auto e2 = open(s);
  ASSERT_TRUE(e2);
  ASSERT_TRUE(e2->apply(batch));
  auto rls = e2->list_rate_limits();
  ASSERT_TRUE(rls);
  ASSERT_EQ(rls->size(), 1u);
  EXPECT_EQ((*rls)[0].rate_per_second, 20u);
  EXPECT_TRUE(e2->list()->empty());
  now_ = now_ + Duration::seconds(30);
  ASSERT_TRUE(e2->expire(now_));
  EXPECT_EQ(calls().back(), (std::vector<std::string>{"unlimit", "192.0.2.1", "80/tcp"}));
  EXPECT_TRUE(e2->list_rate_limits()->empty());
}

TEST_F(ExecEnforcerTest, InitChecksTheConfiguration) {
  ExecSettings s = standard();
  s.unblock.clear();
  EXPECT_FALSE((*ExecEnforcer::create(s))->init());
  s = standard();
  s.block[0] = "picket-no-such-program-xyz";
  EXPECT_FALSE((*ExecEnforcer::create(s))->init());
  s = standard();
  s.rate_limit = {rec_, "x"};
  EXPECT_FALSE((*ExecEnforcer::create(s))->init());
  s = standard();
  s.block.push_back("{nope}");
  EXPECT_FALSE(ExecEnforcer::create(s));
}

TEST(ExecConfig, DeclaresItsKeysAndReadsThem) {
  config::Schema schema;
  declare_config(schema);
  for (const char* k : {"enforce.exec.block", "enforce.exec.unblock", "enforce.exec.flush", "enforce.exec.rate_limit",
                        "enforce.exec.unrate_limit", "enforce.exec.timeout"}) {
    EXPECT_NE(schema.find(k), nullptr) << k;
  }
  auto loaded = config::load_string(schema,
                                    "enforce:\n  exec:\n    block: [netsh, advfirewall, firewall, add, rule, "
                                    "\"name=picket {address}\", dir=in, action=block, \"remoteip={address}\"]\n"
                                    "    timeout: 3s\n",
                                    "test.yaml");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  const ExecSettings s = settings_from_config(*loaded.config);
  EXPECT_EQ(s.block, (std::vector<std::string>{"netsh", "advfirewall", "firewall", "add", "rule", "name=picket {address}",
                                               "dir=in", "action=block", "remoteip={address}"}));
  EXPECT_EQ(s.timeout, Duration::seconds(3));
  EXPECT_TRUE(s.unblock.empty());
}

}  // namespace
}  // namespace picket::enforce::exec

// IpsetEnforcer with a fake CommandRunner: which commands run, with which stdin, and how their
// output and failures are read. The kernel behaviour is in ipset_kernel_test.cpp.
#include "enforce/ipset/ipset_enforcer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include <fmt/format.h>

namespace picket::enforce::ipset {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::Prefix;

struct Call {
  std::vector<std::string> argv;
  std::string in;
};

class FakeRunner : public CommandRunner {
 public:
  explicit FakeRunner(std::vector<Call>* calls) : calls_(calls) {}
  core::Result<exec::ProcessResult> run(const std::vector<std::string>& argv, std::string_view in) override {
    calls_->push_back(Call{argv, std::string(in)});
    if (replies_.empty()) return exec::ProcessResult{0, 0, false, false, {}, {}};
    auto r = replies_.front();
    replies_.pop_front();
    return r;
  }
  std::deque<core::Result<exec::ProcessResult>> replies_;

 private:
  std::vector<Call>* calls_;
};

exec::ProcessResult exited(int code, std::string out = {}, std::string err = {}) {
  return exec::ProcessResult{code, 0, false, false, std::move(out), std::move(err)};
}

Decision block(const char* target, Duration d, const char* detector = "port_scan") {
  Decision x;
  x.action = DecisionAction::block;
  x.target = *Prefix::parse(target);
  x.duration = d;
  x.detector = detector;
  return x;
}
Decision unblock(const char* target) {
  Decision x;
  x.action = DecisionAction::unblock;
  x.target = *Prefix::parse(target);
  return x;
}

class IpsetEnforcerTest : public ::testing::Test {
 protected:
  IpsetEnforcerTest() {
    auto r = std::make_unique<FakeRunner>(&calls_);
    runner_ = r.get();
    enforcer_ = std::make_unique<IpsetEnforcer>(IpsetSettings{}, std::move(r));
  }
  std::vector<Call> calls_;
  FakeRunner* runner_;
  std::unique_ptr<IpsetEnforcer> enforcer_;
};

TEST_F(IpsetEnforcerTest, OneRestoreProcessPerBatch) {
  std::vector<Decision> batch;
  for (int i = 0; i < 1000; ++i) {
    batch.push_back(block(fmt::format("198.18.{}.{}", i / 250, i % 250 + 1).c_str(), Duration::seconds(60)));
  }
  ASSERT_TRUE(enforcer_->apply(batch));
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].argv, (std::vector<std::string>{"ipset", "restore", "-exist"}));
  EXPECT_EQ(std::count(calls_[0].in.begin(), calls_[0].in.end(), '\n'), 1000);
}

TEST_F(IpsetEnforcerTest, ScriptChoosesTheSetAndRoundsTimeoutsUp) {
  const Decision batch[] = {
      block("192.0.2.7", Duration::seconds(600)),
      block("2001:db8::7", Duration::millis(500)),           // never 0 (= no timeout)
      block("198.18.0.0/24", Duration{}),                    // no timeout
      block("2001:db8:1::/48", Duration::seconds(100 * 86400)),  // capped at ipset's maximum
      block("192.0.2.8", Duration::seconds(5), "x\" ; flush"),   // unsafe detector: no comment
      unblock("192.0.2.7"),
  };
  auto s = enforcer_->restore_script(batch);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s,
            "add picket4 192.0.2.7 timeout 600 comment \"port_scan\"\n"
            "add picket6 2001:db8::7 timeout 1 comment \"port_scan\"\n"
            "add picket_net4 198.18.0.0/24 timeout 0 comment \"port_scan\"\n"
            "add picket_net6 2001:db8:1::/48 timeout 2147483 comment \"port_scan\"\n"
            "add picket4 192.0.2.8 timeout 5\n"
            "del picket4 192.0.2.7\n");
}

TEST_F(IpsetEnforcerTest, RefusedBatchesRunNothing) {
  Decision rl = block("192.0.2.1", Duration::seconds(5));
  rl.action = DecisionAction::rate_limit;
  rl.port = 80;
  rl.proto = 6;
  rl.rate_per_second = 10;
  Decision empty;
  const std::vector<std::pair<Decision, std::string>> cases = {
      {rl, "not supported by the ipset backend"},
      {block("0.0.0.0/0", Duration::seconds(5)), "/0"},
      {empty, "no address"},
      {block("192.0.2.1", Duration::nanos(-1)), "negative"},
  };
  for (const auto& [bad, why] : cases) {
    const Decision batch[] = {block("192.0.2.9", Duration::seconds(5)), bad};
    auto r = enforcer_->apply(batch);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(calls_.empty());
}

TEST_F(IpsetEnforcerTest, FailingLineNamesItsDecision) {
  runner_->replies_.push_back(exited(1, {}, "ipset v7.17: Error in line 2: Hash is full, cannot add more elements"));
  const Decision batch[] = {block("192.0.2.1", Duration::seconds(5)), block("192.0.2.2", Duration::seconds(5))};
  auto r = enforcer_->apply(batch);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("block 192.0.2.2/32"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("Hash is full"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("1 of 2 decisions applied"), std::string::npos) << r.error().message;
}

TEST_F(IpsetEnforcerTest, MissingBinaryIsReported) {
  runner_->replies_.push_back(core::make_error("run ipset: No such file or directory"));
  auto r = enforcer_->init();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos) << r.error().message;
}

TEST_F(IpsetEnforcerTest, InitCreatesSetsAndAddsOnlyMissingRules) {
  runner_->replies_ = {exited(0), exited(0), exited(1), exited(0), exited(0), exited(0)};
  ASSERT_TRUE(enforcer_->init());
  ASSERT_EQ(calls_.size(), 6u);  // restore, -C (present), -C (missing), -I, -C, -C
  EXPECT_NE(calls_[0].in.find("create picket_net6 hash:net family inet6"), std::string::npos);
  EXPECT_EQ(calls_[1].argv[5], "-C");
  EXPECT_EQ(calls_[2].argv[0], "ip6tables");
  EXPECT_EQ(calls_[3].argv[5], "-I");
  EXPECT_EQ(calls_[3].argv[10], "picket6");
  // An unexpected status from -C is an error, not a silent duplicate rule.
  calls_.clear();
  runner_->replies_ = {exited(0), exited(2, {}, "iptables: can't initialize")};
  EXPECT_FALSE(enforcer_->init());
}

TEST_F(IpsetEnforcerTest, ListParsesOnlyPicketsSets) {
  runner_->replies_.push_back(exited(0,
                                     "create other hash:ip family inet hashsize 1024 maxelem 65536\n"
                                     "add other 10.0.0.1\n"
                                     "create picket4 hash:ip family inet hashsize 1024 maxelem 1024 timeout 0 comment\n"
                                     "add picket4 192.0.2.7 timeout 30 comment \"port_scan\"\n"
                                     "add picket4 192.0.2.8 timeout 0\n"
                                     "add picket_net6 2001:db8::/32 timeout 5 comment \"x\"\n"));
  auto bans = enforcer_->list();
  ASSERT_TRUE(bans) << bans.error().message;
  ASSERT_EQ(bans->size(), 3u);
  EXPECT_EQ((*bans)[0].target.to_string(), "192.0.2.7/32");
  EXPECT_EQ((*bans)[0].remaining, Duration::seconds(30));
  EXPECT_EQ((*bans)[0].detector, "port_scan");
  EXPECT_EQ((*bans)[1].remaining, Duration{});
  EXPECT_EQ((*bans)[2].target.to_string(), "2001:db8::/32");
}

TEST(ParseSave, RejectsMalformedElementsOfItsOwnSets) {
  EXPECT_FALSE(parse_save("add picket4 not-an-ip timeout 3\n"));
  EXPECT_FALSE(parse_save("add picket4 1.2.3.4 timeout -3\n"));
  EXPECT_FALSE(parse_save("add picket4 1.2.3.4 timeout 3x\n"));
  EXPECT_TRUE(parse_save("add someone_else garbage\n\n\ncreate x\n"));
  EXPECT_TRUE(parse_save(""));
}

TEST_F(IpsetEnforcerTest, RemoveDeletesEveryRuleCopyThenDestroysExistingSets) {
  runner_->replies_ = {exited(0, "other\npicket4\npicket_net6\n"),
                       exited(0), exited(0), exited(1),  // picket4's rule: two copies
                       exited(1),                        // picket_net6's: none
                       exited(0)};
  ASSERT_TRUE(enforcer_->remove());
  ASSERT_EQ(calls_.size(), 6u);
  EXPECT_EQ(calls_[1].argv[10], "picket4");
  EXPECT_EQ(calls_[4].argv[10], "picket_net6");
  EXPECT_EQ(calls_[5].in, "destroy picket4\ndestroy picket_net6\n");
  // Nothing left: one `ipset list -n`, nothing else.
  calls_.clear();
  runner_->replies_ = {exited(0, "other\n")};
  ASSERT_TRUE(enforcer_->remove());
  EXPECT_EQ(calls_.size(), 1u);
}

TEST(IpsetConfig, DeclaresItsKeys) {
  config::Schema schema;
  declare_config(schema);
  EXPECT_NE(schema.find("enforce.ipset.maxelem"), nullptr);
  const IpsetSettings s = settings_from_config(config::defaults(schema, config::Profile::normal));
  EXPECT_EQ(s.maxelem, 1'048'576u);
}

}  // namespace
}  // namespace picket::enforce::ipset

// IpsetEnforcer against the real kernel, inside two network namespaces the test creates (see
// enforce/testing/netns.hpp). Every ipset/iptables command runs under `ip netns exec HOST`, so the
// root namespace's firewall is never touched (the test checks that its set list is unchanged).
// Skipped (with the reason) when not root or when ipset/iptables are missing.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "enforce/ipset/ipset_enforcer.hpp"
#include "enforce/testing/netns.hpp"

namespace picket::enforce::ipset {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::IpAddress;
using core::Prefix;
using std::chrono::milliseconds;
using testing::NetnsPair;
using testing::run_command;

constexpr uint16_t kPort = 8080;
constexpr milliseconds kBlockedWait{300};
constexpr milliseconds kPassWait{2000};

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
Prefix pfx(const char* text) { return *Prefix::parse(text); }

Decision block(const char* target, Duration d) {
  Decision x;
  x.action = DecisionAction::block;
  x.target = pfx(target);
  x.duration = d;
  x.detector = "port_scan";
  return x;
}
Decision unblock(const char* target) {
  Decision x;
  x.action = DecisionAction::unblock;
  x.target = pfx(target);
  return x;
}

std::string root_sets() { return run_command({"ipset", "list", "-n"}).output; }

class IpsetKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::kernel_test_skip_reason(); !why.empty()) GTEST_SKIP() << why;
    if (run_command({"ipset", "--version"}).exit_code != 0) GTEST_SKIP() << "no `ipset` command";
    if (run_command({"iptables", "--version"}).exit_code != 0) GTEST_SKIP() << "no `iptables` command";
    root_before_ = root_sets();
    auto pair = NetnsPair::create();
    if (!pair) GTEST_SKIP() << "cannot create network namespaces: " << pair.error().message;
    net_ = std::move(pair).value();
    enforcer_ = std::make_unique<IpsetEnforcer>(
        IpsetSettings{}, process_runner(Duration::seconds(30), {"ip", "netns", "exec", net_->host()}));
    auto r = enforcer_->init();
    ASSERT_TRUE(r) << r.error().message;
    for (const char* a : {"198.18.0.1", "2001:db8::1"}) {
      auto l = testing::tcp_listen(net_->host(), ip(a), kPort);
      ASSERT_TRUE(l) << l.error().message;
      listeners_.push_back(std::move(l).value());
    }
  }
  void TearDown() override {
    if (net_) {
      EXPECT_EQ(root_sets(), root_before_) << "the root namespace's sets changed";
    }
  }

  bool reaches(const char* src, milliseconds wait = kPassWait) {
    IpAddress s = ip(src);
    IpAddress dst = s.is_v4() ? ip("198.18.0.1") : ip("2001:db8::1");
    auto fd = testing::tcp_connect(net_->peer(), s, dst, kPort, wait);
    for (auto& l : listeners_) testing::drain_accept(l.get());
    return fd.ok();
  }
  bool blocked(const char* src) { return !reaches(src, kBlockedWait); }
  void apply(std::vector<Decision> batch) {
    auto r = enforcer_->apply(batch);
    ASSERT_TRUE(r) << r.error().message;
  }
  std::vector<core::Ban> bans() {
    auto r = enforcer_->list();
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(r).value() : std::vector<core::Ban>{};
  }
  testing::CommandResult in_host(std::vector<std::string> argv) {
    std::vector<std::string> full = {"ip", "netns", "exec", net_->host()};
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full);
  }
  // picket's rules in the host namespace's raw PREROUTING (iptables + ip6tables).
  size_t rule_count() {
    size_t n = 0;
    for (const char* tool : {"iptables", "ip6tables"}) {
      const std::string out = in_host({tool, "-t", "raw", "-S", "PREROUTING"}).output;
      for (size_t at = out.find("--match-set picket"); at != std::string::npos; at = out.find("--match-set picket", at + 1)) ++n;
    }
    return n;
  }

  std::string root_before_;
  std::unique_ptr<NetnsPair> net_;
  std::unique_ptr<IpsetEnforcer> enforcer_;
  std::vector<core::UniqueFd> listeners_;
};

TEST_F(IpsetKernelTest, InitIsIdempotent) {
  EXPECT_EQ(rule_count(), 4u);
  apply({block("198.18.0.2", Duration::seconds(60))});
  ASSERT_TRUE(enforcer_->init());
  EXPECT_EQ(rule_count(), 4u);
  EXPECT_EQ(bans().size(), 1u);  // init keeps the bans
  const std::string names = in_host({"ipset", "list", "-n"}).output;
  for (const char* s : {"picket4\n", "picket6\n", "picket_net4\n", "picket_net6\n"}) {
    EXPECT_NE(names.find(s), std::string::npos) << s;
  }
}

TEST_F(IpsetKernelTest, BlocksAddressesAndOthersPass) {
  for (const char* a : {"198.18.0.2", "198.18.0.3", "2001:db8::2", "2001:db8::3"}) EXPECT_TRUE(reaches(a)) << a;
  apply({block("198.18.0.2", Duration::seconds(60)), block("2001:db8::2", Duration::seconds(60))});
  EXPECT_TRUE(blocked("198.18.0.2"));
  EXPECT_TRUE(blocked("2001:db8::2"));
  EXPECT_TRUE(reaches("198.18.0.3"));
  EXPECT_TRUE(reaches("2001:db8::3"));
  apply({unblock("198.18.0.2"), unblock("2001:db8::2")});
  EXPECT_TRUE(reaches("198.18.0.2"));
  EXPECT_TRUE(reaches("2001:db8::2"));
  apply({unblock("198.18.0.2"), unblock("198.18.7.7"), unblock("2001:db8::99")});  // not blocked: fine
}

TEST_F(IpsetKernelTest, BlocksPrefixes) {
  apply({block("198.18.1.0/24", Duration::seconds(60)), block("2001:db8::1:0/112", Duration::seconds(60))});
  EXPECT_TRUE(blocked("198.18.1.2"));
  EXPECT_TRUE(blocked("2001:db8::1:2"));
  EXPECT_TRUE(reaches("198.18.0.2"));
  EXPECT_TRUE(reaches("2001:db8::2"));
  apply({unblock("198.18.1.0/24")});
  EXPECT_TRUE(reaches("198.18.1.2"));
  EXPECT_TRUE(blocked("2001:db8::1:2"));
}

TEST_F(IpsetKernelTest, BansExpireByThemselves) {
  apply({block("198.18.0.2", Duration::seconds(1)), block("2001:db8::2", Duration::millis(400))});
  EXPECT_TRUE(blocked("198.18.0.2"));
  EXPECT_TRUE(blocked("2001:db8::2"));
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_TRUE(reaches("198.18.0.2"));
  EXPECT_TRUE(reaches("2001:db8::2"));
}

TEST_F(IpsetKernelTest, ReblockRestartsTheTimerWithoutASecondEntry) {
  apply({block("198.18.0.2", Duration::seconds(5))});
  apply({block("198.18.0.2", Duration::seconds(600))});
  auto all = bans();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_GT(all[0].remaining, Duration::seconds(590));
}

TEST_F(IpsetKernelTest, ListReportsTargetsRemainingTimeAndDetector) {
  apply({block("198.18.0.2", Duration::seconds(60)), block("198.18.1.0/24", Duration{}),
         block("2001:db8::2", Duration::seconds(30))});
  auto all = bans();
  ASSERT_EQ(all.size(), 3u);
  for (const auto& b : all) {
    EXPECT_EQ(b.detector, "port_scan");
    if (b.target == pfx("198.18.0.2")) {
      EXPECT_GT(b.remaining, Duration::seconds(55));
      EXPECT_LE(b.remaining, Duration::seconds(60));
    } else if (b.target == pfx("198.18.1.0/24")) {
      EXPECT_EQ(b.remaining, Duration{});
    } else {
      EXPECT_EQ(b.target, pfx("2001:db8::2"));
      EXPECT_LE(b.remaining, Duration::seconds(30));
    }
  }
}

TEST_F(IpsetKernelTest, FlushKeepsObjectsAndRemoveLeavesNothing) {
  apply({block("198.18.0.2", Duration::seconds(60)), block("2001:db8::1:0/112", Duration::seconds(60))});
  ASSERT_TRUE(enforcer_->flush());
  EXPECT_TRUE(bans().empty());
  EXPECT_TRUE(reaches("198.18.0.2"));
  EXPECT_EQ(rule_count(), 4u);
  apply({block("198.18.0.2", Duration::seconds(60))});
  ASSERT_TRUE(enforcer_->remove());
  EXPECT_EQ(rule_count(), 0u);
  EXPECT_EQ(in_host({"ipset", "list", "-n"}).output, "");
  EXPECT_TRUE(reaches("198.18.0.2"));
  auto again = enforcer_->remove();  // nothing to remove is fine
  ASSERT_TRUE(again) << again.error().message;
  // init() after remove() recreates everything.
  ASSERT_TRUE(enforcer_->init());
  EXPECT_EQ(rule_count(), 4u);
  apply({block("198.18.0.2", Duration::seconds(60))});
  EXPECT_TRUE(blocked("198.18.0.2"));
}

}  // namespace
}  // namespace picket::enforce::ipset

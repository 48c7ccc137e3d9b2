// NftablesEnforcer against the real kernel, inside two network namespaces the test creates (see
// enforce/testing/netns.hpp): real TCP connections from the peer namespace show what is dropped.
// Skipped (with the reason) when not root or when nf_tables is not available.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "enforce/nftables/nftables_enforcer.hpp"
#include "enforce/nftables/ruleset.hpp"
#include "enforce/testing/netns.hpp"

namespace picket::enforce::nftables {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::IpAddress;
using core::Prefix;
using testing::in_netns;
using testing::NetnsPair;
using std::chrono::milliseconds;

constexpr uint16_t kPort = 8080;
constexpr milliseconds kBlockedWait{300};  // a dropped SYN never answers; give up after this
constexpr milliseconds kPassWait{2000};    // an allowed connect completes in well under a millisecond

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
Prefix pfx(const char* text) { return *Prefix::parse(text); }

Decision block(const char* target, Duration d, uint32_t offence = 1) {
  Decision x;
  x.action = DecisionAction::block;
  x.target = pfx(target);
  x.duration = d;
  x.detector = "port_scan";
  x.offence = offence;
  return x;
}
Decision unblock(const char* target) {
  Decision x;
  x.action = DecisionAction::unblock;
  x.target = pfx(target);
  return x;
}
Decision rate_limit(const char* target, uint16_t port, uint32_t rate, Duration d) {
  Decision x;
  x.action = DecisionAction::rate_limit;
  x.target = pfx(target);
  x.port = port;
  x.proto = 6;
  x.rate_per_second = rate;
  x.duration = d;
  x.detector = "spoofed_flood";
  return x;
}
Decision unrate_limit(const char* target, uint16_t port) {
  Decision x = rate_limit(target, port, 0, {});
  x.action = DecisionAction::unrate_limit;
  return x;
}

class NftablesKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::kernel_test_skip_reason(); !why.empty()) GTEST_SKIP() << why;
    auto pair = NetnsPair::create();
    if (!pair) GTEST_SKIP() << "cannot create network namespaces: " << pair.error().message;
    net_ = std::move(pair).value();
    auto enforcer = open_enforcer({});
    ASSERT_TRUE(enforcer) << enforcer.error().message;
    enforcer_ = std::move(enforcer).value();
    if (auto r = enforcer_->init(); !r) {
      if (r.error().message.find("not available") != std::string::npos) GTEST_SKIP() << r.error().message;
      FAIL() << r.error().message;
    }
    for (const char* a : {"198.18.0.1", "2001:db8::1"}) {
      auto l = testing::tcp_listen(net_->host(), ip(a), kPort);
      ASSERT_TRUE(l) << l.error().message;
      listeners_.push_back(std::move(l).value());
    }
  }

  core::Result<std::unique_ptr<NftablesEnforcer>> open_enforcer(NftablesOptions options) {
    return in_netns(net_->host(), [&] { return NftablesEnforcer::open(options); });
  }

  // A TCP connect from `src` (peer namespace) to the host; true when the handshake completed.
  bool reaches(const char* src, uint16_t port = kPort, milliseconds wait = kPassWait) {
    IpAddress s = ip(src);
    IpAddress dst = s.is_v4() ? ip("198.18.0.1") : ip("2001:db8::1");
    auto fd = testing::tcp_connect(net_->peer(), s, dst, port, wait);
    for (auto& l : listeners_) testing::drain_accept(l.get());
    return fd.ok();
  }
  bool blocked(const char* src) { return !reaches(src, kPort, kBlockedWait); }

  void apply(std::vector<Decision> batch) {
    auto r = enforcer_->apply(batch);
    ASSERT_TRUE(r) << r.error().message;
  }
  std::vector<core::Ban> bans() {
    auto r = enforcer_->list();
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(r).value() : std::vector<core::Ban>{};
  }
  const core::Ban* find_ban(const std::vector<core::Ban>& all, const char* target) {
    for (const auto& b : all) {
      if (b.target == pfx(target)) return &b;
    }
    return nullptr;
  }
  // What `nft` (an independent reader) sees in one of picket's sets.
  size_t nft_element_count(std::string_view set) {
    auto r = net_->nft({"-j", "list", "set", "inet", "picket", std::string(set)});
    if (r.exit_code != 0) return SIZE_MAX;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    if (j.is_discarded()) return SIZE_MAX;
    for (const auto& item : j["nftables"]) {
      if (item.contains("set")) return item["set"].contains("elem") ? item["set"]["elem"].size() : 0;
    }
    return SIZE_MAX;
  }
  size_t nft_rule_count() {
    auto r = net_->nft({"-j", "list", "chain", "inet", "picket", "prerouting"});
    if (r.exit_code != 0) return SIZE_MAX;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    size_t n = 0;
    for (const auto& item : j["nftables"]) n += item.contains("rule") ? 1 : 0;
    return n;
  }

  std::unique_ptr<NetnsPair> net_;
  std::unique_ptr<NftablesEnforcer> enforcer_;
  std::vector<core::UniqueFd> listeners_;
};

TEST_F(NftablesKernelTest, CreatesItsTableAndInitIsIdempotent) {
  auto listing = net_->nft({"list", "table", "inet", "picket"});
  ASSERT_EQ(listing.exit_code, 0) << listing.output;
  for (const char* want : {"set ban4", "set ban6", "set ban_net4", "set ban_net6", "map ratelimit4", "map ratelimit6",
                           "hook prerouting priority raw", "ip saddr @ban4", "ip6 saddr @ban_net6",
                           "limit name ip daddr . meta l4proto . tcp dport map @ratelimit4"}) {
    EXPECT_NE(listing.output.find(want), std::string::npos) << want << " missing in:\n" << listing.output;
  }
  EXPECT_EQ(nft_rule_count(), kRuleCount);

  apply({block("198.18.0.2", Duration::seconds(60)), block("198.18.1.0/24", Duration::seconds(60))});
  ASSERT_TRUE(enforcer_->init());  // again: rules replaced, not doubled; bans kept
  EXPECT_EQ(nft_rule_count(), kRuleCount);
  EXPECT_EQ(bans().size(), 2u);
  EXPECT_TRUE(blocked("198.18.0.2"));

  // Someone deletes the table by hand: init() recreates it.
  ASSERT_EQ(net_->nft({"delete", "table", "inet", "picket"}).exit_code, 0);
  EXPECT_TRUE(reaches("198.18.0.2"));
  ASSERT_TRUE(enforcer_->init());
  EXPECT_EQ(nft_rule_count(), kRuleCount);
  EXPECT_TRUE(bans().empty());
}

TEST_F(NftablesKernelTest, BlocksAddressesAndOthersPass) {
  for (const char* a : {"198.18.0.2", "198.18.0.3", "2001:db8::2", "2001:db8::3"}) EXPECT_TRUE(reaches(a)) << a;
  apply({block("198.18.0.2", Duration::seconds(60)), block("2001:db8::2", Duration::seconds(60))});
  EXPECT_TRUE(blocked("198.18.0.2"));
  EXPECT_TRUE(blocked("2001:db8::2"));
  EXPECT_TRUE(reaches("198.18.0.3"));
  EXPECT_TRUE(reaches("2001:db8::3"));
  EXPECT_EQ(nft_element_count("ban4"), 1u);
  EXPECT_EQ(nft_element_count("ban6"), 1u);

  apply({unblock("198.18.0.2"), unblock("2001:db8::2")});
  EXPECT_TRUE(reaches("198.18.0.2"));
  EXPECT_TRUE(reaches("2001:db8::2"));
  EXPECT_EQ(nft_element_count("ban4"), 0u);
  // Unblocking what is not blocked is fine.
  apply({unblock("198.18.0.2"), unblock("198.18.7.7"), unblock("2001:db8::99")});
}

TEST_F(NftablesKernelTest, BlocksPrefixesKeepingThemDisjoint) {
  apply({block("198.18.1.0/24", Duration::seconds(60)), block("2001:db8::1:0/112", Duration::seconds(60))});
  EXPECT_TRUE(blocked("198.18.1.2"));
  EXPECT_TRUE(blocked("2001:db8::1:2"));
  EXPECT_TRUE(reaches("198.18.0.2"));
  EXPECT_TRUE(reaches("2001:db8::2"));
  auto all = bans();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(find_ban(all, "198.18.1.0/24"), nullptr);
  EXPECT_NE(find_ban(all, "2001:db8::1:0/112"), nullptr);

  // A wider prefix replaces the narrower one inside it...
  apply({block("198.18.0.0/16", Duration::seconds(60))});
  all = bans();
  EXPECT_NE(find_ban(all, "198.18.0.0/16"), nullptr);
  EXPECT_EQ(find_ban(all, "198.18.1.0/24"), nullptr);
  EXPECT_TRUE(blocked("198.18.0.2"));
  EXPECT_TRUE(blocked("198.18.1.2"));
  // ...and a narrower one inside a banned wider one adds nothing.
  uint64_t covered = enforcer_->stats().prefixes_covered;
  apply({block("198.18.1.0/24", Duration::seconds(60))});
  EXPECT_EQ(enforcer_->stats().prefixes_covered, covered + 1);
  EXPECT_EQ(bans().size(), 2u);

  apply({unblock("198.18.0.0/16"), unblock("2001:db8::1:0/112")});
  EXPECT_TRUE(reaches("198.18.1.2"));
  EXPECT_TRUE(reaches("2001:db8::1:2"));
  EXPECT_TRUE(bans().empty());
}

TEST_F(NftablesKernelTest, CutsAnEstablishedFlow) {
  auto client = testing::tcp_connect(net_->peer(), ip("198.18.0.3"), ip("198.18.0.1"), kPort, kPassWait);
  ASSERT_TRUE(client) << client.error().message;
  auto server = testing::tcp_accept(listeners_[0].get(), kPassWait);
  ASSERT_TRUE(server) << server.error().message;
  ASSERT_TRUE(testing::send_text(client->get(), "before"));
  EXPECT_EQ(testing::recv_text(server->get(), kPassWait), "before");

  apply({block("198.18.0.3", Duration::seconds(60))});
  ASSERT_TRUE(testing::send_text(client->get(), "during"));
  EXPECT_EQ(testing::recv_text(server->get(), milliseconds(800)), "");

  // Lifted: the client's retransmission gets through on the same connection.
  apply({unblock("198.18.0.3")});
  EXPECT_EQ(testing::recv_text(server->get(), milliseconds(5000)), "during");
}

TEST_F(NftablesKernelTest, BansExpireByThemselves) {
  apply({block("198.18.0.2", Duration::seconds(2)), block("2001:db8::1:0/112", Duration::seconds(2))});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(blocked("198.18.0.2"));
  EXPECT_TRUE(blocked("2001:db8::1:2"));
  bool v4 = false, v6 = false;
  for (int i = 0; i < 40 && !(v4 && v6); ++i) {  // bounded: 40 x ~250 ms
    std::this_thread::sleep_for(milliseconds(250));
    v4 = v4 || reaches("198.18.0.2", kPort, kBlockedWait);
    v6 = v6 || reaches("2001:db8::1:2", kPort, kBlockedWait);
  }
  auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_TRUE(v4 && v6) << "still blocked after " << elapsed.count() << " ms";
  EXPECT_GE(elapsed.count(), 1500);
  EXPECT_TRUE(bans().empty());
}

TEST_F(NftablesKernelTest, ListReportsWhatTheKernelHoldsWithRemainingTime) {
  apply({block("198.18.0.2", Duration::seconds(60)), block("2001:db8::2", Duration::seconds(120)),
         block("198.18.4.0/22", Duration::seconds(60)), block("2001:db8:1::/48", Duration::seconds(60)),
         block("198.18.0.9", Duration{})});
  auto all = bans();
  ASSERT_EQ(all.size(), 5u);
  for (const char* t : {"198.18.0.2", "198.18.4.0/22", "2001:db8:1::/48"}) {
    const core::Ban* b = find_ban(all, t);
    ASSERT_NE(b, nullptr) << t;
    EXPECT_GT(b->remaining, Duration::seconds(50)) << t;
    EXPECT_LE(b->remaining, Duration::seconds(60)) << t;
    EXPECT_EQ(b->detector, "port_scan");
  }
  EXPECT_GT(find_ban(all, "2001:db8::2")->remaining, Duration::seconds(110));
  EXPECT_EQ(find_ban(all, "198.18.0.9")->remaining, Duration{});  // no timeout
  EXPECT_EQ(nft_element_count("ban4"), 2u);
  EXPECT_EQ(nft_element_count("ban6"), 1u);

  // Blocking again restarts the timer (escalation), never a second element.
  apply({block("198.18.0.2", Duration::seconds(600), 2)});
  all = bans();
  EXPECT_EQ(all.size(), 5u);
  EXPECT_GT(find_ban(all, "198.18.0.2")->remaining, Duration::seconds(590));
}

TEST_F(NftablesKernelTest, FlushKeepsTheTableAndRemoveDeletesIt) {
  apply({block("198.18.0.2", Duration::seconds(60)), block("198.18.1.0/24", Duration::seconds(60)),
         rate_limit("198.18.0.1", 8081, 10, Duration::seconds(60))});
  ASSERT_TRUE(enforcer_->flush());
  EXPECT_TRUE(bans().empty());
  auto rl = enforcer_->list_rate_limits();
  ASSERT_TRUE(rl);
  EXPECT_TRUE(rl->empty());
  EXPECT_EQ(nft_rule_count(), kRuleCount);
  EXPECT_TRUE(reaches("198.18.0.2"));
  // Still usable after a flush, prefixes included.
  apply({block("198.18.1.0/24", Duration::seconds(60))});
  EXPECT_TRUE(blocked("198.18.1.2"));

  ASSERT_TRUE(enforcer_->remove());
  auto tables = net_->nft({"list", "tables"});
  EXPECT_EQ(tables.output.find("picket"), std::string::npos) << tables.output;
  EXPECT_TRUE(reaches("198.18.1.2"));
  EXPECT_TRUE(enforcer_->remove());  // nothing left to remove: still fine
  auto listed = enforcer_->list();
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  EXPECT_FALSE(enforcer_->apply(std::vector{block("198.18.0.2", Duration::seconds(1))}));  // needs init()
}

TEST_F(NftablesKernelTest, RateLimitDropsSynsAboveTheRateAndExpires) {
  auto l2 = testing::tcp_listen(net_->host(), ip("198.18.0.1"), 8081);
  ASSERT_TRUE(l2) << l2.error().message;
  auto burst = [&](uint16_t port) {
    auto n = testing::tcp_connect_burst(net_->peer(), ip("198.18.0.2"), ip("198.18.0.1"), port, 40, milliseconds(500));
    testing::drain_accept(l2->get());
    for (auto& l : listeners_) testing::drain_accept(l.get());
    return n ? *n : -1;
  };
  EXPECT_EQ(burst(8081), 40);
  apply({rate_limit("198.18.0.1", 8081, 5, Duration::seconds(3))});
  int limited = burst(8081);
  EXPECT_GE(limited, 1);
  EXPECT_LE(limited, 5 + static_cast<int>(kRateBurst) + 2);  // rate + burst, some slack for timing
  EXPECT_EQ(burst(kPort), 40);  // other ports untouched
  auto rl = enforcer_->list_rate_limits();
  ASSERT_TRUE(rl) << rl.error().message;
  ASSERT_EQ(rl->size(), 1u);
  EXPECT_EQ((*rl)[0].target, pfx("198.18.0.1"));
  EXPECT_EQ((*rl)[0].port, 8081);
  EXPECT_EQ((*rl)[0].proto, 6);
  EXPECT_EQ((*rl)[0].rate_per_second, 5u);
  EXPECT_GT((*rl)[0].remaining, Duration::seconds(1));

  // Expires by itself.
  bool gone = false;
  for (int i = 0; i < 30 && !gone; ++i) {
    std::this_thread::sleep_for(milliseconds(250));
    auto now = enforcer_->list_rate_limits();
    gone = now && now->empty();
  }
  EXPECT_TRUE(gone);
  EXPECT_EQ(burst(8081), 40);

  // Re-applied with another rate, then lifted early.
  apply({rate_limit("198.18.0.1", 8081, 5, Duration::seconds(60))});
  apply({rate_limit("198.18.0.1", 8081, 8, Duration::seconds(60))});
  rl = enforcer_->list_rate_limits();
  ASSERT_TRUE(rl);
  ASSERT_EQ(rl->size(), 1u);
  EXPECT_EQ((*rl)[0].rate_per_second, 8u);
  apply({unrate_limit("198.18.0.1", 8081)});
  EXPECT_EQ(burst(8081), 40);
  rl = enforcer_->list_rate_limits();
  ASSERT_TRUE(rl);
  EXPECT_TRUE(rl->empty());
  // Limit objects go with their elements; one still held by the expired element goes once the
  // kernel has collected that element (bounded wait, init() collects).
  bool collected = false;
  std::string listing;
  for (int i = 0; i < 40 && !collected; ++i) {
    ASSERT_TRUE(enforcer_->init());
    listing = net_->nft({"list", "table", "inet", "picket"}).output;
    collected = listing.find("limit rl_") == std::string::npos;
    if (!collected) std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_TRUE(collected) << listing;
}

TEST_F(NftablesKernelTest, RateLimitOverIpv6) {
  auto l2 = testing::tcp_listen(net_->host(), ip("2001:db8::1"), 8081);
  ASSERT_TRUE(l2) << l2.error().message;
  apply({rate_limit("2001:db8::1", 8081, 5, Duration::seconds(60))});
  auto n = testing::tcp_connect_burst(net_->peer(), ip("2001:db8::2"), ip("2001:db8::1"), 8081, 40, milliseconds(500));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_GE(*n, 1);
  EXPECT_LE(*n, 5 + static_cast<int>(kRateBurst) + 2);
}

TEST_F(NftablesKernelTest, LeavesOtherTablesAlone) {
  const std::string other = R"(table inet other {
  set keep {
    type ipv4_addr
    elements = { 198.18.9.9 }
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr @keep counter
  }
}
table ip legacy {
  chain forward {
    type filter hook forward priority 0; policy accept;
  }
}
)";
  char path[] = "/tmp/picket-nft-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, other.data(), other.size()), static_cast<ssize_t>(other.size()));
  close(fd);
  auto load = net_->nft({"-f", path});
  unlink(path);
  ASSERT_EQ(load.exit_code, 0) << load.output;
  auto snapshot = [&] {
    return net_->nft({"-s", "list", "table", "inet", "other"}).output + net_->nft({"-s", "list", "table", "ip", "legacy"}).output;
  };
  const std::string before = snapshot();
  ASSERT_NE(before.find("198.18.9.9"), std::string::npos);

  ASSERT_TRUE(enforcer_->init());
  apply({block("198.18.0.2", Duration::seconds(60)), block("198.18.9.0/24", Duration::seconds(60)),
         rate_limit("198.18.0.1", 8081, 5, Duration::seconds(60))});
  ASSERT_TRUE(enforcer_->flush());
  EXPECT_EQ(snapshot(), before);
  ASSERT_TRUE(enforcer_->remove());
  EXPECT_EQ(snapshot(), before);
  auto tables = net_->nft({"list", "tables"});
  EXPECT_NE(tables.output.find("table inet other"), std::string::npos);
  EXPECT_NE(tables.output.find("table ip legacy"), std::string::npos);
}

TEST_F(NftablesKernelTest, TenThousandBansInOneTransaction) {
  std::vector<Decision> batch;
  for (uint32_t i = 0; i < 10000; ++i) {
    Decision d;
    d.action = DecisionAction::block;
    d.target = Prefix(IpAddress::v4(0xC6130000u + i), 32);  // 198.19.0.0 + i
    d.duration = Duration::seconds(300);
    d.detector = "bulk";
    batch.push_back(d);
  }
  uint64_t tx_before = enforcer_->stats().transactions;
  apply(batch);
  EXPECT_EQ(enforcer_->stats().transactions, tx_before + 1);
  EXPECT_EQ(nft_element_count("ban4"), 10000u);
  EXPECT_EQ(bans().size(), 10000u);
  EXPECT_TRUE(reaches("198.18.0.2"));
}

// Kernels before 6.3 have no DESTROY messages: the same operations through delete-and-retry.
TEST_F(NftablesKernelTest, DeleteAndRetryModeForOlderKernels) {
  auto e = open_enforcer({"picket", DeleteMode::delete_and_retry});
  ASSERT_TRUE(e) << e.error().message;
  auto& old = *e.value();
  ASSERT_TRUE(old.init());
  EXPECT_FALSE(old.uses_destroy());
  ASSERT_TRUE(old.apply(std::vector{block("198.18.0.2", Duration::seconds(5)), block("198.18.1.0/24", Duration::seconds(60))}));
  EXPECT_TRUE(blocked("198.18.0.2"));
  EXPECT_TRUE(blocked("198.18.1.2"));
  // Escalation refreshes the timer; unblocking absent targets is dropped and retried.
  ASSERT_TRUE(old.apply(std::vector{block("198.18.0.2", Duration::seconds(600), 2), unblock("198.18.0.7"),
                                    unblock("2001:db8::7")}));
  EXPECT_GE(old.stats().retries, 1u);
  auto all = old.list();
  ASSERT_TRUE(all);
  EXPECT_GT(find_ban(*all, "198.18.0.2")->remaining, Duration::seconds(590));
  ASSERT_TRUE(old.apply(std::vector{block("198.18.0.0/16", Duration::seconds(60))}));  // replaces the /24
  ASSERT_TRUE(old.apply(std::vector{rate_limit("198.18.0.1", 8081, 5, Duration::seconds(60))}));
  ASSERT_TRUE(old.apply(std::vector{rate_limit("198.18.0.1", 8081, 9, Duration::seconds(60))}));
  ASSERT_TRUE(old.apply(std::vector{unrate_limit("198.18.0.1", 8081), unrate_limit("198.18.0.1", 9999)}));
  ASSERT_TRUE(old.apply(std::vector{unblock("198.18.0.2"), unblock("198.18.0.0/16")}));
  EXPECT_TRUE(reaches("198.18.0.2"));
  EXPECT_TRUE(reaches("198.18.1.2"));
  all = old.list();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(NftablesKernelTest, WithoutPrivilegesTheErrorSaysSo) {
  // Only this short-lived thread drops its privileges (the raw syscall is per thread).
  auto r = in_netns(net_->host(), []() -> core::Result<std::string> {
    if (syscall(SYS_setresuid, 65534, 65534, 65534) != 0) return core::make_error("setresuid failed");
    auto e = NftablesEnforcer::open();
    if (!e) return e.error().message;
    auto init = (*e)->init();
    return init ? std::string("init succeeded") : init.error().message;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->find("Operation not permitted"), std::string::npos) << *r;
  EXPECT_NE(r->find("CAP_NET_ADMIN"), std::string::npos) << *r;
}

// --- the scan trap (scan_trap.hpp) -----------------------------------------------------------------
class ScanTrapKernelTest : public NftablesKernelTest {
 protected:
  // One connect from `src` to a port nothing listens on: true when the host answered (a RST came
  // back), false when the SYN was dropped.
  bool answered(const char* src, uint16_t port) {
    IpAddress s = ip(src);
    IpAddress dst = s.is_v4() ? ip("198.18.0.1") : ip("2001:db8::1");
    auto fd = testing::tcp_connect(net_->peer(), s, dst, port, kBlockedWait);
    return fd.ok() || fd.error().message == "connect failed";
  }
  void trap(uint32_t closed_ports, uint64_t hold_ms, bool enabled = true) {
    ScanTrap t;
    t.enabled = enabled;
    t.closed_ports = closed_ports;
    t.hold_ms = hold_ms;
    t.exempt = {pfx("198.18.0.3/32"), pfx("2001:db8::3/128"), pfx("127.0.0.0/8")};
    auto r = enforcer_->set_scan_trap(t);
    ASSERT_TRUE(r) << r.error().message;
  }
  std::vector<std::string> trapped() {
    auto r = enforcer_->list_trapped();
    EXPECT_TRUE(r) << r.error().message;
    std::vector<std::string> out;
    if (r) {
      for (const auto& b : *r) out.push_back(b.target.address().to_string());
    }
    return out;
  }
};

TEST_F(ScanTrapKernelTest, DropsASourceAtTheFirstClosedPortPastItsBurst) {
  trap(4, 60'000);
  for (const char* src : {"198.18.0.2", "2001:db8::2"}) {
    SCOPED_TRACE(src);
    for (uint16_t port = 9001; port <= 9004; ++port) EXPECT_TRUE(answered(src, port)) << port;
    EXPECT_TRUE(reaches(src)) << "four closed ports: at the burst, not past it";
    EXPECT_TRUE(answered(src, 9005)) << "the reply to the fifth still goes out; it is what trips the trap";
    EXPECT_TRUE(blocked(src)) << "past the burst: every packet from the source is dropped";
    EXPECT_FALSE(answered(src, 9006));
  }
  EXPECT_EQ(trapped(), (std::vector<std::string>{"198.18.0.2", "2001:db8::2"}));
  EXPECT_EQ(nft_element_count(kSetTrap4), 1u);
  EXPECT_TRUE(reaches("198.18.1.2")) << "other sources are not touched";
  EXPECT_TRUE(enforcer_->list()->empty()) << "the trap holds sources apart from picket's bans";
}

TEST_F(ScanTrapKernelTest, OnePortRetriedAndExemptSourcesNeverTrip) {
  trap(4, 60'000);
  // A client retrying one port that is down: the same (source, port) counts once.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(answered("198.18.1.2", 9100)) << i;
  EXPECT_TRUE(reaches("198.18.1.2"));
  // Exempt (allowlisted) sources may hit any number of closed ports.
  for (uint16_t port = 9001; port <= 9020; ++port) {
    ASSERT_TRUE(answered("198.18.0.3", port)) << port;
    ASSERT_TRUE(answered("2001:db8::3", port)) << port;
  }
  EXPECT_TRUE(reaches("198.18.0.3"));
  EXPECT_TRUE(reaches("2001:db8::3"));
  EXPECT_TRUE(trapped().empty());
}

TEST_F(ScanTrapKernelTest, ReleasesAfterTheHoldAndWhenSwitchedOff) {
  trap(2, 1'000);
  for (uint16_t port = 9001; port <= 9003; ++port) answered("198.18.0.2", port);
  ASSERT_TRUE(blocked("198.18.0.2"));
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_TRUE(reaches("198.18.0.2")) << "the kernel let the hold expire";
  // Trapped again (new ports), then the trap is switched off: released at once, rules gone.
  trap(2, 60'000);
  for (uint16_t port = 9101; port <= 9103; ++port) answered("198.18.0.3", port);  // exempt: no effect
  for (uint16_t port = 9101; port <= 9103; ++port) answered("2001:db8::2", port);
  ASSERT_TRUE(blocked("2001:db8::2"));
  trap(2, 60'000, false);
  EXPECT_TRUE(reaches("2001:db8::2"));
  EXPECT_TRUE(trapped().empty());
  for (uint16_t port = 9201; port <= 9210; ++port) answered("198.18.1.2", port);
  EXPECT_TRUE(reaches("198.18.1.2")) << "off: closed ports are not counted";
}

TEST_F(ScanTrapKernelTest, InitAndFlushKeepTheTrapAsSet) {
  trap(2, 60'000);
  ASSERT_TRUE(enforcer_->flush());
  ASSERT_TRUE(enforcer_->init());
  EXPECT_EQ(nft_rule_count(), kRuleCount);
  for (uint16_t port = 9001; port <= 9003; ++port) answered("198.18.0.2", port);
  EXPECT_TRUE(blocked("198.18.0.2"));
  EXPECT_TRUE(reaches("198.18.0.3"));
}

}  // namespace
}  // namespace picket::enforce::nftables

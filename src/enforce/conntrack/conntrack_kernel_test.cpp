// ConntrackCleaner against the real kernel, inside two network namespaces the test creates (see
// enforce/testing/netns.hpp): TCP connections from the peer namespace, held open, leave entries in
// the host namespace's conntrack table; `conntrack -L` (an independent reader) counts them.
// Skipped (with the reason) when not root or when the tools are missing.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include "enforce/conntrack/conntrack_cleaner.hpp"
#include "enforce/testing/netns.hpp"

namespace picket::enforce::conntrack {
namespace {

using core::IpAddress;
using core::Prefix;
using testing::in_netns;
using testing::NetnsPair;
using std::chrono::milliseconds;

constexpr uint16_t kPort = 8080;
constexpr milliseconds kConnectWait{2000};

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
Prefix pfx(const char* text) { return *Prefix::parse(text); }

class ConntrackKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::kernel_test_skip_reason(); !why.empty()) GTEST_SKIP() << why;
    if (testing::run_command({"conntrack", "--version"}).exit_code != 0) {
      GTEST_SKIP() << "no `conntrack` command (conntrack-tools)";
    }
    auto pair = NetnsPair::create();
    if (!pair) GTEST_SKIP() << "cannot create network namespaces: " << pair.error().message;
    net_ = std::move(pair).value();
    // A `ct` expression in the host namespace turns connection tracking on there.
    auto r = net_->nft({"add table inet pkct; add chain inet pkct in { type filter hook input priority 0; }; "
                        "add rule inet pkct in ct state established accept"});
    if (r.exit_code != 0) GTEST_SKIP() << "cannot enable conntrack with nftables: " << r.output;
    for (const char* a : {"198.18.0.1", "2001:db8::1"}) {
      auto l = testing::tcp_listen(net_->host(), ip(a), kPort);
      ASSERT_TRUE(l) << l.error().message;
      listeners_.push_back(std::move(l).value());
    }
    auto c = in_netns(net_->host(), [] { return ConntrackCleaner::open(); });
    ASSERT_TRUE(c) << c.error().message;
    cleaner_.emplace(std::move(c).value());
  }

  // `count` TCP connections from src (peer namespace) to the host, held open until the test ends.
  void connect_from(const char* src, int count) {
    IpAddress s = ip(src);
    IpAddress dst = s.is_v4() ? ip("198.18.0.1") : ip("2001:db8::1");
    for (int i = 0; i < count; ++i) {
      auto fd = testing::tcp_connect(net_->peer(), s, dst, kPort, kConnectWait);
      ASSERT_TRUE(fd) << src << ": " << fd.error().message;
      held_.push_back(std::move(fd).value());
    }
  }

  // Entries whose original source is `src`, as `conntrack -L` in the host namespace reports them.
  int entries_from(const char* src) {
    const std::string family = ip(src).is_v4() ? "ipv4" : "ipv6";
    auto r = testing::run_command({"ip", "netns", "exec", net_->host(), "conntrack", "-L", "-f", family, "-s", src});
    std::smatch m;
    static const std::regex kShown(R"((\d+) flow entries have been shown)");
    if (r.exit_code != 0 || !std::regex_search(r.output, m, kShown)) {
      ADD_FAILURE() << "conntrack -L failed: " << r.output;
      return -1;
    }
    return std::stoi(m[1].str());
  }

  uint64_t remove_from(const char* source) {
    auto r = cleaner_->remove_from(pfx(source));
    EXPECT_TRUE(r) << source << ": " << r.error().message;
    return r ? *r : UINT64_MAX;
  }

  std::unique_ptr<NetnsPair> net_;
  std::vector<core::UniqueFd> listeners_;
  std::vector<core::UniqueFd> held_;
  std::optional<ConntrackCleaner> cleaner_;
};

TEST_F(ConntrackKernelTest, RemovesExactlyOneAddresssEntries) {
  connect_from("198.18.0.2", 3);
  connect_from("198.18.0.3", 2);
  ASSERT_EQ(entries_from("198.18.0.2"), 3);
  ASSERT_EQ(entries_from("198.18.0.3"), 2);
  EXPECT_EQ(remove_from("198.18.0.2"), 3u);
  EXPECT_EQ(entries_from("198.18.0.2"), 0);
  EXPECT_EQ(entries_from("198.18.0.3"), 2);
  // Again: nothing left, and that is not an error.
  EXPECT_EQ(remove_from("198.18.0.2"), 0u);
  EXPECT_EQ(entries_from("198.18.0.3"), 2);
}

TEST_F(ConntrackKernelTest, RemovesAPrefix) {
  connect_from("198.18.0.2", 2);
  connect_from("198.18.0.3", 2);
  connect_from("198.18.1.2", 1);
  EXPECT_EQ(remove_from("198.18.0.0/24"), 4u);
  EXPECT_EQ(entries_from("198.18.0.2"), 0);
  EXPECT_EQ(entries_from("198.18.0.3"), 0);
  EXPECT_EQ(entries_from("198.18.1.2"), 1);
  EXPECT_EQ(remove_from("198.18.0.0/15"), 1u);
  EXPECT_EQ(entries_from("198.18.1.2"), 0);
}

TEST_F(ConntrackKernelTest, RemovesIpv6AndLeavesIpv4Alone) {
  connect_from("2001:db8::2", 2);
  connect_from("2001:db8::3", 1);
  connect_from("2001:db8::1:2", 1);
  connect_from("198.18.0.2", 1);
  ASSERT_EQ(entries_from("2001:db8::2"), 2);
  EXPECT_EQ(remove_from("2001:db8::2"), 2u);
  EXPECT_EQ(entries_from("2001:db8::2"), 0);
  EXPECT_EQ(entries_from("2001:db8::3"), 1);
  // 2001:db8::/112 holds ::3 but not ::1:2.
  EXPECT_EQ(remove_from("2001:db8::/112"), 1u);
  EXPECT_EQ(entries_from("2001:db8::3"), 0);
  EXPECT_EQ(entries_from("2001:db8::1:2"), 1);
  EXPECT_EQ(entries_from("198.18.0.2"), 1);
}

TEST_F(ConntrackKernelTest, NothingToRemoveIsZero) {
  connect_from("198.18.0.2", 1);
  for (const char* absent : {"198.18.0.99", "198.19.0.0/16", "2001:db8::99", "2001:db8:1::/48"}) {
    EXPECT_EQ(remove_from(absent), 0u) << absent;
  }
  EXPECT_EQ(entries_from("198.18.0.2"), 1);
}

TEST_F(ConntrackKernelTest, ManyEntriesInSeveralBatches) {
  // More entries than one delete sendmsg carries (~100): the batching and ack counting hold up.
  constexpr int kMany = 300;
  auto n = testing::tcp_connect_burst(net_->peer(), ip("198.18.0.3"), ip("198.18.0.1"), kPort, kMany, milliseconds(5000));
  ASSERT_TRUE(n) << n.error().message;
  ASSERT_EQ(*n, kMany);
  // The burst closed its sockets: the entries are in FIN/TIME_WAIT states now, still tracked.
  const int before = entries_from("198.18.0.3");
  ASSERT_GE(before, kMany);
  EXPECT_EQ(remove_from("198.18.0.3"), static_cast<uint64_t>(before));
  EXPECT_EQ(entries_from("198.18.0.3"), 0);
}

// Without CAP_NET_ADMIN the kernel refuses, and the error keeps the errno text. Runs on a thread
// that dropped the capability (capabilities are per thread), so the test process keeps its own.
TEST_F(ConntrackKernelTest, WithoutCapNetAdminTheErrorSaysSo) {
  connect_from("198.18.0.2", 1);
  auto r = in_netns(net_->host(), []() -> core::Result<uint64_t> {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0) return core::make_error("capget failed");
    data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
    if (syscall(SYS_capset, &header, data) != 0) return core::make_error("capset failed");
    auto weak = ConntrackCleaner::open();
    if (!weak) return weak.error();
    return weak->remove_from(pfx("198.18.0.2"));
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "conntrack: dump 198.18.0.2: Operation not permitted");
  EXPECT_EQ(entries_from("198.18.0.2"), 1);
}

}  // namespace
}  // namespace picket::enforce::conntrack

// subnet_conn from connection-table snapshots: thresholds at/below/above, persistent history,
// what counts (loopback, self, states, UDP), grouping, evidence, dedup and episodes, capacity.
#include <gtest/gtest.h>

#include "detect/conn_table/feeds.hpp"
#include "detect/conn_table/test_support.hpp"

namespace picket::detect::conn_table {
namespace {

using core::Duration;
using core::Timestamp;
using testing::make_config;
using testing::run;
using testing::SnapshotBuilder;
namespace st = conn::tcp_state;

const Timestamp kT0 = Timestamp::from_parts(1'700'000'000, 0);
const Duration kStep = Duration::seconds(5);

std::unique_ptr<SnapshotDetector> feed(const std::string& keys, config::Profile p = config::Profile::normal) {
  return make_subnet_feed(make_config(p, "detect:\n  subnet_conn:\n" + keys));
}

struct Case {
  const char* name;
  std::string keys;
  std::vector<int> counts;            // connections from 198.19.0.0/24 per snapshot
  std::vector<std::string> expected;  // kinds reported per snapshot, joined by ","
};

class SubnetFeedThresholds : public ::testing::TestWithParam<Case> {};

TEST_P(SubnetFeedThresholds, PerSnapshot) {
  const Case& c = GetParam();
  auto d = feed(c.keys);
  ASSERT_TRUE(d);
  ASSERT_EQ(c.counts.size(), c.expected.size());
  for (size_t i = 0; i < c.counts.size(); ++i) {
    const auto t = kT0 + kStep * static_cast<int64_t>(i);
    const auto f = run(*d, SnapshotBuilder(t).listener(443).inbound("198.19.0.1", c.counts[i]).build());
    std::string kinds;
    for (const auto& x : f) kinds += (kinds.empty() ? "" : ",") + std::string(x.kind);
    EXPECT_EQ(kinds, c.expected[i]) << c.name << " snapshot " << i;
  }
}

const std::string kImmediate10 = "    threshold: 10\n    persistent_threshold: 1000000\n";
const std::string kPersistent25 = "    threshold: 60000\n    persistent_threshold: 25\n    history_window: 5\n";

INSTANTIATE_TEST_SUITE_P(
    Seed000, SubnetFeedThresholds,
    ::testing::Values(
        Case{"immediate at", kImmediate10, {10}, {""}}, Case{"immediate below", kImmediate10, {9}, {""}},
        Case{"immediate above", kImmediate10, {11}, {"subnet_conn"}},
        Case{"persistent at", kPersistent25, {5, 5, 5, 5, 5}, {"", "", "", "", ""}},
        Case{"persistent above", kPersistent25, {5, 5, 5, 5, 6}, {"", "", "", "", "subnet_conn_persistent"}},
        // The window slides: the first 10 leaves it at the sixth snapshot.
        Case{"persistent slides", kPersistent25, {10, 0, 0, 0, 15, 10}, {"", "", "", "", "", ""}},
        Case{"persistent gap", kPersistent25, {26, 0}, {"subnet_conn_persistent", ""}},
        Case{"both, seed values",
             "    threshold: 10\n    persistent_threshold: 25\n",
             {11, 11, 11},
             {"subnet_conn", "", "subnet_conn_persistent"}}));

TEST(SubnetFeed, EvidenceAndShape) {
  auto d = feed("    threshold: 10\n    persistent_threshold: 1000000\n");
  SnapshotBuilder b(kT0);
  b.listener(443).inbound("198.19.0.10", 9, 3).inbound("198.19.0.20", 4, 4);  // 3+3+3 and 4
  const auto f = run(*d, b.build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detector, "subnet_conn");
  EXPECT_EQ(f[0].signature_id, 2'004'001u);
  EXPECT_EQ(f[0].severity, Severity::high);
  ASSERT_TRUE(f[0].source_prefix);
  EXPECT_EQ(f[0].source_prefix->to_string(), "198.19.0.0/24");
  EXPECT_TRUE(f[0].source.empty());
  EXPECT_EQ(f[0].target_port, 443);
  EXPECT_EQ(f[0].proto, 6);
  EXPECT_EQ(f[0].ts, kT0);
  const auto& e = f[0].evidence;
  EXPECT_EQ(e["source"], "conn_table");
  EXPECT_EQ(e["established"], 13);
  EXPECT_EQ(e["addresses"], 4);
  EXPECT_EQ(e["top_addresses"][0]["address"], "198.19.0.20");
  EXPECT_EQ(e["top_addresses"][0]["connections"], 4);
  EXPECT_EQ(e["top_addresses"][1]["address"], "198.19.0.10");
  EXPECT_EQ(e["top_addresses"][1]["connections"], 3);
  EXPECT_EQ(e["top_addresses"].size(), 3u);
  EXPECT_EQ(e["ports"], nlohmann::ordered_json::parse("[443]"));
  EXPECT_EQ(e["history"], nlohmann::ordered_json::parse("[0,0,0,0,13]"));
  EXPECT_EQ(e["sum"], 13);
  EXPECT_DOUBLE_EQ(e["interval"].get<double>(), 5.0);  // conn.interval, normal profile
  EXPECT_DOUBLE_EQ(e["window"].get<double>(), 25.0);
  EXPECT_EQ(e["first_seen"], core::format_iso8601(kT0));
}

TEST(SubnetFeed, WhatCounts) {
  auto d = feed("    threshold: 2\n    persistent_threshold: 1000000\n");
  SnapshotBuilder b(kT0);
  for (int i = 0; i < 20; ++i) {
    const auto port = static_cast<uint16_t>(50'000 + i);
    b.socket("127.0.0.1", 8080, "127.0.0.2", port);                // loopback v4
    b.socket("::1", 8080, "::1", port);                            // loopback v6
    b.socket("198.18.0.1", 22, "198.18.0.1", port);                // itself
    b.socket("198.18.0.1", 22, "198.20.0.1", port, st::kSynRecv);  // not established
    b.socket("198.18.0.1", 22, "198.20.0.2", port, st::kTimeWait);
    b.socket("198.18.0.1", 53, "198.20.0.3", port, st::kEstablished, conn::kProtoUdp);  // UDP
  }
  EXPECT_TRUE(run(*d, b.build()).empty());
}

TEST(SubnetFeed, OutboundUsesThePeersPortAndV6Prefixes) {
  auto d = feed("    threshold: 2\n    persistent_threshold: 1000000\n    prefix_v6: 48\n");
  SnapshotBuilder b(kT0);
  b.socket("2001:db8::1", 40'001, "2001:db8:aaaa:1::5", 443);
  b.socket("2001:db8::1", 40'002, "2001:db8:aaaa:2::6", 443);
  b.socket("2001:db8::1", 40'003, "2001:db8:aaaa:3::7", 8443);
  b.socket("2001:db8::1", 40'004, "2001:db8:bbbb::1", 443);  // another /48
  const auto f = run(*d, b.build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].source_prefix->to_string(), "2001:db8:aaaa::/48");
  EXPECT_FALSE(f[0].target_port.has_value());  // two server ports
  EXPECT_EQ(f[0].evidence["ports"], nlohmann::ordered_json::parse("[443,8443]"));
  EXPECT_EQ(f[0].evidence["established"], 3);
}

TEST(SubnetFeed, DedupUpdatesAndEpisodes) {
  auto d = feed(
      "    threshold: 10\n    persistent_threshold: 1000000\n    history_window: 2\n"
      "    update_interval: 60s\n");
  auto snap = [](Timestamp t, int n) { return SnapshotBuilder(t).listener(443).inbound("198.19.0.1", n).build(); };
  EXPECT_EQ(run(*d, snap(kT0, 20)).size(), 1u);
  EXPECT_TRUE(run(*d, snap(kT0 + Duration::seconds(30), 20)).empty());
  auto f = run(*d, snap(kT0 + Duration::seconds(60), 25));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].update);
  EXPECT_EQ(f[0].evidence["established"], 25);
  // Below for history_window snapshots: the episode ends, the prefix is forgotten.
  EXPECT_TRUE(run(*d, snap(kT0 + Duration::seconds(65), 0)).empty());
  EXPECT_TRUE(run(*d, snap(kT0 + Duration::seconds(70), 0)).empty());
  EXPECT_EQ(d->stats().tracked, 0u);
  f = run(*d, snap(kT0 + Duration::seconds(75), 11));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_FALSE(f[0].update);
  EXPECT_EQ(d->stats().findings, 3u);
}

TEST(SubnetFeed, CapacityUnderAFloodOfSubnets) {
  auto d = feed("    threshold: 50\n    persistent_threshold: 1000000\n    capacity: 1024\n");
  SnapshotBuilder b(kT0);
  b.listener(443);
  for (uint32_t i = 0; i < 5000; ++i) {
    const auto remote = core::IpAddress::v4(0x0A000001 + (i << 8)).to_string();  // 10.x.y.1, one per /24
    b.socket("198.18.0.1", 443, remote, 1024);
  }
  b.inbound("198.19.7.1", 60);
  const auto f = run(*d, b.build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].source_prefix->to_string(), "198.19.7.0/24");
  EXPECT_LE(d->stats().tracked, 1024u);
  EXPECT_GT(d->stats().evictions, 0u);
}

TEST(SubnetFeed, EmptySnapshotAndSwitches) {
  auto d = feed("    threshold: 1\n");
  EXPECT_TRUE(run(*d, conn::Snapshot{}).empty());
  EXPECT_EQ(feed("    from_conn_table: false\n"), nullptr);
  EXPECT_EQ(feed("    enabled: false\n"), nullptr);
}

}  // namespace
}  // namespace picket::detect::conn_table

// blocklist from connection-table snapshots: listed peers with their process, unlisted and
// unconnected sockets ignored, direction, dedup per (remote, pid), records ending.
#include <gtest/gtest.h>

#include "detect/blocklist/blocklists.hpp"
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

std::shared_ptr<const blocklist::Blocklists> lists(std::initializer_list<const char*> prefixes) {
  blocklist::ListSpec spec;
  for (const char* p : prefixes) spec.inline_prefixes.push_back(*core::Prefix::parse(p));
  spec.exempt.push_back(*core::Prefix::parse("198.51.100.77/32"));
  return blocklist::load_lists(spec);
}

std::unique_ptr<SnapshotDetector> feed(const std::string& keys = "") {
  return make_blocklist_feed(make_config(config::Profile::normal, "detect:\n  blocklist:\n    enabled: true\n" + keys),
                             lists({"203.0.113.0/24", "2001:db8:bad::/48", "198.51.100.0/24", "0.0.0.0/8"}));
}

TEST(BlocklistFeed, ListedRemoteNamesTheProcess) {
  auto d = feed();
  ASSERT_TRUE(d);
  SnapshotBuilder b(kT0);
  b.socket("198.18.0.5", 51'000, "203.0.113.9", 443, st::kEstablished, conn::kProtoTcp, 4321, "curl");
  b.socket("198.18.0.5", 51'001, "192.0.2.1", 443, st::kEstablished, conn::kProtoTcp, 4321, "curl");  // unlisted
  const auto f = run(*d, b.build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detector, "blocklist");
  EXPECT_EQ(f[0].kind, "blocklisted_connection");
  EXPECT_EQ(f[0].signature_id, 2'008'003u);
  EXPECT_EQ(f[0].source.to_string(), "203.0.113.9");
  EXPECT_EQ(f[0].target.to_string(), "198.18.0.5");
  EXPECT_EQ(f[0].proto, 6);
  EXPECT_EQ(f[0].severity, Severity::medium);
  EXPECT_FALSE(f[0].update);
  const auto& e = f[0].evidence;
  EXPECT_EQ(e["source"], "conn_table");
  EXPECT_EQ(e["direction"], "outbound");
  EXPECT_EQ(e["pid"], 4321);
  EXPECT_EQ(e["process"], "curl");
  EXPECT_EQ(e["list"], "inline");
  EXPECT_EQ(e["line"], 1);
  EXPECT_EQ(e["prefix"], "203.0.113.0/24");
  EXPECT_EQ(e["local"], "198.18.0.5:51000");
  EXPECT_EQ(e["remote"], "203.0.113.9:443");
  EXPECT_EQ(e["state"], "established");
  EXPECT_EQ(e["sockets"], 1);
  EXPECT_EQ(e["first_seen"], core::format_iso8601(kT0));
  EXPECT_NE(f[0].signature.find("curl (pid 4321)"), std::string::npos);
}

TEST(BlocklistFeed, UnlistedUnconnectedExemptGiveNothing) {
  auto d = feed();
  SnapshotBuilder b(kT0);
  b.socket("198.18.0.5", 51'000, "192.0.2.1", 443);                                 // unlisted
  b.socket("0.0.0.0", 53, "0.0.0.0", 0, st::kClose, conn::kProtoUdp, 10, "dnsd");   // unconnected v4
  b.socket("::", 53, "::", 0, st::kClose, conn::kProtoUdp, 10, "dnsd");             // unconnected v6
  b.socket("0.0.0.0", 22, "0.0.0.0", 0, st::kListen, conn::kProtoTcp, 11, "sshd");  // listener
  b.socket("198.18.0.5", 51'002, "198.51.100.77", 443);                             // exempt
  EXPECT_TRUE(run(*d, b.build()).empty());
}

TEST(BlocklistFeed, InboundIpv6AndUdp) {
  auto d = feed();
  SnapshotBuilder b(kT0);
  b.socket("::", 22, "::", 0, st::kListen, conn::kProtoTcp, 11, "sshd");
  b.socket("2001:db8::1", 22, "2001:db8:bad::66", 40'000, st::kEstablished, conn::kProtoTcp, 12, "sshd");
  b.socket("198.18.0.5", 40'001, "198.51.100.3", 53, st::kEstablished, conn::kProtoUdp, 13, "resolver");
  const auto f = run(*d, b.build());
  ASSERT_EQ(f.size(), 2u);
  const Finding* in = f[0].proto == 6 ? &f[0] : &f[1];
  const Finding* udp = f[0].proto == 6 ? &f[1] : &f[0];
  EXPECT_EQ(in->evidence["direction"], "inbound");
  EXPECT_EQ(in->severity, Severity::high);
  EXPECT_EQ(in->evidence["remote"], "[2001:db8:bad::66]:40000");
  EXPECT_EQ(in->evidence["process"], "sshd");
  EXPECT_EQ(udp->proto, 17);
  EXPECT_EQ(udp->evidence["direction"], "outbound");
  EXPECT_EQ(udp->evidence["line"], 3);
}

TEST(BlocklistFeed, DedupPerRemoteAndPid) {
  auto d = feed("    update_interval: 60s\n");
  auto snap = [](Timestamp t, int sockets, int32_t pid) {
    SnapshotBuilder b(t);
    for (int i = 0; i < sockets; ++i) {
      b.socket("198.18.0.5", static_cast<uint16_t>(51'000 + i), "203.0.113.9", 443, st::kEstablished, conn::kProtoTcp,
               pid, "bot");
    }
    return b.build();
  };
  auto f = run(*d, snap(kT0, 3, 100));
  ASSERT_EQ(f.size(), 1u);  // three sockets, one record
  EXPECT_EQ(f[0].evidence["sockets"], 3);
  EXPECT_TRUE(run(*d, snap(kT0 + Duration::seconds(10), 3, 100)).empty());
  // Another process to the same address is another record.
  f = run(*d, snap(kT0 + Duration::seconds(20), 1, 101));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].evidence["pid"], 101);
  // pid 100 was absent from that snapshot: its record ended, so it is new again.
  f = run(*d, snap(kT0 + Duration::seconds(30), 2, 100));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_FALSE(f[0].update);
  f = run(*d, snap(kT0 + Duration::seconds(90), 2, 100));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].update);
  EXPECT_DOUBLE_EQ(f[0].evidence["window"].get<double>(), 60.0);
  EXPECT_EQ(d->stats().findings, 4u);
}

TEST(BlocklistFeed, SwitchesAndEmptyLists) {
  const auto cfg = make_config(config::Profile::normal);
  EXPECT_EQ(make_blocklist_feed(cfg, nullptr), nullptr);
  EXPECT_EQ(make_blocklist_feed(cfg, lists({})), nullptr);
  EXPECT_NE(make_blocklist_feed(cfg, lists({"203.0.113.0/24"})), nullptr);
  EXPECT_EQ(
      make_blocklist_feed(make_config(config::Profile::normal, "detect:\n  blocklist:\n    from_conn_table: false\n"),
                          lists({"203.0.113.0/24"})),
      nullptr);
  EXPECT_EQ(make_blocklist_feed(make_config(config::Profile::normal, "detect:\n  blocklist:\n    enabled: false\n"),
                                lists({"203.0.113.0/24"})),
            nullptr);
}

}  // namespace
}  // namespace picket::detect::conn_table

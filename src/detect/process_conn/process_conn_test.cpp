// process_conn on hand-made snapshots: at, below and above the limit, states, UDP, exclusions,
// dedup and updates, episodes, pid reuse, capacity, profiles, bad keys.
#include "detect/process_conn/process_conn.hpp"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace picket::detect::process_conn {
namespace {

using conn::Snapshot;
using conn::Socket;
using core::Duration;
using core::IpAddress;
using core::Timestamp;
namespace st = conn::tcp_state;

config::Config make_config(config::Profile profile, const std::string& yaml = "") {
  config::Schema schema;
  declare_config(schema);
  const std::string text = "profile: " + std::string(config::profile_name(profile)) + "\n" + yaml;
  auto r = config::load_string(schema, text, "<test>");
  if (!r.config) {
    std::string msg;
    for (const auto& e : r.errors) msg += e.to_string() + "\n";
    throw std::runtime_error(msg);
  }
  return std::move(*r.config);
}

config::Config limit_config(int limit, const std::string& extra = "") {
  return make_config(config::Profile::normal,
                     "detect:\n  process_conn:\n    connection_limit: " + std::to_string(limit) + "\n" + extra);
}

class Sink final : public FindingSink {
 public:
  void add(Finding&& f) override { findings.push_back(std::move(f)); }
  std::vector<Finding> findings;
};

// Builds snapshots the way ConnTable does: process_names[0] = "", then one name per pid, by pid.
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(Timestamp t) { snap_.taken_at = t; }
  // `n` sockets of (pid, name) in `state` to distinct peers 198.19.0.x (or one peer when `one_peer`).
  SnapshotBuilder& add(int32_t pid, const std::string& name, int n, uint8_t state = st::kEstablished,
                       uint8_t proto = conn::kProtoTcp, bool one_peer = false) {
    for (int i = 0; i < n; ++i) {
      Socket k;
      k.proto = proto;
      k.state = state;
      k.local = IpAddress::v4(0xC6120001);  // 198.18.0.1
      k.local_port = static_cast<uint16_t>(40'000 + i);
      k.remote = IpAddress::v4(0xC6130000 + (one_peer ? 7 : static_cast<uint32_t>(i % 250)));
      k.remote_port = state == st::kListen ? 0 : 443;
      k.inode = ++inode_;
      k.uid = 1000;
      k.pid = pid;
      snap_.sockets.push_back(k);
      names_[pid] = name;
    }
    return *this;
  }
  SnapshotBuilder& unknown_owner(int n) {
    for (int i = 0; i < n; ++i) {
      Socket k;
      k.proto = conn::kProtoTcp;
      k.state = st::kEstablished;
      k.remote = IpAddress::v4(0xC6130001);
      k.remote_port = 80;
      snap_.sockets.push_back(k);
    }
    return *this;
  }
  Snapshot build() {
    Snapshot s = snap_;
    s.process_names = {""};
    std::vector<int32_t> pids;
    for (const auto& [pid, name] : names_) {
      pids.push_back(pid);
      s.process_names.push_back(name);
    }
    for (auto& k : s.sockets) {
      if (k.pid < 0) continue;
      k.process = static_cast<uint32_t>(std::lower_bound(pids.begin(), pids.end(), k.pid) - pids.begin()) + 1;
    }
    return s;
  }

 private:
  Snapshot snap_;
  std::map<int32_t, std::string> names_;
  uint64_t inode_ = 0;
};

const Timestamp kT0 = Timestamp::from_parts(1'700'000'000, 0);

std::vector<Finding> run(SnapshotDetector& d, const Snapshot& s) {
  Sink sink;
  d.on_snapshot(s, sink);
  return std::move(sink.findings);
}

struct LimitCase {
  int limit;
  int connections;
  bool reported;
};

class ProcessConnLimit : public ::testing::TestWithParam<LimitCase> {};

TEST_P(ProcessConnLimit, AtBelowAbove) {
  const LimitCase c = GetParam();
  auto d = create(limit_config(c.limit));
  ASSERT_TRUE(d);
  const auto f = run(*d, SnapshotBuilder(kT0).add(4242, "curl", c.connections).add(7, "quiet", 1).build());
  ASSERT_EQ(f.size(), c.reported ? 1u : 0u);
  if (!c.reported) return;
  EXPECT_EQ(f[0].detector, "process_conn");
  EXPECT_EQ(f[0].kind, "process_conn");
  EXPECT_EQ(f[0].signature_id, 2'009'001u);
  EXPECT_TRUE(f[0].source.empty());
  EXPECT_FALSE(f[0].aggregate);
  EXPECT_FALSE(f[0].update);
  EXPECT_EQ(f[0].proto, 6);
  EXPECT_EQ(f[0].ts, kT0);
  EXPECT_EQ(f[0].evidence["pid"], 4242);
  EXPECT_EQ(f[0].evidence["process"], "curl");
  EXPECT_EQ(f[0].evidence["connections"], c.connections);
  EXPECT_EQ(f[0].evidence["limit"], c.limit);
  EXPECT_EQ(f[0].evidence["by_state"]["established"], c.connections);
  EXPECT_EQ(f[0].evidence["uid"], 1000);
}

INSTANTIATE_TEST_SUITE_P(Limits, ProcessConnLimit,
                         ::testing::Values(LimitCase{20, 19, false}, LimitCase{20, 20, false}, LimitCase{20, 21, true},
                                           LimitCase{20, 45, true}, LimitCase{1, 1, false}, LimitCase{1, 2, true},
                                           LimitCase{200, 200, false}, LimitCase{200, 201, true}));

TEST(ProcessConn, StatesThatCount) {
  auto d = create(limit_config(5));
  // Listeners, TIME_WAIT and unconnected UDP do not count by default; SYN_SENT and connected UDP do.
  auto f = run(*d, SnapshotBuilder(kT0)
                       .add(10, "srv", 50, st::kListen)
                       .add(10, "srv", 50, st::kTimeWait)
                       .add(10, "srv", 50, st::kClose, conn::kProtoUdp)
                       .add(10, "srv", 5, st::kEstablished)
                       .build());
  EXPECT_TRUE(f.empty());
  f = run(*d, SnapshotBuilder(kT0 + Duration::seconds(5))
                  .add(10, "srv", 3, st::kEstablished)
                  .add(10, "srv", 2, st::kSynSent)
                  .add(10, "srv", 1, st::kEstablished, conn::kProtoUdp)
                  .build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].evidence["connections"], 6);
  EXPECT_EQ(f[0].evidence["by_state"]["established"], 3);
  EXPECT_EQ(f[0].evidence["by_state"]["syn_sent"], 2);
  EXPECT_EQ(f[0].evidence["by_state"]["udp_connected"], 1);
  EXPECT_EQ(f[0].proto, 0);  // both protocols

  // Configured: only established TCP, no UDP.
  auto only = create(limit_config(5, "    tcp_states: [established]\n    count_udp: false\n"));
  f = run(*only, SnapshotBuilder(kT0)
                     .add(10, "srv", 5, st::kEstablished)
                     .add(10, "srv", 9, st::kSynSent)
                     .add(10, "srv", 9, st::kEstablished, conn::kProtoUdp)
                     .build());
  EXPECT_TRUE(f.empty());
  // Listening sockets counted when asked for.
  auto listen = create(limit_config(5, "    tcp_states: [listen]\n"));
  f = run(*listen, SnapshotBuilder(kT0).add(10, "srv", 6, st::kListen).build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].evidence["sample_remotes"].size(), 0u);  // listeners have no peer
}

TEST(ProcessConn, ExcludeAndUnknownOwners) {
  auto d = create(limit_config(5, "    exclude_processes: [nginx, haproxy]\n"));
  const auto f = run(*d, SnapshotBuilder(kT0)
                             .add(100, "nginx", 500)
                             .add(101, "haproxy", 500)
                             .add(102, "nginx-like", 6)
                             .unknown_owner(500)
                             .build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].evidence["process"], "nginx-like");
  EXPECT_EQ(f[0].evidence["pid"], 102);
}

TEST(ProcessConn, SeveralProcessesInPidOrder) {
  auto d = create(limit_config(3));
  const auto f = run(*d, SnapshotBuilder(kT0).add(300, "c", 4).add(20, "a", 9).add(100, "b", 3).build());
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].evidence["pid"], 20);
  EXPECT_EQ(f[1].evidence["pid"], 300);
}

TEST(ProcessConn, SampleRemotes) {
  auto d = create(limit_config(3));
  SnapshotBuilder b(kT0);
  b.add(5, "x", 10, st::kEstablished, conn::kProtoTcp, /*one_peer=*/true).add(5, "x", 3);
  const auto f = run(*d, b.build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].evidence["remotes"], 4);  // 198.19.0.7, .0, .1, .2
  const auto& sample = f[0].evidence["sample_remotes"];
  ASSERT_EQ(sample.size(), 4u);
  EXPECT_EQ(sample[0]["address"], "198.19.0.7");
  EXPECT_EQ(sample[0]["connections"], 10);
  EXPECT_EQ(sample[1]["address"], "198.19.0.0");
}

TEST(ProcessConn, DedupUpdatesAndEpisodes) {
  auto d = create(limit_config(5, "    update_interval: 60s\n"));
  auto over = [](Timestamp t, int n = 8) { return SnapshotBuilder(t).add(77, "bot", n).build(); };
  EXPECT_EQ(run(*d, over(kT0)).size(), 1u);
  EXPECT_TRUE(run(*d, over(kT0 + Duration::seconds(10))).empty());
  EXPECT_TRUE(run(*d, over(kT0 + Duration::seconds(59))).empty());
  auto f = run(*d, over(kT0 + Duration::seconds(60), 9));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].update);
  EXPECT_EQ(f[0].evidence["connections"], 9);
  EXPECT_DOUBLE_EQ(f[0].evidence["window"].get<double>(), 60.0);
  // Back to the limit: the episode ends; over again is a new first report at once.
  EXPECT_TRUE(run(*d, over(kT0 + Duration::seconds(65), 5)).empty());
  EXPECT_EQ(d->stats().tracked, 0u);
  f = run(*d, over(kT0 + Duration::seconds(70)));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_FALSE(f[0].update);
  EXPECT_EQ(f[0].evidence["first_seen"], core::format_iso8601(kT0 + Duration::seconds(70)));
  EXPECT_EQ(d->stats().findings, 3u);
}

TEST(ProcessConn, ReusedPidIsANewProcess) {
  auto d = create(limit_config(5));
  EXPECT_EQ(run(*d, SnapshotBuilder(kT0).add(77, "old", 8).build()).size(), 1u);
  const auto f = run(*d, SnapshotBuilder(kT0 + Duration::seconds(5)).add(77, "new", 8).build());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_FALSE(f[0].update);
  EXPECT_EQ(f[0].evidence["process"], "new");
}

TEST(ProcessConn, CapacityBoundsTheTable) {
  auto d = create(limit_config(1, "    capacity: 16\n"));
  SnapshotBuilder b(kT0);
  for (int pid = 1; pid <= 100; ++pid) b.add(pid, "p" + std::to_string(pid), 2);
  const auto f = run(*d, b.build());
  EXPECT_EQ(f.size(), 100u);  // each reported once; the table keeps 16
  EXPECT_EQ(d->stats().tracked, 16u);
  EXPECT_EQ(d->stats().capacity, 16u);
  EXPECT_GT(d->stats().evictions, 0u);
}

TEST(ProcessConn, ProfilesAndSeed) {
  const struct {
    config::Profile p;
    int64_t limit;
  } cases[] = {{config::Profile::normal, 200}, {config::Profile::aggressive, 100}, {config::Profile::paranoid, 20}};
  for (const auto& c : cases) {
    EXPECT_EQ(make_config(c.p).integer("detect.process_conn.connection_limit"), c.limit);
  }
  config::Schema schema;
  declare_config(schema);
  EXPECT_NE(schema.find("detect.process_conn.connection_limit")->seed_note.find("20"), std::string::npos);
}

TEST(ProcessConn, DisabledAndBadKeys) {
  EXPECT_EQ(create(make_config(config::Profile::normal, "detect:\n  process_conn:\n    enabled: false\n")), nullptr);
  EXPECT_THROW(create(limit_config(5, "    tcp_states: [established, bogus]\n")), std::invalid_argument);
  EXPECT_THROW(make_config(config::Profile::normal, "detect:\n  process_conn:\n    connection_limit: 0\n"),
               std::runtime_error);
  EXPECT_THROW(make_config(config::Profile::normal, "detect:\n  process_conn:\n    connection_limit: many\n"),
               std::runtime_error);
}

TEST(ProcessConn, EmptyAndOddSnapshots) {
  auto d = create(limit_config(1));
  EXPECT_TRUE(run(*d, Snapshot{}).empty());  // no process_names at all
  Snapshot s = SnapshotBuilder(kT0).add(5, "x", 3).build();
  for (auto& k : s.sockets) k.process = 99;  // an index past process_names: ignored
  EXPECT_TRUE(run(*d, s).empty());
}

}  // namespace
}  // namespace picket::detect::process_conn

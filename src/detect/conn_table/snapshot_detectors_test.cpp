// The snapshot detectors' config and factory, and the whole chain on this process's own sockets:
// ConnTable → process_conn names this pid when it holds more connections than the limit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "conn/conn_table.hpp"
#include "core/unique_fd.hpp"
#include "detect/blocklist/blocklists.hpp"
#include "detect/conn_table/test_support.hpp"

namespace picket::detect {
namespace {

using conn_table::testing::make_config;
using core::Duration;

TEST(SnapshotConfig, ConnKeysAndProfiles) {
  const struct {
    config::Profile p;
    int64_t interval_s;
  } cases[] = {{config::Profile::normal, 5}, {config::Profile::aggressive, 2}, {config::Profile::paranoid, 1}};
  for (const auto& c : cases) {
    const auto s = conn_settings(make_config(c.p));
    EXPECT_TRUE(s.enabled);
    EXPECT_EQ(s.interval, Duration::seconds(c.interval_s)) << config::profile_name(c.p);
    EXPECT_TRUE(s.table.processes);
    EXPECT_EQ(s.table.max_sockets, 1'000'000u);
    EXPECT_EQ(s.table.full_rescan, Duration::seconds(60));
  }
  const auto s = conn_settings(make_config(config::Profile::normal,
                                           "conn:\n  interval: 10s\n  processes: false\n  max_sockets: 5000\n"
                                           "  full_rescan: 0s\n"));
  EXPECT_EQ(s.interval, Duration::seconds(10));
  EXPECT_FALSE(s.table.processes);
  EXPECT_EQ(s.table.max_sockets, 5000u);
  EXPECT_EQ(s.table.full_rescan, Duration::seconds(0));
  EXPECT_THROW(make_config(config::Profile::normal, "conn:\n  interval: 0s\n"), std::runtime_error);
  EXPECT_THROW(make_config(config::Profile::normal, "conn:\n  max_sockets: 10\n"), std::runtime_error);
  const config::Schema schema = conn_table::testing::snapshot_schema();
  EXPECT_NE(schema.find("conn.interval")->seed_note.find("scan_interval 10"), std::string::npos);
  EXPECT_NE(schema.find("detect.subnet_conn.from_conn_table"), nullptr);
  EXPECT_NE(schema.find("detect.blocklist.from_conn_table"), nullptr);
}

std::vector<std::string> names(const std::vector<std::unique_ptr<SnapshotDetector>>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.emplace_back(d->name());
  return out;
}

TEST(SnapshotDetectors, Factory) {
  blocklist::ListSpec spec;
  spec.inline_prefixes.push_back(*core::Prefix::parse("203.0.113.0/24"));
  const auto lists = blocklist::load_lists(spec);
  const auto all = make_snapshot_detectors(make_config(config::Profile::normal), lists);
  EXPECT_EQ(names(all), (std::vector<std::string>{"process_conn", "conn_table.subnet_conn", "conn_table.blocklist"}));
  EXPECT_EQ(names(make_snapshot_detectors(make_config(config::Profile::normal), nullptr)),
            (std::vector<std::string>{"process_conn", "conn_table.subnet_conn"}));
  EXPECT_TRUE(
      make_snapshot_detectors(make_config(config::Profile::normal, "conn:\n  enabled: false\n"), lists).empty());
  EXPECT_EQ(
      names(make_snapshot_detectors(
          make_config(config::Profile::normal,
                      "detect:\n  process_conn:\n    enabled: false\n  subnet_conn:\n    from_conn_table: false\n"),
          lists)),
      (std::vector<std::string>{"conn_table.blocklist"}));
  EXPECT_THROW(
      make_snapshot_detectors(
          make_config(config::Profile::normal, "detect:\n  process_conn:\n    tcp_states: [establishd]\n"), nullptr),
      std::invalid_argument);
}

// A listener on 127.0.0.1 and `n` connections to it (both ends held by this process).
struct Loopback {
  core::UniqueFd listener;
  std::vector<core::UniqueFd> ends;
};

Loopback connections(int n) {
  Loopback lb;
  lb.listener = core::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(lb.listener.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(lb.listener.get(), 64) != 0 ||
      ::getsockname(lb.listener.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return lb;
  }
  for (int i = 0; i < n; ++i) {
    core::UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) break;
    lb.ends.push_back(std::move(c));
    lb.ends.emplace_back(::accept4(lb.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  }
  return lb;
}

TEST(SnapshotDetectors, ProcessConnNamesThisProcess) {
  const Loopback lb = connections(25);
  ASSERT_EQ(lb.ends.size(), 50u);
  const auto cfg = make_config(config::Profile::normal, "detect:\n  process_conn:\n    connection_limit: 20\n");
  auto table = conn::ConnTable::open(conn_settings(cfg).table);
  ASSERT_TRUE(table) << table.error().message;
  conn::Snapshot snap;
  ASSERT_TRUE((*table)->refresh(core::Timestamp::from_parts(1'700'000'000, 0), snap));
  auto detectors = make_snapshot_detectors(cfg, nullptr);
  conn_table::testing::Sink sink;
  for (auto& d : detectors) d->on_snapshot(snap, sink);
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  const Finding* mine = nullptr;
  for (const auto& f : sink.findings) {
    if (f.detector == "process_conn" && f.evidence["pid"] == ::getpid()) mine = &f;
    // Loopback connections are never a remote subnet.
    EXPECT_NE(f.detector, "subnet_conn");
  }
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->evidence["process"], comm);
  EXPECT_GE(mine->evidence["connections"].get<int>(), 50);
  EXPECT_GE(mine->evidence["by_state"]["established"].get<int>(), 50);
  EXPECT_EQ(mine->evidence["sample_remotes"][0]["address"], "127.0.0.1");
}

}  // namespace
}  // namespace picket::detect

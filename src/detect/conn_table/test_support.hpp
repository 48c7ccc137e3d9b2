// Test helpers for the snapshot detectors: a config with every key they read, a finding sink,
// and a snapshot builder that numbers processes the way ConnTable does. Tests only.
#pragma once

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "conn/snapshot.hpp"
#include "detect/blocklist/blocklist.hpp"
#include "detect/conn_table/snapshot_detector.hpp"
#include "detect/subnet_conn/subnet_conn.hpp"

namespace picket::detect::conn_table::testing {

inline config::Schema snapshot_schema() {
  config::Schema schema;
  subnet_conn::declare_config(schema);
  blocklist::declare_config(schema);
  declare_snapshot_config(schema);
  return schema;
}

inline config::Config make_config(config::Profile profile, const std::string& yaml = "") {
  const config::Schema schema = snapshot_schema();
  const std::string text = "profile: " + std::string(config::profile_name(profile)) + "\n" + yaml;
  auto r = config::load_string(schema, text, "<test>");
  if (!r.config) {
    std::string msg;
    for (const auto& e : r.errors) msg += e.to_string() + "\n";
    throw std::runtime_error(msg);
  }
  return std::move(*r.config);
}

class Sink final : public FindingSink {
 public:
  void add(Finding&& f) override { findings.push_back(std::move(f)); }
  std::vector<Finding> findings;
};

inline std::vector<Finding> run(SnapshotDetector& d, const conn::Snapshot& s) {
  Sink sink;
  d.on_snapshot(s, sink);
  return std::move(sink.findings);
}

class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(core::Timestamp t) { snap_.taken_at = t; }

  SnapshotBuilder& socket(const std::string& local, uint16_t local_port, const std::string& remote,
                          uint16_t remote_port, uint8_t state = conn::tcp_state::kEstablished,
                          uint8_t proto = conn::kProtoTcp, int32_t pid = -1, const std::string& name = "") {
    conn::Socket k;
    k.proto = proto;
    k.state = state;
    k.local = *core::IpAddress::parse(local);
    k.remote = *core::IpAddress::parse(remote);
    k.local_port = local_port;
    k.remote_port = remote_port;
    k.inode = ++inode_;
    k.pid = pid;
    if (pid >= 0) names_[pid] = name;
    snap_.sockets.push_back(k);
    return *this;
  }
  // `n` established connections from remote addresses base+0 .. base+n-1 (IPv4 text base) to a
  // local listener on port 443.
  SnapshotBuilder& inbound(const std::string& base, int n, int per_address = 1) {
    const uint32_t b = core::IpAddress::parse(base)->v4_host_order();
    for (int i = 0; i < n; ++i) {
      const auto remote = core::IpAddress::v4(b + static_cast<uint32_t>(i / per_address)).to_string();
      socket("198.18.0.1", 443, remote, static_cast<uint16_t>(30'000 + i));
    }
    return *this;
  }
  SnapshotBuilder& listener(uint16_t port) { return socket("0.0.0.0", port, "0.0.0.0", 0, conn::tcp_state::kListen); }
  conn::Snapshot build() const {
    conn::Snapshot s = snap_;
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
  conn::Snapshot snap_;
  std::map<int32_t, std::string> names_;
  uint64_t inode_ = 0;
};

}  // namespace picket::detect::conn_table::testing

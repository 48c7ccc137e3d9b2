// The demo's network: three namespaces and two veth pairs, nothing in the root namespace.
//
//   attacker ns                    victim ns                          client ns
//   to-victim  ==================  to-attacker        to-client  =====  to-victim
//   198.19.0.10, .0.40 /16         198.18.0.10/24     198.18.1.1/24     198.18.1.20/24
//   198.19.40.10 - .49 /16         + 198.19.0.0/16 on-link              + 198.18.0.0/24 via .1.1
//   + 198.18.0.0/24 on-link
//
// The attacker side carries the simulator's own plan addresses (docs/simulator.md: scanner
// 198.19.0.40, SYN flooder 198.19.0.10, connection flood 198.19.40.10-.49), so simulated frames
// need only their MAC addresses changed and the victim's replies route back for real. No default
// route anywhere: nothing leaves the three namespaces. Addresses come from 198.18.0.0/15 only.
//
// Namespace names are pkdemo-<pid>-victim/-attacker/-client. The destructor deletes them, and
// remove_stale() deletes those of earlier demos whose process no longer exists (a SIGKILLed run).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "sim/packet_builder.hpp"

namespace picket::demo {

inline constexpr std::string_view kNetnsPrefix = "pkdemo-";

struct TopologyPlan {
  std::string victim_ns, attacker_ns, client_ns;
  // Interface names (each inside its own namespace).
  std::string victim_to_attacker = "to-attacker";
  std::string victim_to_client = "to-client";
  std::string attacker_if = "to-victim";
  std::string client_if = "to-victim";
  // Fixed MACs so frames can be addressed without asking the kernel.
  sim::MacAddress victim_attacker_side_mac{{0x02, 0x70, 0x6b, 0x00, 0x00, 0x0a}};
  sim::MacAddress victim_client_side_mac{{0x02, 0x70, 0x6b, 0x00, 0x01, 0x01}};
  sim::MacAddress attacker_mac{{0x02, 0x70, 0x6b, 0x00, 0x00, 0x28}};
  sim::MacAddress client_mac{{0x02, 0x70, 0x6b, 0x00, 0x01, 0x14}};

  core::IpAddress victim = core::IpAddress::v4(0xC612000A);          // 198.18.0.10
  core::IpAddress victim_client_side = core::IpAddress::v4(0xC6120101);  // 198.18.1.1
  core::IpAddress client = core::IpAddress::v4(0xC6120114);          // 198.18.1.20
  core::IpAddress scanner = core::IpAddress::v4(0xC6130028);         // 198.19.0.40
  core::IpAddress syn_flooder = core::IpAddress::v4(0xC613000A);     // 198.19.0.10
  core::Prefix conn_flood_net{core::IpAddress::v4(0xC6132800), 24};  // 198.19.40.0/24
  uint32_t conn_flood_first_host = 10;                              // .10 ...
  uint32_t conn_flood_hosts = 40;                                   // ... .49

  // The connection flood's i-th source address (i < conn_flood_hosts).
  core::IpAddress conn_flood_source(uint32_t i) const noexcept;
  // Every address the attacker's interface carries.
  std::vector<core::IpAddress> attacker_addresses() const;
  // The `ip` commands that build the whole topology, in order (each an argv).
  std::vector<std::vector<std::string>> setup_commands() const;
};

// Namespace names for a demo run by process `pid`.
TopologyPlan plan_for_pid(int pid);

// Parses "pkdemo-<pid>-<role>" and returns the pid, or -1 for any other name.
int demo_netns_owner(std::string_view netns_name) noexcept;

// Names under /run/netns that belong to demos (pkdemo-*).
std::vector<std::string> list_demo_netns();

class Topology {
 public:
  // Builds everything; on failure removes what it made and says which command failed.
  static core::Result<std::unique_ptr<Topology>> create(TopologyPlan plan);
  ~Topology();  // deletes the three namespaces (and so the veth pairs)
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  const TopologyPlan& plan() const noexcept { return plan_; }
  // Deletes the namespaces now (idempotent); returns the names it could not delete.
  std::vector<std::string> remove();

  // Deletes pkdemo-<pid>-* namespaces left by demos whose process is gone. Returns their names.
  static std::vector<std::string> remove_stale();

 private:
  explicit Topology(TopologyPlan plan) : plan_(std::move(plan)) {}
  TopologyPlan plan_;
  bool removed_ = false;
};

}  // namespace picket::demo

#include "demo/topology.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <charconv>

#include "demo/process.hpp"

namespace picket::demo {

namespace {

std::string mac_text(const sim::MacAddress& m) {
  const auto& b = m.bytes;
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
}

bool process_exists(int pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

core::IpAddress TopologyPlan::conn_flood_source(uint32_t i) const noexcept {
  return core::IpAddress::v4(conn_flood_net.address().v4_host_order() + conn_flood_first_host + i);
}

std::vector<core::IpAddress> TopologyPlan::attacker_addresses() const {
  std::vector<core::IpAddress> out = {syn_flooder, scanner};
  for (uint32_t i = 0; i < conn_flood_hosts; ++i) out.push_back(conn_flood_source(i));
  return out;
}

std::vector<std::vector<std::string>> TopologyPlan::setup_commands() const {
  const std::string& v = victim_ns;
  const std::string& a = attacker_ns;
  const std::string& c = client_ns;
  std::vector<std::vector<std::string>> cmds = {
      {"ip", "netns", "add", v},
      {"ip", "netns", "add", a},
      {"ip", "netns", "add", c},
      // Created directly inside the namespaces: the root namespace never holds either end.
      {"ip", "link", "add", victim_to_attacker, "netns", v, "address", mac_text(victim_attacker_side_mac), "type",
       "veth", "peer", "name", attacker_if, "netns", a, "address", mac_text(attacker_mac)},
      {"ip", "link", "add", victim_to_client, "netns", v, "address", mac_text(victim_client_side_mac), "type", "veth",
       "peer", "name", client_if, "netns", c, "address", mac_text(client_mac)},
  };
  for (const auto* ns : {&v, &a, &c}) cmds.push_back({"ip", "-n", *ns, "link", "set", "lo", "up"});
  // Victim: its address on the attacker's link, the attackers' /16 on-link, a gateway address for
  // the client's link.
  cmds.push_back({"ip", "-n", v, "addr", "add", victim.to_string() + "/24", "dev", victim_to_attacker});
  cmds.push_back({"ip", "-n", v, "addr", "add", victim_client_side.to_string() + "/24", "dev", victim_to_client});
  for (const auto& addr : attacker_addresses()) {
    cmds.push_back({"ip", "-n", a, "addr", "add", addr.to_string() + "/16", "dev", attacker_if});
  }
  cmds.push_back({"ip", "-n", c, "addr", "add", client.to_string() + "/24", "dev", client_if});
  cmds.push_back({"ip", "-n", v, "link", "set", victim_to_attacker, "up"});
  cmds.push_back({"ip", "-n", v, "link", "set", victim_to_client, "up"});
  cmds.push_back({"ip", "-n", a, "link", "set", attacker_if, "up"});
  cmds.push_back({"ip", "-n", c, "link", "set", client_if, "up"});
  cmds.push_back({"ip", "-n", v, "route", "add", "198.19.0.0/16", "dev", victim_to_attacker});
  cmds.push_back({"ip", "-n", a, "route", "add", victim.masked(24).to_string() + "/24", "dev", attacker_if});
  cmds.push_back({"ip", "-n", c, "route", "add", victim.masked(24).to_string() + "/24", "via",
                  victim_client_side.to_string(), "dev", client_if});
  return cmds;
}

TopologyPlan plan_for_pid(int pid) {
  TopologyPlan p;
  std::string base = fmt::format("{}{}-", kNetnsPrefix, pid);
  p.victim_ns = base + "victim";
  p.attacker_ns = base + "attacker";
  p.client_ns = base + "client";
  return p;
}

int demo_netns_owner(std::string_view name) noexcept {
  if (name.substr(0, kNetnsPrefix.size()) != kNetnsPrefix) return -1;
  name.remove_prefix(kNetnsPrefix.size());
  size_t dash = name.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == name.size()) return -1;
  int pid = -1;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + dash, pid);
  if (ec != std::errc() || ptr != name.data() + dash || pid <= 0) return -1;
  return pid;
}

std::vector<std::string> list_demo_netns() {
  std::vector<std::string> out;
  DIR* d = opendir("/run/netns");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n.substr(0, kNetnsPrefix.size()) == kNetnsPrefix) out.emplace_back(n);
  }
  closedir(d);
  return out;
}

core::Result<std::unique_ptr<Topology>> Topology::create(TopologyPlan plan) {
  std::unique_ptr<Topology> topo(new Topology(std::move(plan)));
  for (const auto& argv : topo->plan_.setup_commands()) {
    CommandResult r = run_command(argv);
    if (r.exit_code != 0) {
      // Returning drops `topo`, whose destructor removes whatever was made so far.
      std::string out = r.output;
      while (!out.empty() && out.back() == '\n') out.pop_back();
      return core::make_error(fmt::format("`{}` failed: {}", join_argv(argv), out.empty() ? "no output" : out));
    }
  }
  return topo;
}

std::vector<std::string> Topology::remove() {
  std::vector<std::string> failed;
  if (removed_) return failed;
  removed_ = true;
  for (const auto* ns : {&plan_.victim_ns, &plan_.attacker_ns, &plan_.client_ns}) {
    if (ns->empty()) continue;
    CommandResult r = run_command({"ip", "netns", "del", *ns});
    // A namespace that was never made is not a failure.
    if (r.exit_code != 0 && r.output.find("No such file") == std::string::npos) failed.push_back(*ns);
  }
  return failed;
}

Topology::~Topology() { remove(); }

std::vector<std::string> Topology::remove_stale() {
  std::vector<std::string> removed;
  for (const auto& name : list_demo_netns()) {
    int pid = demo_netns_owner(name);
    if (pid <= 0 || process_exists(pid)) continue;
    if (run_command({"ip", "netns", "del", name}).exit_code == 0) removed.push_back(name);
  }
  return removed;
}

}  // namespace picket::demo

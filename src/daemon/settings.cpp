#include "daemon/settings.hpp"

#include "enforce/exec/exec_enforcer.hpp"
#include "enforce/ipset/ipset_enforcer.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace picket::daemon {

using core::Duration;

void declare_config(config::Schema& schema) {
  config::SchemaSection c(schema, "capture");
  c.choice("method", "afpacket", {"afpacket", "pcap", "none"},
           "afpacket: memory-mapped TPACKET_V3 rings (fastest); pcap: libpcap live capture; none: no packet "
           "capture (only the connection table feeds detection)");
  c.string_list("interfaces", {}, 64,
                "Interfaces to capture on (picket run --interface adds to these); empty = every interface that is "
                "up, except loopback");
  c.integer("rings_per_interface", 1, 1, 64,
            "Capture sockets per interface, joined in one fanout group that keeps each source address on one ring");
  c.integer("ring_mb", 64, 1, 4096, "Size of each capture ring in MiB: the kernel buffers this much while picket is busy");
  c.integer("block_timeout_ms", 2, 1, 1000,
            "Longest a captured packet waits in a partly filled ring block before picket sees it: lower reacts "
            "faster to slow attacks, higher wakes picket less often on a quiet link");
  c.integer("snaplen", 262144, 64, 262144, "Bytes kept of each frame");
  c.boolean("promiscuous", false, "Put the interfaces in promiscuous mode (see traffic not addressed to this host)");
  c.string("filter", "", "BPF filter (tcpdump syntax) applied in the kernel, e.g. 'not port 22'; empty = everything");

  config::SchemaSection e(schema, "enforce");
  e.choice("backend", "nftables", {"nftables", "ipset", "exec", "dry-run"},
           "Where bans go: nftables (table inet picket), ipset (iptables + ipset, for hosts without nftables), exec "
           "(commands you configure under enforce.exec), dry-run (nothing touches the kernel)");
  e.choice("on_exit", "remove", {"remove", "keep"},
           "On SIGTERM/SIGINT: remove picket's firewall objects, or keep the bans in the kernel (they still expire "
           "by themselves)",
           "seed 001: removes its rules on exit");
  e.boolean("conntrack_cleanup", true,
            "On block, delete the source's existing connections from conntrack so established flows are cut at once",
            "seed 000: aggressive cleanup");
  enforce::ipset::declare_config(schema);
  enforce::exec::declare_config(schema);
  config::SchemaSection t(schema, "enforce.scan_trap");
  t.boolean("enabled", true,
            "nftables, IPS mode, port_scan set to block: the kernel itself drops a source the moment it hits more than "
            "closed_ports distinct closed TCP ports in a burst (counted from this host's resets), for `hold`, while "
            "picket's own detection decides the ban. Allowlisted addresses are never trapped");
  t.integer("closed_ports", 6, 2, 1000,
            "Distinct closed TCP ports a source may hit in a burst (then one more per second) before the trap drops it");
  t.duration("hold", Duration::seconds(60), Duration::seconds(1), Duration::seconds(3600),
             "How long the kernel drops a trapped source (picket's own ban, when it comes, lasts as policy says)");

  config::SchemaSection dm(schema, "daemon");
  dm.boolean("drop_capabilities", true,
             "After start-up keep only CAP_NET_ADMIN and CAP_NET_RAW, plus CAP_SYS_PTRACE while conn.processes names "
             "the processes owning sockets");

  config::SchemaSection ctl(schema, "control");
  ctl.boolean("enabled", true, "Listen on the control socket (picket status, bans, ban, unban, reload, events, top)");
  ctl.string("socket", "/run/picket/picket.sock", "Path of the control socket (mode 0660; its directory is created)");
  ctl.string("group", "", "Group owning the control socket: its members may run picket status, ban, ...; empty = root's");

  metrics::declare_config(schema);

  config::SchemaSection s(schema, "store");
  s.boolean("enabled", true, "Persist active decisions and offender history (needed to restore bans after a restart)");
  s.string("path", store::kDefaultPath, "SQLite file of the store (its directory must exist)");
  s.duration("maintenance_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86400),
             "How often expired decisions are dropped from the store and quiet offenders forgiven");
}

std::string_view backend_name(Backend b) noexcept {
  switch (b) {
    case Backend::nftables: return "nftables";
    case Backend::ipset: return "ipset";
    case Backend::exec: return "exec";
    case Backend::dry_run: return "dry-run";
  }
  return "?";
}

DaemonSettings DaemonSettings::from_config(const config::Config& cfg) {
  DaemonSettings d;
  const std::string& m = cfg.string("capture.method");
  d.capture_method = m == "pcap" ? CaptureMethod::pcap : m == "none" ? CaptureMethod::none : CaptureMethod::afpacket;
  d.interfaces = cfg.list("capture.interfaces");
  d.rings_per_interface = static_cast<uint32_t>(cfg.integer("capture.rings_per_interface"));
  d.ring_mb = static_cast<uint32_t>(cfg.integer("capture.ring_mb"));
  d.snaplen = static_cast<uint32_t>(cfg.integer("capture.snaplen"));
  d.block_timeout_ms = static_cast<uint32_t>(cfg.integer("capture.block_timeout_ms"));
  d.promiscuous = cfg.boolean("capture.promiscuous");
  d.filter = cfg.string("capture.filter");
  const std::string& b = cfg.string("enforce.backend");
  d.backend = b == "ipset" ? Backend::ipset : b == "exec" ? Backend::exec : b == "dry-run" ? Backend::dry_run : Backend::nftables;
  d.on_exit = cfg.string("enforce.on_exit") == "keep" ? OnExit::keep : OnExit::remove;
  d.conntrack_cleanup = cfg.boolean("enforce.conntrack_cleanup");
  d.scan_trap.enabled = cfg.boolean("enforce.scan_trap.enabled");
  d.scan_trap.closed_ports = static_cast<uint32_t>(cfg.integer("enforce.scan_trap.closed_ports"));
  d.scan_trap.hold = cfg.duration("enforce.scan_trap.hold");
  d.drop_capabilities = cfg.boolean("daemon.drop_capabilities");
  d.control_enabled = cfg.boolean("control.enabled");
  d.control_socket = cfg.string("control.socket");
  d.control_group = cfg.string("control.group");
  d.store_enabled = cfg.boolean("store.enabled");
  d.store_path = cfg.string("store.path");
  d.store_maintenance = cfg.duration("store.maintenance_interval");
  d.flush_interval = cfg.duration("output.flush_interval");
  return d;
}

}  // namespace picket::daemon

// DaemonSettings: the keys only `picket run` reads — where packets come from (capture.*), which
// firewall backend enforces decisions (enforce.*), and where decisions persist (store.*).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/time.hpp"

namespace picket::daemon {

// Declares capture.*, enforce.* (with the ipset and exec backends' own keys), daemon.*, control.* and store.*.
void declare_config(config::Schema& schema);

enum class CaptureMethod : uint8_t { afpacket, pcap, none };
enum class Backend : uint8_t { nftables, ipset, exec, dry_run };
enum class OnExit : uint8_t { remove, keep };

struct DaemonSettings {
  CaptureMethod capture_method = CaptureMethod::afpacket;
  std::vector<std::string> interfaces;
  uint32_t rings_per_interface = 1;
  uint32_t ring_mb = 64;
  uint32_t block_timeout_ms = 2;
  uint32_t snaplen = 262144;
  bool promiscuous = false;
  std::string filter;

  Backend backend = Backend::nftables;
  OnExit on_exit = OnExit::remove;
  bool conntrack_cleanup = true;
  struct ScanTrap {                      // enforce.scan_trap.* (nftables only)
    bool enabled = true;
    uint32_t closed_ports = 6;
    core::Duration hold = core::Duration::seconds(60);
  } scan_trap;

  bool drop_capabilities = true;

  bool control_enabled = true;
  std::string control_socket;
  std::string control_group;

  bool store_enabled = true;
  std::string store_path;
  core::Duration store_maintenance = core::Duration::seconds(60);  // expire + forgive sweep

  core::Duration flush_interval = core::Duration::seconds(1);  // event files

  static DaemonSettings from_config(const config::Config& cfg);
};

std::string_view backend_name(Backend b) noexcept;

}  // namespace picket::daemon

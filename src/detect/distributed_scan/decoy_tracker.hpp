// DecoyTracker: decoy scans on one target (nmap -D). Each probe is sent from the real scanner and
// from several forged "decoy" addresses within microseconds, port after port, so for every probed
// port the same group of sources shows up together.
//
// - Slots: the ports probed in the last `decoy_window`, each with the distinct sources that probed
//   it (the first kMembers of them). A slot closes when the window has passed (or when its room is
//   needed); a closed slot with at least `min_sources` sources is a *group*.
// - Groups are keyed by a signature of their source set (XOR of mixed address hashes, so order
//   does not matter). The same signature on `min_ports` different ports is a decoy scan. A burst of
//   clients on one busy port makes groups too, but with a new source set each time and on one
//   port, so it never repeats across ports.
// Fixed size (about 1.5 KiB), no allocation.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/ip_address.hpp"
#include "core/time.hpp"
#include "detect/detector.hpp"
#include "detect/finding.hpp"
#include "state/distinct.hpp"

namespace picket::detect::distributed_scan {

struct DecoySettings {
  uint32_t min_sources = 4;                            // sources probing one port together (≤ kMembers)
  uint32_t min_ports = 3;                              // ports the same group probes
  core::Duration window = core::Duration::seconds(1);  // how close together a group's probes are
};

class DecoyTracker {
 public:
  static constexpr size_t kSlots = 4;
  static constexpr size_t kGroups = 4;
  static constexpr size_t kMembers = 8;
  static constexpr size_t kSamplePorts = 8;

  struct Group {
    uint64_t signature = 0;
    uint8_t members_n = 0;         // members stored (0: the group is free)
    uint8_t sources_per_port = 0;  // the largest number of sources seen on one of its ports
    uint16_t kinds = 0;            // bit per ProbeKind
    std::array<core::IpAddress, kMembers> members{};
    state::DistinctBitmap<128> ports;
    std::array<uint16_t, kSamplePorts> sample_ports{};
    uint8_t sample_n = 0;
    int64_t first_ns = 0;
    int64_t last_ns = 0;
    ReportState report;

    bool in_use() const noexcept { return members_n != 0; }
    // Exact while the ports fit the sample, estimated beyond.
    uint32_t port_count() const noexcept {
      return sample_n < kSamplePorts ? sample_n : std::max<uint32_t>(sample_n, ports.estimate());
    }
  };

  // A probe of `service` (protocol << 16 | port) on the target from `src`.
  void on_probe(const DecoySettings& s, const core::IpAddress& src, uint32_t service, ProbeKind kind,
                int64_t now_ns) noexcept;
  // Closes the slots older than the decoy window and frees groups idle for `idle`.
  void flush(const DecoySettings& s, int64_t now_ns, core::Duration idle) noexcept;
  // A group with at least min_ports ports (its sources are at least min_sources by construction).
  static bool qualifies(const DecoySettings& s, const Group& g) noexcept { return g.port_count() >= s.min_ports; }

  std::array<Group, kGroups>& groups() noexcept { return groups_; }
  const std::array<Group, kGroups>& groups() const noexcept { return groups_; }
  void clear() noexcept { *this = DecoyTracker{}; }

 private:
  struct Slot {
    int64_t start_ns = 0;
    uint32_t service = 0;
    uint8_t n = 0;  // distinct sources (saturating; only the first kMembers are stored)
    bool used = false;
    uint16_t kinds = 0;
    std::array<core::IpAddress, kMembers> members{};
  };
  void close(const DecoySettings& s, Slot& slot) noexcept;

  std::array<Slot, kSlots> slots_{};
  std::array<Group, kGroups> groups_{};
};

}  // namespace picket::detect::distributed_scan

// Finding: a fact a detector established, with its evidence. Policy turns findings into
// decisions; outputs turn them into alert events. Findings are rare (deduplicated per
// detector, source and kind), so they may allocate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/ip_address.hpp"
#include "core/time.hpp"

namespace picket::detect {

enum class Severity : uint8_t { high = 1, medium = 2, low = 3 };  // Suricata's numbering

struct Finding {
  std::string_view detector;             // "port_scan" — a static name
  std::string_view kind;                 // "port_scan", "sweep", "flood", ... — static
  core::Timestamp ts;                    // packet time at which it was made
  core::IpAddress source;                // the offender; empty for per-target findings
  std::optional<core::Prefix> source_prefix;  // set when the offender is a whole prefix
  core::IpAddress target;                // the victim, when there is one
  std::optional<uint16_t> target_port;
  uint8_t proto = 0;                     // IANA number, 0 = several / not applicable
  Severity severity = Severity::medium;
  uint32_t signature_id = 0;             // stable per (detector, kind); see docs/detectors.md
  bool update = false;                   // a periodic update of a finding already reported
  bool aggregate = false;                // spoofable aggregate evidence: never a per-source ban
  std::string signature;                 // one human sentence
  std::string category;                  // Suricata-style class: "Network Scan", "Denial of Service", ...
  nlohmann::ordered_json evidence;       // detector-specific fields (documented in docs/detectors.md)
};

// Total order used to emit findings deterministically whatever the number of workers.
bool finding_less(const Finding& a, const Finding& b) noexcept;

class FindingSink {
 public:
  virtual ~FindingSink() = default;
  virtual void add(Finding&& f) = 0;
};

// Deduplication state a detector keeps per (source, kind): report once when the condition first
// holds, then at most once per update interval while it persists.
struct ReportState {
  int64_t last_report_ns = 0;
  uint32_t reports = 0;

  bool reported() const noexcept { return reports != 0; }
  // True when a report is due at `now`; records it.
  bool due(core::Timestamp now, core::Duration update_interval) noexcept {
    if (reports != 0 && now.ns - last_report_ns < update_interval.ns) return false;
    last_report_ns = now.ns;
    ++reports;
    return true;
  }
  bool is_update() const noexcept { return reports > 1; }
  // What due() would answer, without recording: lets a caller skip costly evidence when not due.
  bool would_be_due(core::Timestamp now, core::Duration update_interval) const noexcept {
    return reports == 0 || now.ns - last_report_ns >= update_interval.ns;
  }
};

}  // namespace picket::detect

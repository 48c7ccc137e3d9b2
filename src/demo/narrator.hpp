// Narrator: turns what happens in the demo into short lines for a person watching a terminal —
// the phases the demo starts ("attacker scans ports…") and picket's events as they arrive
// ("picket saw: port_scan from 198.19.0.40 (syn scan, 13 ports)", "picket blocked 198.19.0.40
// for 10m (nftables)").
//
// describe_event() is pure (one JSON line in, text out) so it is tested without a kernel; the
// Narrator adds colour (only when asked: the caller decides, from isatty) and keeps a tally for
// the closing summary. Lines that are not JSON objects are counted as unreadable, never fatal.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace picket::demo {

enum class LineKind : uint8_t { phase, info, saw, acted, trouble, good, bad };

struct Narration {
  LineKind kind = LineKind::info;
  std::string text;
};

struct EventFacts {
  std::string event_type;  // alert, decision, anomaly, stats
  std::string detector;    // picket.detector, when present
  std::string action;      // decision.action
  std::string target;      // decision.target
  bool update = false;     // picket.update (a repeat of a finding)
};

// What one events-file line says, for people; nullopt for events not worth a line (stats, decode
// anomalies, unblock at shutdown is still told). `facts` (optional) receives the parsed fields.
// Malformed input gives a `trouble` line saying so.
std::optional<Narration> describe_event(std::string_view json_line, EventFacts* facts = nullptr);

// "600" seconds -> "10m", "90" -> "90s", "5400" -> "90m": the way a person says a ban length.
std::string human_duration(double seconds);

class Narrator {
 public:
  Narrator(std::FILE* out, bool colour) : out_(out), colour_(colour) {}

  // Prints one line: "==> text" for phases, indented for the rest, coloured by kind.
  void say(LineKind kind, std::string_view text);
  // Describes and prints one events-file line; remembers it for the summary.
  void event(std::string_view json_line);

  // The text as it would be printed (colour codes included when enabled). No newline.
  std::string format(LineKind kind, std::string_view text) const;

  // Tally of what picket reported.
  uint64_t alerts() const noexcept { return alerts_; }
  uint64_t blocks() const noexcept { return blocks_; }
  uint64_t unreadable() const noexcept { return unreadable_; }
  const std::map<std::string, uint64_t>& alerts_by_detector() const noexcept { return by_detector_; }
  // Targets picket blocked (decision.target of block decisions), in order, without repeats.
  const std::vector<std::string>& blocked_targets() const noexcept { return blocked_; }
  bool saw_enforcer_trouble() const noexcept { return enforcer_trouble_; }

 private:
  std::FILE* out_;
  bool colour_;
  uint64_t alerts_ = 0, blocks_ = 0, unreadable_ = 0;
  std::map<std::string, uint64_t> by_detector_;
  std::vector<std::string> blocked_;
  bool enforcer_trouble_ = false;
};

}  // namespace picket::demo

// Rate limiting and aggregation for one destination: the first events in any minute go out one by
// one; the rest are summed into a Digest so an attack wave becomes one message, not a thousand.
//
// Both classes are pure (time is passed in, steady clock in nanoseconds) and not thread-safe: only
// the destination's worker thread uses them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ip_address.hpp"
#include "core/time.hpp"
#include "output/event.hpp"

namespace picket::alert {

// A sliding 60 s window of single messages.
class RateLimiter {
 public:
  explicit RateLimiter(uint32_t max_per_minute) : max_(max_per_minute) {}
  // True (and the send is recorded) when fewer than max_per_minute were sent in the last 60 s.
  bool try_acquire(core::Timestamp now);

 private:
  uint32_t max_;
  std::deque<core::Timestamp> sent_;
};

struct DetectorCount {
  std::string detector;  // picket.detector, or "-" when the event names none
  uint64_t alerts = 0;
  uint64_t decisions = 0;
  uint64_t sources = 0;  // distinct source addresses (at most kMaxTrackedSources counted)
};

struct SourceCount {
  std::string address;
  uint64_t events = 0;
};

// What one digest message says.
struct Digest {
  core::Timestamp created;  // wall clock when it was built
  core::Duration window;    // the configured digest window
  uint64_t alerts = 0, decisions = 0;
  int highest_severity = 0;               // 1 high .. 3 low; 0 when there were only decisions
  core::Timestamp first_seen, last_seen;  // the events' own timestamps
  uint64_t distinct_sources = 0;
  bool sources_capped = false;           // more distinct sources than were tracked: distinct_sources is a floor
  std::vector<DetectorCount> detectors;  // most events first
  std::vector<SourceCount> top_sources;  // at most kTopSources, most events first

  uint64_t events() const noexcept { return alerts + decisions; }
  // "37 alerts in the last 60 s: 30 port_scan from 20 sources, 7 syn_flood from 1 source; top sources:
  //  198.18.0.1 (12), ..." — one line, ASCII.
  std::string summary() const;
  // {"timestamp", "event_type": "digest", "digest": {...}} with the fields above.
  nlohmann::ordered_json to_json() const;
};

inline constexpr size_t kTopSources = 5;
inline constexpr size_t kMaxTrackedSources = 4096;  // per digest, bounds memory under a spoofed flood
inline constexpr size_t kMaxDetectors = 64;

class DigestBuilder {
 public:
  explicit DigestBuilder(core::Duration window) : window_(window) {}

  // Counts one event; the first one starts the window (due() is `now + window`).
  void add(const output::Event& event, core::Timestamp now);
  bool empty() const noexcept { return alerts_ + decisions_ == 0; }
  // When the pending digest should be sent; meaningless when empty().
  core::Timestamp due() const noexcept { return started_ + window_; }
  // The digest so far, and a fresh start.
  Digest take(core::Timestamp wall_now);

 private:
  struct PerDetector {
    uint64_t alerts = 0, decisions = 0;
    std::unordered_set<core::IpAddress, core::IpAddressHash> sources;
  };
  core::Duration window_;
  core::Timestamp started_;
  uint64_t alerts_ = 0, decisions_ = 0;
  int highest_severity_ = 0;
  core::Timestamp first_seen_, last_seen_;
  bool capped_ = false;
  std::map<std::string, PerDetector> detectors_;
  std::unordered_map<core::IpAddress, uint64_t, core::IpAddressHash> sources_;
};

// picket.detector of an event, or "-".
std::string detector_of(const output::Event& event);

}  // namespace picket::alert

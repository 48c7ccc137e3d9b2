// The per-source state of the port_scan detector, kept small (152 bytes) because a table holds
// one per probing address and a spoofed flood brings millions of them.
//
// Three hashed sliding distinct counters, each a ring of kBuckets 64-bit sub-bucket bitmaps:
// - the short tier (`window`): ports probed on the source's *main host* and hosts probed on its
//   *main port*;
// - the long tier (`slow_window`): every (host, port) target, for scans too slow (or too spread
//   out) for the short window.
// The buckets of a tier share one epoch, not stored: the tiers move forward only when the source
// probes, which is also the only time its table entry is seen, so the epoch of each tier's newest
// bucket is the epoch of the entry's last-seen time (BoundedTable::last_seen). A ring is stored as the newest bucket each bit was set
// in (`BitRing`: 24 bytes instead of four 8-byte bitmaps): the union of the live buckets, all a
// query asks, is the set of bits whose newest bucket is live.
//
// The main host and the main port are chosen by a majority vote (Misra-Gries with one counter):
// a probe to the main one adds a vote, a probe elsewhere takes one away, and at zero votes the
// next one takes over and its counter restarts. A vertical scan keeps its host; a sweep its port.
//
// The sequential hypothesis test (Threshold Random Walk, Jung, Paxson, Berger, Balakrishnan,
// IEEE S&P 2004) walks a log-likelihood ratio up on each failed first contact and down on each
// answered one; above η1 the source is a scanner, below η0 it is benign and the walk restarts.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "core/ip_address.hpp"
#include "detect/detector.hpp"
#include "detect/finding.hpp"
#include "state/distinct.hpp"

namespace picket::detect::port_scan {

inline constexpr uint32_t kBuckets = 4;        // sub-buckets per tier
inline constexpr uint32_t kKinds = 10;         // ProbeKind::syn .. ProbeKind::other_tcp
inline constexpr uint32_t kSamples = 3;        // sample ports kept per source
inline constexpr uint32_t kMaxMonitored = 32;  // ports_to_monitor entries (one bit each)
inline constexpr uint8_t kMaxVotes = 15;       // a main host / port keeps at most this many votes
using Bitmap = state::DistinctBitmap<64>;

// The walk's steps and bounds from the model's parameters.
struct Trw {
  double success_step = 0;  // ln(θ1/θ0), negative
  double failure_step = 0;  // ln((1−θ1)/(1−θ0)), positive
  double upper = 0;         // η1 = ln(β/α): at or above, a scanner
  double lower = 0;         // η0 = ln((1−β)/(1−α)): at or below, benign (the walk restarts)

  // θ0 = P(success | benign), θ1 = P(success | scanner), α = false positive probability,
  // β = detection probability. Requires 0 < θ1 < θ0 < 1 and 0 < α < β < 1 (the schema's ranges
  // guarantee it).
  static Trw from(double theta0, double theta1, double false_positive, double detection) noexcept {
    Trw t;
    t.success_step = std::log(theta1 / theta0);
    t.failure_step = std::log((1 - theta1) / (1 - theta0));
    t.upper = std::log(detection / false_positive);
    t.lower = std::log((1 - detection) / (1 - false_positive));
    return t;
  }
};

// What the distinct counters see of a probe's destination: the protocol and port ("a port" of
// an IP protocol scan is its protocol number, port 0).
inline uint32_t port_key(uint8_t proto, uint16_t port) noexcept {
  return (uint32_t{proto} << 16) | port;
}
inline uint64_t target_key(const core::IpAddress& host, uint32_t port_key) noexcept {
  return host.hash() ^ (uint64_t{port_key} * 0x9E3779B97F4A7C15ULL);
}

// A flow from a well-known port (< 1024) to an ephemeral one is a server talking back to a
// client: an answer whose question was not seen (the local host's own DNS or NTP lookups, whose
// answers come from the remote side's port 53 or 123; connections already under way when the
// capture started). It is neither a probe nor a first contact's outcome.
inline bool answer_shaped(uint16_t actor_port, uint16_t peer_port) noexcept {
  return actor_port < 1024 && peer_port >= 1024;
}

namespace entry_flag {
inline constexpr uint8_t kScanner = 0x01;     // the walk reached η1 (cleared when it reaches η0)
inline constexpr uint8_t kReported = 0x02;    // a finding was made in this activity
inline constexpr uint8_t kVertical = 0x04;    // the short tier saw a vertical scan in this activity
inline constexpr uint8_t kSweep = 0x08;       // the short tier saw a sweep in this activity
inline constexpr uint8_t kSampleMask = 0x30;  // number of sample ports (0..3), bits 4-5
inline constexpr int kSampleShift = 4;
}  // namespace entry_flag

// One sliding distinct counter: kBuckets sub-bucket bitmaps of 64 bits, kept as, for each bit,
// whether some bucket still holds it and the ring position (0..3) of the newest bucket that does.
// Equivalent to the kBuckets bitmaps for every query the detector makes (the union of the newest
// `live` buckets, whether a bit is in the newest bucket) because the ring only ever empties its
// oldest bucket: a bit whose newest bucket is emptied is in no other.
struct BitRing {
  uint64_t present = 0;  // bits held by some bucket
  uint64_t pos_lo = 0;   // ring position of each present bit's newest bucket, low bit
  uint64_t pos_hi = 0;   // and high bit (meaningless where `present` is clear)

  // The bits whose newest bucket is at ring position `pos`.
  uint64_t newest_at(uint32_t pos) const noexcept {
    return present & ((pos & 1u) != 0 ? pos_lo : ~pos_lo) & ((pos & 2u) != 0 ? pos_hi : ~pos_hi);
  }
  // Empties the bucket at `pos` as the ring reuses it: the oldest one (or each in turn, all four).
  void clear(uint32_t pos) noexcept { present &= ~newest_at(pos); }
  void clear_all() noexcept { present = 0; }
  // Adds `value` to the bucket at `head` (the newest); true when its bit was not in that bucket.
  bool add(uint64_t value, uint32_t head) noexcept {
    Bitmap one;
    one.add(value);
    const auto m = std::bit_cast<uint64_t>(one);
    const bool fresh = (newest_at(head) & m) == 0;
    present |= m;
    pos_lo = (head & 1u) != 0 ? pos_lo | m : pos_lo & ~m;
    pos_hi = (head & 2u) != 0 ? pos_hi | m : pos_hi & ~m;
    return fresh;
  }
  // The union of the `live` newest buckets, the newest at `head`.
  Bitmap live_union(uint32_t head, uint32_t live) const noexcept {
    uint64_t u = 0;
    for (uint32_t k = 0; k < live && k < kBuckets; ++k) u |= newest_at((head + kBuckets - k) % kBuckets);
    return std::bit_cast<Bitmap>(u);
  }
};
static_assert(sizeof(Bitmap) == sizeof(uint64_t), "BitRing reads a bitmap as one word");

// Which of an entry's two findings (each deduplicated on its own).
enum class ReportKind : uint8_t { scan = 0, sweep = 1 };

struct Entry {
  BitRing ports;              // short tier: ports on main_host
  BitRing hosts;              // short tier: hosts on main_port
  BitRing targets;            // long tier: (host, port) targets
  int64_t first_seen_ns = 0;  // first probe of this activity
  // ReportState (detect/finding.hpp) per kind, packed: the time of the last report here, the
  // number of reports (0, 1, 2 = more) in `heads`, as whether there was one and whether the next
  // is an update is all it is asked.
  int64_t scan_report_ns = 0;
  int64_t sweep_report_ns = 0;
  uint32_t probes = 0;     // first contacts in this activity (saturating)
  uint32_t monitored = 0;  // bit i: ports_to_monitor[i] probed in this activity
  float llr = 0;           // the walk's log-likelihood ratio
  uint16_t successes = 0;  // outcomes since the walk last restarted (saturating)
  uint16_t failures = 0;
  uint16_t main_port = 0;
  std::array<uint16_t, kSamples> samples{};  // first ports probed on main_host
  core::IpAddress main_host;
  std::array<uint8_t, kKinds> kinds{};  // probes by ProbeKind, all halved when one would overflow
  uint8_t main_proto = 0;               // main_port's protocol (0: no main port yet)
  uint8_t votes = 0;                    // main host's votes (low nibble), main port's (high)
  // Newest bucket of the short (bits 0-1) and long (2-3) tiers; reports of each kind (4-5, 6-7).
  uint8_t heads = 0;
  uint8_t flags = 0;  // entry_flag bits

  uint8_t fast_head() const noexcept { return heads & 3u; }
  uint8_t slow_head() const noexcept { return (heads >> 2) & 3u; }
  void set_fast_head(uint32_t h) noexcept { heads = static_cast<uint8_t>((heads & ~3u) | (h & 3u)); }
  void set_slow_head(uint32_t h) noexcept { heads = static_cast<uint8_t>((heads & ~12u) | ((h & 3u) << 2)); }
  uint32_t sample_count() const noexcept { return (flags & entry_flag::kSampleMask) >> entry_flag::kSampleShift; }
  void set_sample_count(uint32_t n) noexcept {
    flags = static_cast<uint8_t>((flags & ~entry_flag::kSampleMask) | (n << entry_flag::kSampleShift));
  }

  // ReportState::reported / due / is_update for one kind.
  uint32_t reports(ReportKind k) const noexcept { return (heads >> report_shift(k)) & 3u; }
  bool reported(ReportKind k) const noexcept { return reports(k) != 0; }
  bool is_update(ReportKind k) const noexcept { return reports(k) > 1; }
  // True when a report of kind `k` is due at `now`; records it.
  bool due(ReportKind k, core::Timestamp now, core::Duration update_interval) noexcept {
    int64_t& last = k == ReportKind::scan ? scan_report_ns : sweep_report_ns;
    const uint32_t n = reports(k);
    if (n != 0 && now.ns - last < update_interval.ns) return false;
    last = now.ns;
    if (n < 2) {
      const int sh = report_shift(k);
      heads = static_cast<uint8_t>((heads & ~(3u << sh)) | ((n + 1) << sh));
    }
    return true;
  }

 private:
  static int report_shift(ReportKind k) noexcept { return k == ReportKind::scan ? 4 : 6; }
};
static_assert(kBuckets == 4, "heads packs two 2-bit ring positions; BitRing two position bits");
// The size NOTES.md and the docs quote (x86-64): 200 bytes per source with the table's key,
// last-seen time, LRU links and index.
static_assert(sizeof(Entry) <= 152);

// Entries that already carry scan evidence get a second chance when the table is full.
inline bool keep_on_eviction(const Entry& e) noexcept {
  return (e.flags & (entry_flag::kScanner | entry_flag::kReported)) != 0;
}

// ---- ring arithmetic (both tiers) ----

// Moves a tier whose newest bucket is `head` at `epoch` forward to epoch `e`, calling
// clear(bucket) for each bucket it reuses, and returns the new head. Time going backwards writes
// to the newest bucket.
template <typename Clear>
uint32_t roll(uint32_t& epoch, uint32_t head, uint32_t e, Clear&& clear) noexcept {
  if (e <= epoch) return head;
  const uint32_t steps = e - epoch;
  epoch = e;
  if (steps >= kBuckets) {
    for (uint32_t b = 0; b < kBuckets; ++b) clear(b);
    return 0;
  }
  for (uint32_t k = 0; k < steps; ++k) {
    head = (head + 1) % kBuckets;
    clear(head);
  }
  return head;
}

// How many buckets, counting back from the newest, still lie inside the window at epoch `e`.
inline uint32_t live_buckets(uint32_t epoch, uint32_t e) noexcept {
  if (e <= epoch) return kBuckets;
  const uint32_t age = e - epoch;
  return age >= kBuckets ? 0 : kBuckets - age;
}

// ---- scan type ----

// The kind of most of the probes, or ProbeKind::none ("mixed") when no kind has at least two
// thirds of them.
inline ProbeKind majority_kind(const std::array<uint8_t, kKinds>& kinds) noexcept {
  uint32_t total = 0, best = 0;
  uint32_t best_i = 0;
  for (uint32_t i = 0; i < kKinds; ++i) {
    total += kinds[i];
    if (kinds[i] > best) {
      best = kinds[i];
      best_i = i;
    }
  }
  if (total == 0 || best * 3 < total * 2) return ProbeKind::none;
  return static_cast<ProbeKind>(best_i + 1);
}

inline void count_kind(std::array<uint8_t, kKinds>& kinds, ProbeKind k) noexcept {
  const auto i = static_cast<uint32_t>(k) - 1;
  if (i >= kKinds) return;
  if (kinds[i] == 0xFF) {
    for (auto& c : kinds) c = static_cast<uint8_t>(c >> 1);  // keeps the proportions
  }
  ++kinds[i];
}

}  // namespace picket::detect::port_scan

// Fixed-size sketches for one flooded target: how many different sources (a sliding HyperLogLog,
// accurate at millions), who sends most (space-saving heavy hitters), and whether the SYNs'
// handshakes complete (sampled SYN/ACK matching). None of them allocates or grows.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/ip_address.hpp"
#include "state/distinct.hpp"

namespace picket::detect::spoofed_flood {

// HyperLogLog with 2^P one-byte registers per sub-window and K sub-windows in a ring, so the
// estimate covers the last K sub-windows (the oldest one whole), like state::SlidingDistinct.
// Standard error 1.04/sqrt(2^P): 3.3 % for P = 10, at any count (a bitmap saturates; this does not).
// Callers pass a well-mixed 64-bit hash of the value.
template <int P, size_t K>
class SlidingHll {
 public:
  static_assert(P >= 4 && P <= 16 && K >= 1 && K <= 255);
  static constexpr size_t kRegisters = size_t{1} << P;

  void add(int64_t epoch, uint64_t hash) noexcept {
    advance(epoch);
    const size_t index = static_cast<size_t>(hash >> (64 - P));
    const uint64_t rest = hash << P;
    const int rank = rest == 0 ? 64 - P + 1 : std::countl_zero(rest) + 1;
    uint8_t& r = maps_[head_][index];
    if (rank > r) r = static_cast<uint8_t>(rank);
  }

  // 2^-r for every register value, so an estimate costs no libm call per register.
  static constexpr std::array<double, 64> kInversePowers = [] {
    std::array<double, 64> t{};
    double v = 1.0;
    for (auto& x : t) {
      x = v;
      v /= 2;
    }
    return t;
  }();

  // Estimated distinct values in the sub-windows still inside the window at `epoch`.
  uint64_t estimate(int64_t epoch) const noexcept {
    if (epoch_ == kNever) return 0;
    const int64_t age = epoch - epoch_;
    if (age >= static_cast<int64_t>(K)) return 0;
    const int64_t valid = age <= 0 ? static_cast<int64_t>(K) : static_cast<int64_t>(K) - age;
    // The union of the live sub-windows, one whole map at a time (vectorises), then a histogram of
    // register values: 64 multiply-adds instead of a dependent chain of 2^P additions.
    std::array<uint8_t, kRegisters> u = maps_[head_];
    for (int64_t k = 1; k < valid; ++k) {
      const auto& m = maps_[(head_ + K - static_cast<size_t>(k)) % K];
      for (size_t j = 0; j < kRegisters; ++j) u[j] = std::max(u[j], m[j]);
    }
    std::array<uint32_t, 64> histogram{};
    for (uint8_t r : u) ++histogram[r & 63];
    // Every partial sum of 2^-r terms is exact in a double while the largest r leaves room
    // (2^P · 2^r < 2^53), so the grouped sum equals the register-order sum bit for bit; past that
    // (ranks above ~40 are vanishingly rare) sum in register order.
    int top = 63;
    while (top > 0 && histogram[static_cast<size_t>(top)] == 0) --top;
    double sum = 0;
    if (top + P < 53) {
      for (int r = 0; r <= top; ++r) sum += static_cast<double>(histogram[static_cast<size_t>(r)]) * kInversePowers[static_cast<size_t>(r)];
    } else {
      for (uint8_t r : u) sum += kInversePowers[r & 63];
    }
    const size_t zeros = histogram[0];
    const double m = static_cast<double>(kRegisters);
    const double alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    // Small counts: linear counting on the empty registers is the better estimator there.
    if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / static_cast<double>(zeros));
    return static_cast<uint64_t>(std::llround(e));
  }

  void clear() noexcept { *this = SlidingHll{}; }

 private:
  static constexpr int64_t kNever = INT64_MIN;

  void advance(int64_t e) noexcept {
    if (epoch_ == kNever) {
      epoch_ = e;
      return;
    }
    if (e <= epoch_) return;
    const int64_t steps = e - epoch_;
    if (steps >= static_cast<int64_t>(K)) {
      for (auto& m : maps_) m.fill(0);
      head_ = 0;
    } else {
      for (int64_t k = 0; k < steps; ++k) {
        head_ = static_cast<uint8_t>((head_ + 1) % K);
        maps_[head_].fill(0);
      }
    }
    epoch_ = e;
  }

  std::array<std::array<uint8_t, kRegisters>, K> maps_{};
  int64_t epoch_ = kNever;
  uint8_t head_ = 0;
};

// Space-saving heavy hitters over N counters with exponential decay (decay(s) halves every count
// s times), so shares reflect recent traffic. Any source with more than total/N of the packets is
// guaranteed a counter; count - error is a lower bound on what it really sent.
template <size_t N>
class TopSources {
 public:
  struct Hitter {
    core::IpAddress addr;
    uint32_t count = 0;
    uint32_t error = 0;
    uint32_t lower_bound() const noexcept { return count - error; }
  };

  void add(const core::IpAddress& a) noexcept {
    if (total_ < UINT32_MAX) ++total_;
    Hitter* min = &hitters_[0];
    for (auto& h : hitters_) {
      if (h.count != 0 && h.addr == a) {
        if (h.count < UINT32_MAX) ++h.count;
        return;
      }
      if (h.count < min->count) min = &h;
    }
    // Not tracked: take a free counter, or replace the smallest (its count becomes the new error).
    min->addr = a;
    min->error = min->count;
    if (min->count < UINT32_MAX) ++min->count;
  }
  void decay(int64_t halvings) noexcept {
    if (halvings <= 0) return;
    const int s = halvings >= 32 ? 32 : static_cast<int>(halvings);
    auto shift = [s](uint32_t v) { return s >= 32 ? 0u : v >> s; };
    total_ = shift(total_);
    for (auto& h : hitters_) {
      h.count = shift(h.count);
      h.error = std::min(h.count, shift(h.error));
    }
  }
  uint32_t total() const noexcept { return total_; }
  // The counter with the largest guaranteed count (nullptr when empty).
  const Hitter* top() const noexcept {
    const Hitter* best = nullptr;
    for (const auto& h : hitters_) {
      if (h.count == 0) continue;
      if (best == nullptr || h.lower_bound() > best->lower_bound() ||
          (h.lower_bound() == best->lower_bound() && h.addr < best->addr)) {
        best = &h;
      }
    }
    return best;
  }
  // Guaranteed share of the top source in [0, 1]; 0 when empty.
  double top_share() const noexcept {
    const Hitter* t = top();
    return t == nullptr || total_ == 0 ? 0.0 : static_cast<double>(t->lower_bound()) / total_;
  }
  const std::array<Hitter, N>& hitters() const noexcept { return hitters_; }
  void clear() noexcept { *this = TopSources{}; }

 private:
  std::array<Hitter, N> hitters_{};
  uint32_t total_ = 0;
};

// Handshake completion, sampled: a SYN from (client, port, seq) expects the client's next segment
// to carry seq + 1, so the SYN sets a bit for fingerprint(client, ports, seq + 1) and an ACK-bearing
// segment with a matching fingerprint clears it and counts as a completion. Spoofed sources never
// see the SYN-ACK, so they never send it.
// - Sampling: only fingerprints whose low `level` bits are zero are used. The level rises as soon
//   as kBits/8 SYNs were sampled at the current one (and falls at a roll after a quiet
//   sub-window), so the bitmap stays sparse — false matches rare — at any SYN rate. When it rises,
//   half of the still-pending SYNs can no longer be matched (their ACKs are no longer sampled), so
//   half of them are taken off the counts: the ratio stays unbiased.
// - Ageing: SYNs of the current sub-window are still waiting for their ACKs (a round trip), so
//   completion is judged on the sub-windows before it: the previous one (still matching) and the
//   retired ones (halved at each roll). Until one sub-window has ended, completion is unknown.
class HandshakeMeter {
 public:
  static constexpr size_t kBits = 1024;
  static constexpr uint32_t kMinSamples = 16;  // fewer judged SYNs: completion unknown

  static uint64_t fingerprint(const core::IpAddress& client, uint16_t client_port, uint16_t server_port,
                              uint32_t seq) noexcept {
    const uint64_t ports = (uint64_t{client_port} << 16) | server_port;
    return state::mix64(client.hash() ^ (ports * 0x9E3779B97F4A7C15ULL) ^ (uint64_t{seq} << 32 | seq));
  }
  uint64_t sample_mask() const noexcept { return (uint64_t{1} << level_) - 1; }

  void on_syn(uint64_t fp) noexcept {
    if ((fp & sample_mask()) != 0) return;
    const size_t bit = static_cast<size_t>(fp >> 40) % kBits;
    cur_.bits[bit / 64] |= uint64_t{1} << (bit % 64);
    if (cur_.syns < UINT32_MAX) ++cur_.syns;
    if (++at_level_ >= kBits / 8 && level_ < kMaxLevel) raise_level();
  }
  // True when the segment completed a sampled handshake.
  bool on_ack(uint64_t fp) noexcept {
    if ((fp & sample_mask()) != 0) return false;
    const size_t bit = static_cast<size_t>(fp >> 40) % kBits;
    const size_t w = bit / 64;
    const uint64_t m = uint64_t{1} << (bit % 64);
    Generation* g = (prev_.bits[w] & m) != 0 ? &prev_ : (cur_.bits[w] & m) != 0 ? &cur_ : nullptr;
    if (g == nullptr) return false;
    // One completion per handshake: the request that follows carries seq + 1 too.
    prev_.bits[w] &= ~m;
    cur_.bits[w] &= ~m;
    if (g->matched < g->syns) ++g->matched;
    return true;
  }
  // Crossing `steps` sub-window boundaries: retire the previous generation, adapt the level.
  void roll(int64_t steps) noexcept {
    if (steps <= 0) return;
    const uint32_t sampled = steps == 1 ? cur_.syns : 0;
    for (int64_t k = 0; k < steps && k < 3; ++k) {
      retired_syns_ = retired_syns_ / 2 + prev_.syns;
      retired_matched_ = retired_matched_ / 2 + prev_.matched;
      prev_ = cur_;
      cur_ = Generation{};
    }
    const int more = steps > 3 ? (steps - 3 >= 32 ? 32 : static_cast<int>(steps - 3)) : 0;
    if (more > 0) {
      retired_syns_ = more >= 32 ? 0 : retired_syns_ >> more;
      retired_matched_ = more >= 32 ? 0 : retired_matched_ >> more;
    }
    if (sampled < kBits / 32 && level_ > 0) --level_;
    at_level_ = 0;
  }
  // Completed share of the judged sampled SYNs in [0, 1], or -1 when unknown (too few yet).
  double completion() const noexcept {
    const uint64_t syns = uint64_t{retired_syns_} + prev_.syns;
    if (syns < kMinSamples) return -1.0;
    const uint64_t matched = uint64_t{retired_matched_} + prev_.matched;
    return std::min(1.0, static_cast<double>(matched) / static_cast<double>(syns));
  }
  // Sampled SYNs completion is judged on (decayed).
  uint32_t judged_syns() const noexcept { return retired_syns_ + prev_.syns; }
  uint32_t level() const noexcept { return level_; }
  void clear() noexcept { *this = HandshakeMeter{}; }

 private:
  static constexpr uint8_t kMaxLevel = 24;
  struct Generation {
    std::array<uint64_t, kBits / 64> bits{};
    uint32_t syns = 0;
    uint32_t matched = 0;
    void halve_pending() noexcept { syns -= (syns - matched) / 2; }
  };
  void raise_level() noexcept {
    ++level_;
    at_level_ = 0;
    cur_.halve_pending();
    prev_.halve_pending();
  }
  Generation cur_;
  Generation prev_;
  uint32_t retired_syns_ = 0;  // decayed: halved at each roll
  uint32_t retired_matched_ = 0;
  uint32_t at_level_ = 0;  // SYNs sampled since the level last changed
  uint8_t level_ = 0;
};

// Length of the longest common prefix of two addresses (0 across families).
inline int common_prefix_len(const core::IpAddress& a, const core::IpAddress& b) noexcept {
  if (a.family() != b.family()) return 0;
  const int bytes = a.is_v6() ? 16 : 4;
  for (int i = 0; i < bytes; ++i) {
    const uint8_t x = a.bytes()[static_cast<size_t>(i)] ^ b.bytes()[static_cast<size_t>(i)];
    if (x != 0) return i * 8 + std::countl_zero(x);
  }
  return bytes * 8;
}

}  // namespace picket::detect::spoofed_flood

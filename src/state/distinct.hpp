// Compact distinct-value counters for scan detection: how many different ports (or hosts) a
// source touched, in a few dozen bytes instead of a set.
//
// DistinctBitmap<Bits> hashes each value to one bit and estimates the count by linear counting
// (n ≈ −m·ln(zeros/m)); exact while small, within a few percent up to about Bits values, and it
// saturates (never under-counts wildly) past that.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "core/time.hpp"
#include "state/mix.hpp"

namespace picket::state {


template <size_t Bits>
class DistinctBitmap {
 public:
  static_assert(Bits % 64 == 0 && Bits >= 64);
  static constexpr size_t kWords = Bits / 64;

  // Adds a value; returns true when its bit was not set before (a probably-new value).
  bool add(uint64_t value) noexcept {
    const uint64_t h = mix64(value + 0x9E3779B97F4A7C15ULL);
    const size_t bit = h % Bits;
    uint64_t& w = words_[bit / 64];
    const uint64_t m = uint64_t{1} << (bit % 64);
    const bool fresh = (w & m) == 0;
    w |= m;
    return fresh;
  }
  bool contains(uint64_t value) const noexcept {
    const size_t bit = mix64(value + 0x9E3779B97F4A7C15ULL) % Bits;
    return (words_[bit / 64] >> (bit % 64)) & 1;
  }
  size_t bits_set() const noexcept {
    size_t n = 0;
    for (auto w : words_) n += static_cast<size_t>(std::popcount(w));
    return n;
  }
  // Estimated number of distinct values added.
  uint32_t estimate() const noexcept { return estimate_from_bits(bits_set()); }
  void merge(const DistinctBitmap& o) noexcept {
    for (size_t i = 0; i < kWords; ++i) words_[i] |= o.words_[i];
  }
  void clear() noexcept { words_.fill(0); }
  bool empty() const noexcept { return bits_set() == 0; }

  static uint32_t estimate_from_bits(size_t set) noexcept {
    if (set == 0) return 0;
    if (set >= Bits) set = Bits - 1;  // saturated: report the largest estimate we can give
    const double m = static_cast<double>(Bits);
    return static_cast<uint32_t>(std::lround(-m * std::log((m - static_cast<double>(set)) / m)));
  }

 private:
  std::array<uint64_t, kWords> words_{};
};

// A sliding distinct counter: K bitmaps, one per sub-window; the estimate is over their union.
template <size_t Bits, size_t K>
class SlidingDistinct {
 public:
  bool add(int64_t epoch, uint64_t value) noexcept {
    advance(epoch);
    const bool seen = union_contains(value);
    maps_[head_].add(value);
    return !seen;
  }
  uint32_t estimate(int64_t epoch) const noexcept {
    DistinctBitmap<Bits> u;
    const int64_t age = epoch_ == kNever ? static_cast<int64_t>(K) : epoch - epoch_;
    if (age >= static_cast<int64_t>(K)) return 0;
    const int64_t valid = age <= 0 ? static_cast<int64_t>(K) : static_cast<int64_t>(K) - age;
    for (int64_t k = 0; k < valid; ++k) u.merge(maps_[(head_ + K - static_cast<size_t>(k)) % K]);
    return u.estimate();
  }
  void clear() noexcept { *this = SlidingDistinct{}; }

 private:
  static constexpr int64_t kNever = INT64_MIN;
  bool union_contains(uint64_t value) const noexcept {
    for (const auto& m : maps_) if (m.contains(value)) return true;
    return false;
  }
  void advance(int64_t e) noexcept {
    if (epoch_ == kNever) {
      epoch_ = e;
      return;
    }
    if (e <= epoch_) return;
    const int64_t steps = e - epoch_;
    if (steps >= static_cast<int64_t>(K)) {
      for (auto& m : maps_) m.clear();
      head_ = 0;
    } else {
      for (int64_t k = 0; k < steps; ++k) {
        head_ = static_cast<uint8_t>((head_ + 1) % K);
        maps_[head_].clear();
      }
    }
    epoch_ = e;
  }

  std::array<DistinctBitmap<Bits>, K> maps_{};
  int64_t epoch_ = kNever;
  uint8_t head_ = 0;
};

}  // namespace picket::state

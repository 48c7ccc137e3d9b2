// Sliding windows built from a ring of sub-buckets. A window of N buckets of width W counts the
// events of the last N·W (the oldest bucket is included whole), so a sender cannot pace itself
// around a boundary the way it can with a counter that resets every interval.
#pragma once

#include <array>
#include <cstdint>

#include "core/time.hpp"

namespace picket::state {

// Bucket width and count are run-time settings shared by every window of a detector, so each
// window stores only its counters and the epoch of its newest bucket.
struct WindowShape {
  int64_t bucket_ns = 1'000'000'000;
  uint32_t buckets = 1;  // how many of the ring's buckets are in use (≤ the ring size)

  static WindowShape of(core::Duration window, uint32_t ring_size) noexcept {
    WindowShape s;
    s.buckets = ring_size;
    s.bucket_ns = window.ns / ring_size;
    if (s.bucket_ns <= 0) s.bucket_ns = 1;
    return s;
  }
  core::Duration window() const noexcept { return core::Duration{bucket_ns * buckets}; }
  int64_t epoch(core::Timestamp t) const noexcept { return t.ns / bucket_ns; }
};

template <size_t N, typename Count = uint32_t>
class SlidingWindow {
 public:
  static_assert(N >= 1 && N <= 255);

  // Adds `n` events at time `now` (saturating). Time going backwards adds to the newest bucket.
  void add(const WindowShape& shape, core::Timestamp now, Count n = 1) noexcept {
    advance(shape, now);
    Count& c = buckets_[head_];
    constexpr uint64_t kMax = static_cast<Count>(~Count{0});
    const uint64_t sum = uint64_t{c} + uint64_t{n};
    c = static_cast<Count>(sum > kMax ? kMax : sum);
  }
  // Events in the window ending at `now`.
  uint64_t sum(const WindowShape& shape, core::Timestamp now) const noexcept {
    if (epoch_ == kNever) return 0;
    const int64_t n = shape.buckets < N ? shape.buckets : static_cast<int64_t>(N);
    const int64_t age = shape.epoch(now) - epoch_;  // buckets since the newest was written
    if (age >= n) return 0;
    const int64_t valid = age <= 0 ? n : n - age;
    uint64_t total = 0;
    for (int64_t k = 0; k < valid; ++k) total += buckets_[(head_ + N - static_cast<size_t>(k)) % N];
    return total;
  }
  void clear() noexcept { *this = SlidingWindow{}; }

 private:
  static constexpr int64_t kNever = INT64_MIN;

  void advance(const WindowShape& shape, core::Timestamp now) noexcept {
    const int64_t e = shape.epoch(now);
    if (epoch_ == kNever) {
      epoch_ = e;
      return;
    }
    if (e <= epoch_) return;
    const int64_t steps = e - epoch_;
    if (steps >= static_cast<int64_t>(N)) {
      buckets_.fill(0);
      head_ = 0;
    } else {
      for (int64_t k = 0; k < steps; ++k) {
        head_ = static_cast<uint8_t>((head_ + 1) % N);
        buckets_[head_] = 0;
      }
    }
    epoch_ = e;
  }

  std::array<Count, N> buckets_{};
  int64_t epoch_ = kNever;
  uint8_t head_ = 0;
};

// K windows of one shape that always move together: one epoch and ring position for all of
// them, where K SlidingWindows would each keep their own (16 bytes each with padding). For a
// detector counting several kinds of event per source (syn_flood: SYNs, answers, completions,
// aborts). Counts are the same as K separate windows' while time goes forward; an event dated
// before the newest bucket any of the K has reached lands in that newest bucket.
template <size_t N, size_t K, typename Count = uint32_t>
class SlidingWindows {
 public:
  static_assert(N >= 1 && N <= 255 && K >= 1);

  // Adds `n` events to window `k` (< K) at time `now` (saturating).
  void add(size_t k, const WindowShape& shape, core::Timestamp now, Count n = 1) noexcept {
    advance(shape, now);
    Count& c = buckets_[k][head_];
    constexpr uint64_t kMax = static_cast<Count>(~Count{0});
    const uint64_t sum = uint64_t{c} + uint64_t{n};
    c = static_cast<Count>(sum > kMax ? kMax : sum);
  }
  // Events of window `k` in the window ending at `now`.
  uint64_t sum(size_t k, const WindowShape& shape, core::Timestamp now) const noexcept {
    if (epoch_ == kNever) return 0;
    const int64_t n = shape.buckets < N ? shape.buckets : static_cast<int64_t>(N);
    const int64_t age = shape.epoch(now) - epoch_;
    if (age >= n) return 0;
    const int64_t valid = age <= 0 ? n : n - age;
    uint64_t total = 0;
    for (int64_t j = 0; j < valid; ++j) total += buckets_[k][(head_ + N - static_cast<size_t>(j)) % N];
    return total;
  }
  // Every window's count at once (one pass over the ring).
  std::array<uint64_t, K> sums(const WindowShape& shape, core::Timestamp now) const noexcept {
    std::array<uint64_t, K> total{};
    if (epoch_ == kNever) return total;
    const int64_t n = shape.buckets < N ? shape.buckets : static_cast<int64_t>(N);
    const int64_t age = shape.epoch(now) - epoch_;
    if (age >= n) return total;
    const int64_t valid = age <= 0 ? n : n - age;
    for (int64_t j = 0; j < valid; ++j) {
      const size_t b = (head_ + N - static_cast<size_t>(j)) % N;
      for (size_t k = 0; k < K; ++k) total[k] += buckets_[k][b];
    }
    return total;
  }
  void clear() noexcept { *this = SlidingWindows{}; }

 private:
  static constexpr int64_t kNever = INT64_MIN;

  void advance(const WindowShape& shape, core::Timestamp now) noexcept {
    const int64_t e = shape.epoch(now);
    if (epoch_ == kNever) {
      epoch_ = e;
      return;
    }
    if (e <= epoch_) return;
    const int64_t steps = e - epoch_;
    if (steps >= static_cast<int64_t>(N)) {
      for (auto& b : buckets_) b.fill(0);
      head_ = 0;
    } else {
      for (int64_t j = 0; j < steps; ++j) {
        head_ = static_cast<uint8_t>((head_ + 1) % N);
        for (auto& b : buckets_) b[head_] = 0;
      }
    }
    epoch_ = e;
  }

  std::array<std::array<Count, N>, K> buckets_{};
  int64_t epoch_ = kNever;
  uint8_t head_ = 0;
};

}  // namespace picket::state

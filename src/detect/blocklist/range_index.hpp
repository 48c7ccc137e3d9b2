// RangeIndex: longest-prefix match over a fixed set of prefixes of one address family, built once
// and then read-only (safe to share between threads).
//
// The prefixes are flattened into a partition of the whole key space into disjoint ranges, each
// labelled with the value of the most specific prefix covering it (or kNone). A lookup reads a
// 16-bit-indexed bitmap (8 KiB, stays in L1: "is anything listed in this /16?"), and only when that
// says yes, the slice of ranges for the key's top 16 bits and a binary search within it. The
// negative path — nearly all traffic — is one bit test.
//
// Key is uint32_t (IPv4, host order) or U128 (IPv6, big-endian bytes read as a number).
// Memory: 4 + sizeof(Key) bytes per range (at most 2·prefixes + 1 ranges), plus 264 KiB of index
// when any prefix is present.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace picket::detect::blocklist {

__extension__ typedef unsigned __int128 U128;  // GCC/Clang; __extension__ keeps -Wpedantic quiet

template <typename Key>
struct KeyTraits;
template <>
struct KeyTraits<uint32_t> {
  static constexpr int kBits = 32;
};
template <>
struct KeyTraits<U128> {
  static constexpr int kBits = 128;
};

template <typename Key>
class RangeIndex {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  static constexpr int kBits = KeyTraits<Key>::kBits;
  static constexpr int kSliceShift = kBits - 16;
  static constexpr size_t kSlices = 65'536;

  // One prefix to index: its first address, its length, and the value a lookup returns.
  struct Item {
    Key first = 0;
    uint8_t len = 0;
    uint32_t value = 0;
  };

  struct BuildStats {
    size_t prefixes = 0;    // distinct prefixes indexed
    size_t duplicates = 0;  // repeated prefixes dropped (the lowest value is kept)
  };

  RangeIndex() = default;

  // Builds from `items` (consumed: sorted in place). Host bits past `len` must be zero; items with
  // len > kBits are ignored. When the same prefix appears more than once, the lowest value wins.
  BuildStats build(std::vector<Item>& items) {
    starts_.clear();
    values_.clear();
    slice_.clear();
    any_.clear();
    BuildStats stats;
    std::erase_if(items, [](const Item& it) { return it.len > kBits; });
    if (items.empty()) return stats;
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      if (a.first != b.first) return a.first < b.first;
      if (a.len != b.len) return a.len < b.len;
      return a.value < b.value;
    });
    starts_.reserve(items.size() * 2 + 1);
    values_.reserve(items.size() * 2 + 1);
    emit(0, kNone);
    // Prefixes either nest or are disjoint, so in (first, shorter first) order a stack holds the
    // chain of prefixes enclosing the current one.
    struct Open {
      Key last;
      uint32_t value;
    };
    std::vector<Open> stack;
    stack.reserve(kBits + 1);
    const Item* prev = nullptr;
    for (const Item& it : items) {
      if (prev != nullptr && prev->first == it.first && prev->len == it.len) {
        ++stats.duplicates;
        continue;
      }
      prev = &it;
      ++stats.prefixes;
      while (!stack.empty() && stack.back().last < it.first) {
        const Open top = stack.back();
        stack.pop_back();
        emit(top.last + 1, stack.empty() ? kNone : stack.back().value);  // last < first: no overflow
      }
      emit(it.first, it.value);
      stack.push_back({last_of(it.first, it.len), it.value});
    }
    while (!stack.empty()) {
      const Open top = stack.back();
      stack.pop_back();
      if (top.last == kMax) break;  // it and everything enclosing it run to the end of the space
      emit(top.last + 1, stack.empty() ? kNone : stack.back().value);
    }
    starts_.shrink_to_fit();
    values_.shrink_to_fit();
    build_slices();
    return stats;
  }

  // The value of the most specific prefix containing `key`, or kNone.
  uint32_t find(Key key) const noexcept {
    if (any_.empty()) return kNone;
    const size_t t = static_cast<size_t>(key >> kSliceShift);
    if (((any_[t >> 6] >> (t & 63)) & 1) == 0) return kNone;
    // The range holding `key` is the last one in [slice_[t], slice_[t + 1]] that starts at or
    // before it; the first one always does. Branch-free halving: the compare becomes a cmov.
    const Key* base = starts_.data() + slice_[t];
    uint32_t n = slice_[t + 1] - slice_[t] + 1;
    while (n > 1) {
      const uint32_t half = n / 2;
      base = base[half] <= key ? base + half : base;
      n -= half;
    }
    return values_[static_cast<size_t>(base - starts_.data())];
  }

  bool empty() const noexcept { return any_.empty(); }
  size_t ranges() const noexcept { return starts_.size(); }
  size_t memory_bytes() const noexcept {
    return starts_.capacity() * sizeof(Key) + values_.capacity() * sizeof(uint32_t) +
           slice_.capacity() * sizeof(uint32_t) + any_.capacity() * sizeof(uint64_t);
  }

  // The last key of the prefix (first, len).
  static Key last_of(Key first, int len) noexcept {
    if (len <= 0) return kMax;
    if (len >= kBits) return first;
    return first | (kMax >> len);
  }

 private:
  static constexpr Key kMax = static_cast<Key>(~Key{0});

  // Appends a range starting at `start` (never before the last one), merging equal neighbours.
  void emit(Key start, uint32_t value) {
    if (!starts_.empty() && starts_.back() == start) {
      values_.back() = value;
      if (values_.size() >= 2 && values_[values_.size() - 2] == value) {
        starts_.pop_back();
        values_.pop_back();
      }
      return;
    }
    if (!values_.empty() && values_.back() == value) return;
    starts_.push_back(start);
    values_.push_back(value);
  }

  void build_slices() {
    slice_.assign(kSlices + 1, 0);
    any_.assign(kSlices / 64, 0);
    const size_t n = starts_.size();
    size_t r = 0;
    for (size_t t = 0; t < kSlices; ++t) {
      const Key slice_start = static_cast<Key>(static_cast<Key>(t) << kSliceShift);
      while (r + 1 < n && starts_[r + 1] <= slice_start) ++r;
      slice_[t] = static_cast<uint32_t>(r);
    }
    slice_[kSlices] = static_cast<uint32_t>(n - 1);
    // Ranges are disjoint, so marking every slice each listed range touches costs at most
    // ranges + slices steps.
    for (size_t i = 0; i < n; ++i) {
      if (values_[i] == kNone) continue;
      const size_t first = static_cast<size_t>(starts_[i] >> kSliceShift);
      const size_t last = i + 1 < n ? static_cast<size_t>((starts_[i + 1] - 1) >> kSliceShift) : kSlices - 1;
      for (size_t t = first; t <= last; ++t) any_[t >> 6] |= uint64_t{1} << (t & 63);
    }
  }

  std::vector<Key> starts_;       // range i covers [starts_[i], starts_[i + 1]); starts_[0] == 0
  std::vector<uint32_t> values_;  // per range: the most specific prefix's value, or kNone
  std::vector<uint32_t> slice_;   // per top-16-bit slice: the range holding its first key
  std::vector<uint64_t> any_;     // per slice: 1 when some range in it has a value
};

}  // namespace picket::detect::blocklist

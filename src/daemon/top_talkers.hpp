// TopTalkers: the heaviest sources by packets and by SYNs, for `picket top`. Space-Saving
// (Metwally et al.) with kSlots counters per measure over a sampled stream (1 packet in
// kSampleEvery is decoded a second time), in windows of kWindow: the display shows the last
// complete window, so the counts are recent rather than since start. Counts are scaled back up by
// the sampling rate: they are estimates, which is all a live view needs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/ip_address.hpp"
#include "core/packet_meta.hpp"
#include "core/time.hpp"

namespace picket::daemon {

class SpaceSaving {
 public:
  explicit SpaceSaving(size_t slots) : slots_(slots) {}
  void add(const core::IpAddress& a) {
    auto it = counts_.find(a);
    if (it != counts_.end()) {
      ++it->second;
      return;
    }
    if (counts_.size() < slots_) {
      counts_.emplace(a, 1);
      return;
    }
    // Replace the smallest counter; the newcomer inherits its count (the over-estimate bound).
    auto min = std::min_element(counts_.begin(), counts_.end(), [](const auto& x, const auto& y) { return x.second < y.second; });
    const uint64_t c = min->second + 1;
    counts_.erase(min);
    counts_.emplace(a, c);
  }
  std::vector<std::pair<core::IpAddress, uint64_t>> top(size_t n) const {
    std::vector<std::pair<core::IpAddress, uint64_t>> v(counts_.begin(), counts_.end());
    std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    if (v.size() > n) v.resize(n);
    return v;
  }
  void clear() { counts_.clear(); }

 private:
  size_t slots_;
  std::unordered_map<core::IpAddress, uint64_t, core::IpAddressHash> counts_;
};

class TopTalkers {
 public:
  static constexpr uint32_t kSampleEvery = 8;
  static constexpr size_t kSlots = 64;
  static constexpr core::Duration kWindow = core::Duration::seconds(5);

  // True when this packet should be decoded and passed to add().
  bool sample() noexcept { return ++tick_ % kSampleEvery == 0; }
  void add(const core::PacketMeta& m, core::Timestamp now) {
    roll(now);
    if (m.src.empty()) return;
    packets_.add(m.src);
    if (m.ip_proto == 6 && (m.tcp_flags & 0x12) == 0x02) syns_.add(m.src);
  }
  void roll(core::Timestamp now) {
    if (window_start_.ns == 0) window_start_ = now;
    if (now - window_start_ < kWindow) return;
    last_packets_ = packets_.top(20);
    last_syns_ = syns_.top(20);
    for (auto& e : last_packets_) e.second *= kSampleEvery;
    for (auto& e : last_syns_) e.second *= kSampleEvery;
    last_seconds_ = (now - window_start_).to_seconds();
    packets_.clear();
    syns_.clear();
    window_start_ = now;
  }
  const std::vector<std::pair<core::IpAddress, uint64_t>>& by_packets() const noexcept { return last_packets_; }
  const std::vector<std::pair<core::IpAddress, uint64_t>>& by_syns() const noexcept { return last_syns_; }
  double window_seconds() const noexcept { return last_seconds_; }

 private:
  uint64_t tick_ = 0;
  core::Timestamp window_start_;
  SpaceSaving packets_{kSlots};
  SpaceSaving syns_{kSlots};
  std::vector<std::pair<core::IpAddress, uint64_t>> last_packets_, last_syns_;
  double last_seconds_ = 0;
};

}  // namespace picket::daemon

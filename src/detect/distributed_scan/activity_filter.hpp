// ActivityFilter: which (host, port, protocol) have recently *sent* something — a server's open
// port answering, a client's ephemeral port in a conversation. A packet to such a port belongs to
// a conversation (an ACK, a reply, the next request), not to a scan, so the distributed-scan
// detector skips it before any table lookup.
//
// One bit per key in two generations (current and previous) of a fixed bitmap; rotate() every
// period drops the older one, so a port stays marked one to two periods after it last sent. Like
// any bitmap it can be saturated: forged "answers" from very many addresses fill it, and then real
// probes are taken for conversation (missed, never invented).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ip_address.hpp"
#include "state/distinct.hpp"

namespace picket::detect::distributed_scan {

class ActivityFilter {
 public:
  // 2^log2_bits bits per generation (allocated here, never after).
  explicit ActivityFilter(unsigned log2_bits) : cur_(words(log2_bits)), prev_(words(log2_bits)) {
    mask_ = (uint64_t{1} << log2_bits) - 1;
  }

  static uint64_t key(const core::IpAddress& host, uint16_t port, uint8_t proto) noexcept {
    return state::mix64(host.hash() ^ ((uint64_t{proto} << 16 | port) * 0x9E3779B97F4A7C15ULL));
  }
  // Marks the key; true when it was in neither generation (newly active).
  bool mark(uint64_t k) noexcept {
    const uint64_t bit = k & mask_;
    const uint64_t m = uint64_t{1} << (bit % 64);
    uint64_t& w = cur_[bit / 64];
    const bool fresh = ((w | prev_[bit / 64]) & m) == 0;
    w |= m;
    return fresh;
  }
  bool active(uint64_t k) const noexcept {
    const uint64_t bit = k & mask_;
    return ((cur_[bit / 64] | prev_[bit / 64]) >> (bit % 64)) & 1;
  }
  void rotate() noexcept {
    cur_.swap(prev_);
    for (auto& w : cur_) w = 0;
  }
  size_t memory_bytes() const noexcept { return (cur_.capacity() + prev_.capacity()) * sizeof(uint64_t); }

 private:
  static size_t words(unsigned log2_bits) noexcept { return log2_bits < 6 ? 1 : size_t{1} << (log2_bits - 6); }

  std::vector<uint64_t> cur_;
  std::vector<uint64_t> prev_;
  uint64_t mask_ = 0;
};

}  // namespace picket::detect::distributed_scan

// Test helpers for the simulator: a sink that keeps a parsed summary of every frame, and a minimal
// frame parser of its own (independent of src/decode, so the simulator's tests stand alone).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/ip_address.hpp"
#include "sim/packet_builder.hpp"
#include "sim/scenario.hpp"

namespace picket::sim::simtest {

struct Pkt {
  int64_t ts = 0;  // ns since the epoch
  uint32_t wire = 0;
  uint32_t cap = 0;
  uint16_t ethertype = 0;
  bool ip = false;
  bool v6 = false;
  core::IpAddress src, dst;
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
  uint8_t flags = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t window = 0;
  uint8_t icmp_type = 0, icmp_code = 0;
  uint16_t quoted_dport = 0;  // ICMP errors quoting UDP: the probe's destination port
  uint8_t quoted_proto = 0;
  size_t payload = 0;     // transport payload bytes per the IP length
  bool checked = false;   // frame complete, checksums verified
  bool ip_sum_ok = true;  // IPv4 header checksum
  bool l4_sum_ok = true;  // TCP / UDP / ICMP checksum
  bool lengths_ok = true; // IP length matches the frame
};

inline uint16_t l4_sum(std::span<const uint8_t> f, size_t ip, size_t l4, size_t end, bool v6, uint8_t proto,
                       bool pseudo) {
  uint32_t acc = 0;
  if (pseudo) {
    const size_t alen = v6 ? 16 : 4;
    const size_t src = ip + (v6 ? 8 : 12);
    for (size_t i = 0; i < 2 * alen; i += 2) acc += uint32_t{f[src + i]} << 8 | f[src + i + 1];
    acc += proto;
    acc += static_cast<uint32_t>(end - l4);
  }
  return internet_checksum(f.subspan(l4, end - l4), acc);
}

inline Pkt parse(core::Timestamp ts, std::span<const uint8_t> f, uint32_t wire) {
  using core::load_be16;
  using core::load_be32;
  Pkt p;
  p.ts = ts.ns;
  p.wire = wire;
  p.cap = static_cast<uint32_t>(f.size());
  p.ethertype = load_be16(f, 12);
  const size_t ip = 14;
  size_t l4 = 0, end = 0;
  if (p.ethertype == 0x0800 && core::fits(f, ip, 20)) {
    p.ip = true;
    const size_t ihl = size_t{f[ip] & 0x0Fu} * 4;
    p.src = core::IpAddress::v4_bytes(f.data() + ip + 12);
    p.dst = core::IpAddress::v4_bytes(f.data() + ip + 16);
    p.proto = f[ip + 9];
    l4 = ip + ihl;
    end = ip + load_be16(f, ip + 2);
    p.lengths_ok = end == wire;
    p.ip_sum_ok = internet_checksum(f.subspan(ip, ihl)) == 0;
  } else if (p.ethertype == 0x86DD && core::fits(f, ip, 40)) {
    p.ip = true;
    p.v6 = true;
    p.src = core::IpAddress::v6_bytes(f.data() + ip + 8);
    p.dst = core::IpAddress::v6_bytes(f.data() + ip + 24);
    p.proto = f[ip + 6];
    l4 = ip + 40;
    end = l4 + load_be16(f, ip + 4);
    p.lengths_ok = end == wire;
  } else {
    return p;
  }
  p.checked = f.size() == wire;
  if (p.proto == 6 && core::fits(f, l4, 20)) {
    p.sport = load_be16(f, l4);
    p.dport = load_be16(f, l4 + 2);
    p.seq = load_be32(f, l4 + 4);
    p.ack = load_be32(f, l4 + 8);
    p.flags = f[l4 + 13];
    p.window = load_be16(f, l4 + 14);
    p.payload = end - l4 - size_t{static_cast<uint8_t>(f[l4 + 12] >> 4)} * 4;
  } else if (p.proto == 17 && core::fits(f, l4, 8)) {
    p.sport = load_be16(f, l4);
    p.dport = load_be16(f, l4 + 2);
    p.payload = end - l4 - 8;
  } else if (p.proto == (p.v6 ? 58 : 1) && core::fits(f, l4, 8)) {
    p.icmp_type = f[l4];
    p.icmp_code = f[l4 + 1];
    p.payload = end - l4 - 8;
    const size_t q = l4 + 8;  // quoted datagram of an error
    const bool v4_error = p.proto == 1 && p.icmp_type == 3;
    const bool v6_error = p.proto == 58 && p.icmp_type < 128;
    if (v4_error && core::fits(f, q, 20)) {
      p.quoted_proto = f[q + 9];
      const size_t qihl = size_t{f[q] & 0x0Fu} * 4;
      if (p.quoted_proto == 17) p.quoted_dport = load_be16(f, q + qihl + 2);
    } else if (v6_error && core::fits(f, q, 40)) {
      p.quoted_proto = f[q + 6];
      if (p.quoted_proto == 17) p.quoted_dport = load_be16(f, q + 40 + 2);
    }
  } else {
    p.payload = end - l4;
  }
  if (p.checked && (p.proto == 6 || p.proto == 17 || p.proto == (p.v6 ? 58 : 1))) {
    const bool pseudo = p.proto != 1;
    p.l4_sum_ok = l4_sum(f, ip, l4, end, p.v6, p.proto, pseudo) == 0;
  }
  return p;
}

// Keeps the parsed frames, a hash of everything handed over, and (optionally) the raw frames.
class Collector final : public FrameSink {
 public:
  explicit Collector(bool keep_raw = false) : keep_raw_(keep_raw) {}
  void frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire) override {
    pkts.push_back(parse(ts, bytes, wire));
    auto mixin = [this](uint64_t v) {
      for (int i = 0; i < 8; ++i) {
        hash ^= (v >> (8 * i)) & 0xFF;
        hash *= 0x100000001B3ULL;
      }
    };
    mixin(static_cast<uint64_t>(ts.ns));
    mixin(wire);
    for (uint8_t b : bytes) {
      hash ^= b;
      hash *= 0x100000001B3ULL;
    }
    if (keep_raw_) raw.emplace_back(bytes.begin(), bytes.end());
  }
  std::vector<Pkt> pkts;
  std::vector<std::vector<uint8_t>> raw;
  uint64_t hash = 0xCBF29CE484222325ULL;

 private:
  bool keep_raw_;
};

inline bool has(uint8_t flags, uint8_t f) { return (flags & f) == f; }

}  // namespace picket::sim::simtest

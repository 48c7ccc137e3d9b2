#include "sim/emitter.hpp"

#include <algorithm>

#include "sim/address_plan.hpp"

namespace picket::sim {
namespace {

// Linux quotes an offending datagram up to a 576-byte (IPv4) / 1280-byte (IPv6) error packet.
constexpr size_t kQuoteMax4 = 576 - 20 - 8;
constexpr size_t kQuoteMax6 = 1280 - 40 - 8;

uint16_t load16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void store16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void add16(uint8_t* p, uint32_t v) noexcept { store16(p, static_cast<uint16_t>(load16(p) + v)); }

}  // namespace

Emitter::Emitter(bool ipv6, uint32_t snaplen, uint64_t limit, FrameSink& sink, size_t components)
    : ipv6_(ipv6), snaplen_(snaplen), limit_(limit), sink_(sink), stats_(components), ids_(0x1D5) {
  quoter_.raw_ip();
  frame_.reserve(16384);
  quote_.reserve(2048);
  // The content block is the same for every seed: it stands for opaque bytes, not for behaviour.
  Rng rng(0xC0FFEE);
  content_.resize(kContentSize);
  for (auto& b : content_) b = static_cast<uint8_t>(rng.next() >> 56);
  even_.assign(kContentSize + 1, 0);
  odd_.assign(kContentSize + 1, 0);
  for (size_t i = 0; i < kContentSize; ++i) {
    const uint32_t hi = uint32_t{content_[i]} << 8;
    const uint32_t lo = content_[i];
    even_[i + 1] = even_[i] + (i % 2 == 0 ? hi : lo);
    odd_[i + 1] = odd_[i] + (i % 2 == 1 ? hi : lo);
  }
}

Bytes Emitter::content(uint64_t seed, size_t len) const noexcept {
  len = std::min(len, kContentSize);
  const size_t off = static_cast<size_t>(seed % (kContentSize - len + 1));
  return Bytes(content_.data() + off, len);
}

void Emitter::network(const IpHeader& ip) {
  builder_.ethernet(AddressPlan::mac_for(ip.src), AddressPlan::mac_for(ip.dst));
  if (ip.src.is_v6()) {
    builder_.ipv6(ip.src, ip.dst, ip.ttl);
  } else {
    builder_.ipv4(ip.src, ip.dst, ip.ttl).ipv4_id(ip.id != 0 ? ip.id : ids_.u16());
  }
}

void Emitter::tcp(int64_t t, const IpHeader& ip, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                  uint32_t ack, uint16_t window, Bytes options, Bytes payload) {
  if (done() || t < 0) return;
  network(ip);
  builder_.tcp(sport, dport, flags, seq, ack, window).tcp_options(options);
  send(t, L4::tcp, 20 + (options.size() + 3) / 4 * 4, payload);
}

void Emitter::udp(int64_t t, const IpHeader& ip, uint16_t sport, uint16_t dport, Bytes payload) {
  if (done() || t < 0) return;
  network(ip);
  builder_.udp(sport, dport);
  send(t, L4::udp, 8, payload);
}

void Emitter::icmp(int64_t t, const IpHeader& ip, uint8_t type, uint8_t code, uint32_t rest, Bytes payload) {
  if (done() || t < 0) return;
  network(ip);
  builder_.icmp(type, code, rest);
  send(t, L4::icmp, 8, payload);
}

void Emitter::raw(int64_t t, const IpHeader& ip, uint8_t proto, Bytes payload) {
  if (done() || t < 0) return;
  network(ip);
  builder_.ip_proto(proto);
  send(t, L4::raw, 0, payload);
}

Bytes Emitter::quote_udp(const IpHeader& ip, uint16_t sport, uint16_t dport, Bytes payload) {
  if (ip.src.is_v6()) {
    quoter_.ipv6(ip.src, ip.dst, ip.ttl);
  } else {
    quoter_.ipv4(ip.src, ip.dst, ip.ttl).ipv4_id(ip.id);
  }
  quoter_.udp(sport, dport).payload(payload).build_into(quote_);
  quote_.resize(std::min(quote_.size(), ip.src.is_v6() ? kQuoteMax6 : kQuoteMax4));
  return quote_;
}

Bytes Emitter::quote_raw(const IpHeader& ip, uint8_t proto, Bytes payload) {
  if (ip.src.is_v6()) {
    quoter_.ipv6(ip.src, ip.dst, ip.ttl);
  } else {
    quoter_.ipv4(ip.src, ip.dst, ip.ttl).ipv4_id(ip.id);
  }
  quoter_.ip_proto(proto).payload(payload).build_into(quote_);
  quote_.resize(std::min(quote_.size(), ip.src.is_v6() ? kQuoteMax6 : kQuoteMax4));
  return quote_;
}

void Emitter::send(int64_t t, L4 kind, size_t l4_header, Bytes payload) {
  const size_t headers = 14 + (ipv6_ ? 40 : 20) + l4_header;
  size_t keep = payload.size();
  if (headers + keep > snaplen_) {
    // Keep an even number of payload bytes so the omitted part starts on a 16-bit word of the
    // checksum (every header length here is even).
    size_t k = snaplen_ > headers ? snaplen_ - headers : 0;
    k = (k + 1) & ~size_t{1};
    keep = std::min(k, payload.size());
  }
  builder_.payload(payload.first(keep));
  FrameLayout lay;
  builder_.build_into(frame_, &lay);
  auto wire = static_cast<uint32_t>(frame_.size());
  if (keep < payload.size()) {
    patch_lengths(lay, kind, payload.subspan(keep));
    wire += static_cast<uint32_t>(payload.size() - keep);
  }
  t = std::max<int64_t>(t, 0) / 1000 * 1000;
  if (t < last_) t = last_;
  if (count_ == 0) first_ = t;
  last_ = t;
  ++count_;
  auto& st = stats_[component_];
  if (st.packets++ == 0) st.first = t;
  st.last = t;
  const size_t cap = std::min<size_t>(frame_.size(), snaplen_);
  sink_.frame(kSimStart + core::Duration::nanos(t), Bytes(frame_.data(), cap), wire);
}

// Turns the frame built with a cut payload into the first bytes of the full frame: the IP and
// UDP lengths grow by the omitted bytes, and the checksums take in their sum.
void Emitter::patch_lengths(const FrameLayout& lay, L4 kind, Bytes omitted) {
  uint8_t* f = frame_.data();
  const auto d = static_cast<uint32_t>(omitted.size());
  const size_t n = lay.network;
  if (ipv6_) {
    add16(f + n + 4, d);
  } else {
    add16(f + n + 2, d);
    store16(f + n + 10, 0);
    const size_t ihl = size_t{f[n] & 0x0Fu} * 4;
    store16(f + n + 10, internet_checksum({f + n, ihl}));
  }
  if (kind == L4::raw || lay.transport == FrameLayout::npos) return;
  const size_t tr = lay.transport;
  size_t at = 0;
  uint64_t extra = 0;
  switch (kind) {
    case L4::tcp:
      at = tr + 16;
      extra = d;  // pseudo-header length
      break;
    case L4::udp:
      add16(f + tr + 4, d);
      at = tr + 6;
      extra = 2 * uint64_t{d};  // pseudo-header length and the UDP length field
      break;
    case L4::icmp:
      at = tr + 2;
      extra = ipv6_ ? d : 0;  // only ICMPv6 has a pseudo header
      break;
    case L4::raw:
      return;
  }
  uint64_t acc = static_cast<uint16_t>(~load16(f + at)) + uint64_t{omitted_sum(omitted)} + extra;
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  auto sum = static_cast<uint16_t>(~acc);
  if (kind == L4::udp && sum == 0) sum = 0xFFFF;
  store16(f + at, sum);
}

uint32_t Emitter::omitted_sum(Bytes omitted) const noexcept {
  const uint8_t* base = content_.data();
  if (omitted.data() >= base && omitted.data() + omitted.size() <= base + content_.size()) {
    const auto a = static_cast<size_t>(omitted.data() - base);
    const size_t b = a + omitted.size();
    return a % 2 == 0 ? even_[b] - even_[a] : odd_[b] - odd_[a];
  }
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 1 < omitted.size(); i += 2) acc += uint32_t{omitted[i]} << 8 | omitted[i + 1];
  if (i < omitted.size()) acc += uint32_t{omitted[i]} << 8;
  while (acc >> 32) acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

}  // namespace picket::sim

#include "sim/tcp_conv.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/packet_meta.hpp"

namespace picket::sim {
namespace {

using namespace core::tcp_flag;

// SYN options as a desktop client sends them (MSS 1460, window scale 8, SACK permitted) and as a
// Linux server answers.
constexpr std::array<uint8_t, 12> kClientSynOptions{2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2};
constexpr std::array<uint8_t, 12> kServerSynOptions{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
constexpr uint16_t kClientWindow = 1026;  // scaled by 2^8
constexpr uint16_t kServerWindow = 501;   // scaled by 2^7
constexpr int64_t kServerNicGap = 12 * kUs;  // one full frame at 1 Gbit/s
constexpr uint16_t kMaxCwnd = 64;

// Segments and client ACKs of one response, with slow start from `cwnd` (updated).
void response_frames(uint32_t bytes, uint16_t& cwnd, uint64_t& frames) noexcept {
  uint32_t left = bytes;
  while (left > 0) {
    const uint32_t segs_needed = (left + ConvPool::kMss - 1) / ConvPool::kMss;
    const uint32_t segs = std::min<uint32_t>(cwnd, segs_needed);
    frames += segs + (segs + 1) / 2;
    left -= std::min(left, segs * ConvPool::kMss);
    if (left > 0) cwnd = static_cast<uint16_t>(std::min<uint32_t>(cwnd * 2u, kMaxCwnd));
  }
}

}  // namespace

ConvPool::ConvPool(const AddressPlan& plan, uint64_t seed) : plan_(plan), rng_(seed) {}

uint64_t ConvPool::packets(const ConvSpec& spec) noexcept {
  uint64_t frames = 3;  // handshake
  uint16_t cwnd = 10;
  for (uint8_t i = 0; i < spec.requests; ++i) {
    frames += 1;  // request
    response_frames(std::max<uint32_t>(spec.response_bytes[i], 1), cwnd, frames);
  }
  if (!spec.hold) frames += 3;  // FIN, FIN|ACK, ACK
  return frames;
}

void ConvPool::open(Context& ctx, uint32_t kind, int64_t t, const ConvSpec& spec) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(convs_.size());
    convs_.emplace_back();
  }
  Conv& c = convs_[slot];
  c = Conv{};
  c.spec = spec;
  c.spec.requests = std::clamp<uint8_t>(spec.requests, 1, 3);
  for (auto& r : c.spec.response_bytes) r = std::max<uint32_t>(r, 1);
  c.client_seq = rng_.u32();
  c.server_seq = rng_.u32();
  c.content_seed = rng_.next();
  ctx.at(t, kind, slot);
}

void ConvPool::release(uint64_t slot) { free_.push_back(static_cast<uint32_t>(slot)); }

IpHeader ConvPool::to_server(const Conv& c) const noexcept {
  return IpHeader{plan_.addr(c.spec.client), plan_.addr(plan::kVictim), c.spec.client_ttl, 0};
}
IpHeader ConvPool::to_client(const Conv& c) const noexcept {
  return IpHeader{plan_.addr(plan::kVictim), plan_.addr(c.spec.client), 64, 0};
}

void ConvPool::start_round(Conv& c, int64_t t) noexcept {
  const uint32_t segs_needed = (c.response_left + kMss - 1) / kMss;
  c.round_segs = static_cast<uint16_t>(std::min<uint32_t>(c.cwnd, segs_needed));
  c.round_bytes = std::min(c.response_left, uint32_t{c.round_segs} * kMss);
  c.round_sent = 0;
  c.round_acks = static_cast<uint16_t>((c.round_segs + 1) / 2);
  c.round_acked = 0;
  c.round_seq0 = c.server_seq;
  c.round_start = t;
}

Bytes ConvPool::request_payload(Emitter& out, const Conv& c) {
  const size_t want = std::clamp<size_t>(c.spec.request_bytes[c.current], 16, kMss);
  if (c.spec.server_port != 80) return out.content(c.content_seed + c.current * 7919, want);
  char* s = reinterpret_cast<char*>(scratch_.data());
  int n = std::snprintf(s, scratch_.size(),
                        "GET /assets/%08x.js HTTP/1.1\r\nHost: www.example.test\r\n"
                        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
                        "Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
                        "Connection: keep-alive\r\nCookie: sid=",
                        static_cast<unsigned>(c.content_seed >> 32) + c.current);
  size_t len = n > 0 ? static_cast<size_t>(n) : 0;
  for (; len + 4 < want; ++len) s[len] = "0123456789abcdef"[(len * 7 + c.current) & 15];
  std::memcpy(s + len, "\r\n\r\n", 4);
  return Bytes(scratch_.data(), len + 4);
}

Bytes ConvPool::segment_payload(Emitter& out, const Conv& c, uint32_t len) {
  const uint32_t total = c.spec.response_bytes[c.current];
  const bool first = c.response_left == total;
  if (c.spec.server_port != 80 || !first) return out.content(c.content_seed + c.server_seq, len);
  char* s = reinterpret_cast<char*>(scratch_.data());
  int n = std::snprintf(s, scratch_.size(),
                        "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                        "Content-Type: application/javascript\r\nContent-Length: %u\r\n"
                        "Content-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n",
                        total > 220 ? total - 220 : 0u);
  size_t head = std::min<size_t>(n > 0 ? static_cast<size_t>(n) : 0, len);
  const Bytes body = out.content(c.content_seed, len - head);
  std::memcpy(scratch_.data() + head, body.data(), body.size());
  return Bytes(scratch_.data(), len);
}

void ConvPool::step(Context& ctx, int64_t now, uint64_t slot, uint32_t kind) {
  Conv& c = convs_[slot];
  Emitter& out = ctx.out();
  const int64_t rtt = int64_t{c.spec.rtt_us} * kUs;
  const int64_t gap = int64_t{c.spec.gap_us} * kUs;
  switch (c.phase) {
    case Phase::syn:
      out.tcp(now, to_server(c), c.spec.client_port, c.spec.server_port, kSyn, c.client_seq, 0, 64240,
              kClientSynOptions);
      ++c.client_seq;
      c.phase = Phase::syn_ack;
      ctx.at(now + rng_.range(20, 60) * kUs, kind, slot);
      return;
    case Phase::syn_ack:
      out.tcp(now, to_client(c), c.spec.server_port, c.spec.client_port, kSyn | kAck, c.server_seq, c.client_seq,
              65160, kServerSynOptions);
      ++c.server_seq;
      c.phase = Phase::ack;
      ctx.at(now + rtt, kind, slot);
      return;
    case Phase::ack:
      out.tcp(now, to_server(c), c.spec.client_port, c.spec.server_port, kAck, c.client_seq, c.server_seq,
              kClientWindow);
      c.phase = Phase::request;
      ctx.at(now + rng_.range(50, 400) * kUs, kind, slot);
      return;
    case Phase::request: {
      const Bytes req = request_payload(out, c);
      out.tcp(now, to_server(c), c.spec.client_port, c.spec.server_port, kPsh | kAck, c.client_seq, c.server_seq,
              kClientWindow, {}, req);
      c.client_seq += static_cast<uint32_t>(req.size());
      c.response_left = c.spec.response_bytes[c.current];
      const int64_t first = now + rng_.range(300, 15'000) * kUs;  // the server prepares the response
      start_round(c, first);
      c.phase = Phase::segment;
      ctx.at(first, kind, slot);
      return;
    }
    case Phase::segment: {
      const uint32_t len = std::min(kMss, c.response_left);
      const bool last = len == c.response_left;
      out.tcp(now, to_client(c), c.spec.server_port, c.spec.client_port, last ? (kPsh | kAck) : kAck, c.server_seq,
              c.client_seq, kServerWindow, {}, segment_payload(out, c, len));
      c.server_seq += len;
      c.response_left -= len;
      if (++c.round_sent < c.round_segs) {
        ctx.at(now + kServerNicGap, kind, slot);
      } else {
        c.phase = Phase::client_ack;
        ctx.at(std::max(now + kUs, c.round_start + rtt + 2 * gap), kind, slot);
      }
      return;
    }
    case Phase::client_ack: {
      const uint32_t covered = std::min<uint32_t>(2u * c.round_acked + 2u, c.round_segs);
      const uint32_t ack = c.round_seq0 + std::min(covered * kMss, c.round_bytes);
      out.tcp(now, to_server(c), c.spec.client_port, c.spec.server_port, kAck, c.client_seq, ack, kClientWindow);
      if (++c.round_acked < c.round_acks) {
        ctx.at(std::max(now, c.round_start + rtt + (c.round_acked + 1) * 2 * gap), kind, slot);
      } else if (c.response_left > 0) {
        c.cwnd = static_cast<uint16_t>(std::min<uint32_t>(c.cwnd * 2u, kMaxCwnd));
        start_round(c, now + 10 * kUs);
        c.phase = Phase::segment;
        ctx.at(c.round_start, kind, slot);
      } else if (++c.current < c.spec.requests) {
        c.phase = Phase::request;
        ctx.at(now + rng_.range(50, 1500) * kMs, kind, slot);  // the user reads, then clicks
      } else if (c.spec.hold) {
        release(slot);
      } else {
        c.phase = Phase::fin;
        ctx.at(now + rng_.range(5, 300) * kMs, kind, slot);
      }
      return;
    }
    case Phase::fin:
      out.tcp(now, to_server(c), c.spec.client_port, c.spec.server_port, kFin | kAck, c.client_seq, c.server_seq,
              kClientWindow);
      ++c.client_seq;
      c.phase = Phase::fin_ack;
      ctx.at(now + rng_.range(30, 100) * kUs, kind, slot);
      return;
    case Phase::fin_ack:
      out.tcp(now, to_client(c), c.spec.server_port, c.spec.client_port, kFin | kAck, c.server_seq, c.client_seq,
              kServerWindow);
      ++c.server_seq;
      c.phase = Phase::last_ack;
      ctx.at(now + rtt, kind, slot);
      return;
    case Phase::last_ack:
      out.tcp(now, to_server(c), c.spec.client_port, c.spec.server_port, kAck, c.client_seq, c.server_seq,
              kClientWindow);
      release(slot);
      return;
  }
}

}  // namespace picket::sim

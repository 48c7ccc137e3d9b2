#include "sim/benign.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace picket::sim {
namespace {

// Response sizes: 1 KB * 10^(e/10), e = 0..20, so 1 KB .. 100 KB on a log scale.
constexpr std::array<uint32_t, 21> kSizeSteps{1024,  1289,  1623,  2043,  2572,  3238,  4076,
                                              5131,  6460,  8133,  10240, 12891, 16229, 20431,
                                              25721, 32381, 40764, 51319, 64606, 81334, 102400};
// Connections per visit for one browser: 1 (35%), 2 (20%), 3 (15%), 4 (12%), 5 (9%), 6 (9%).
constexpr std::array<int, 6> kParallelWeights{35, 20, 15, 12, 9, 9};

constexpr std::array<std::string_view, 3> kNames{"api.example.com", "cdn.example.net", "ocsp.example.org"};

uint32_t response_size(Rng& rng) {
  const double u = rng.uniform();
  const auto e = static_cast<size_t>(u * u * 20.0);  // skewed toward small objects
  return kSizeSteps[e] + static_cast<uint32_t>(rng.below(kSizeSteps[e + 1] - kSizeSteps[e]));
}

size_t put_name(std::array<uint8_t, 512>& m, size_t at, std::string_view dotted) {
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    m[at++] = static_cast<uint8_t>(label.size());
    for (char ch : label) m[at++] = static_cast<uint8_t>(ch);
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  m[at++] = 0;
  return at;
}

size_t put16(std::array<uint8_t, 512>& m, size_t at, uint16_t v) {
  m[at] = static_cast<uint8_t>(v >> 8);
  m[at + 1] = static_cast<uint8_t>(v);
  return at + 2;
}

}  // namespace

Benign::Benign(const Setup& setup, double pps)
    : plan_(setup.plan), seed_(setup.seed), pps_(pps), rng_(setup.seed), convs_(setup.plan, mix(setup.seed, 1)) {
  // Walk the client range in an order that depends on the seed: a bijection k -> (mul*k + add)
  // mod kClientCount (mul coprime to 127 * 256).
  addr_mul_ = 20011 + 2 * static_cast<uint32_t>(rng_.below(1000)) * 127 * 2;
  addr_add_ = static_cast<uint32_t>(rng_.below(plan::kClientCount));
  new_client(true);
  new_client(true);
}

// Traffic starts before the capture does (frames before time 0 are dropped), so the capture opens
// on a server in its steady state, mid-conversation, as a real capture would.
void Benign::start(Context& ctx) {
  slot_ = -kWarmUp;
  ctx.at(-kWarmUp, kArrival);
}

bool Benign::new_client(bool nat) {
  while (addresses_used_ < plan::kClientCount) {
    const uint64_t k = addresses_used_++;
    const auto off = static_cast<uint32_t>((addr_mul_ * k + addr_add_) % plan::kClientCount);
    const uint32_t addr = plan::kClientFirst + off;
    if ((addr & 0xFF) == 0 || (addr & 0xFF) == 255) continue;  // not a host address
    Client c;
    c.addr = addr;
    c.nat = nat;
    const bool windows = rng_.chance(0.6);
    c.ttl = static_cast<uint8_t>((windows ? 128 : 64) - rng_.range(6, 20));
    c.port_base = windows ? 49152 : 32768;
    c.next_port = static_cast<uint16_t>(c.port_base + rng_.below(windows ? 16000 : 28000));
    c.rtt_us = static_cast<uint32_t>(rng_.range(8'000, 150'000));
    c.gap_us = static_cast<uint32_t>(rng_.range(25, 1'200));
    (nat ? nat_ : regular_).push_back(static_cast<uint32_t>(clients_.size()));
    clients_.push_back(c);
    return true;
  }
  return false;
}

uint16_t Benign::next_port(Client& c) noexcept {
  const uint16_t p = c.next_port;
  c.next_port = c.next_port >= 65000 ? c.port_base : static_cast<uint16_t>(c.next_port + 1);
  return p;
}

size_t Benign::pick_client(int64_t now, int64_t& start) {
  start = now;
  const double r = rng_.uniform();
  if (r < 0.05) {
    const uint32_t i = nat_[rng_.below(nat_.size())];
    if (clients_[i].next_visit <= now) return i;
  }
  if (r < 0.55 && !regular_.empty()) {  // a returning client
    for (int tries = 0; tries < 3; ++tries) {
      const uint32_t i = regular_[rng_.below(regular_.size())];
      if (clients_[i].next_visit <= now) return i;
    }
  }
  if (new_client(false)) return clients_.size() - 1;
  // Every address of the range is in use: the visit waits for the first of a few candidates.
  size_t best = regular_[rng_.below(regular_.size())];
  for (int tries = 0; tries < 16 && clients_[best].next_visit > now; ++tries) {
    const uint32_t i = regular_[rng_.below(regular_.size())];
    if (clients_[i].next_visit < clients_[best].next_visit) best = i;
  }
  start = std::max(now, clients_[best].next_visit);
  return best;
}

uint64_t Benign::visit(Context& ctx, int64_t now) {
  int64_t start = now;
  Client& c = clients_[pick_client(now, start)];
  c.next_visit = start + (c.nat ? kNatVisitGap : kVisitGap);
  int parallel = 1;
  if (c.nat) {
    parallel = static_cast<int>(rng_.range(4, kNatMaxParallel));
  } else {
    int w = static_cast<int>(rng_.below(100));
    parallel = 0;
    while (w >= kParallelWeights[static_cast<size_t>(parallel)]) w -= kParallelWeights[static_cast<size_t>(parallel++)];
    parallel += 1;
  }
  const uint16_t port = rng_.chance(0.75) ? 443 : 80;
  uint64_t frames = 0;
  int64_t t = start;
  for (int i = 0; i < parallel; ++i) {
    ConvSpec s;
    s.client = c.addr;
    s.client_port = next_port(c);
    s.server_port = port;
    s.client_ttl = c.ttl;
    s.rtt_us = c.rtt_us + static_cast<uint32_t>(rng_.below(c.rtt_us / 10 + 1));
    s.gap_us = c.gap_us;
    const uint64_t r = rng_.below(100);
    s.requests = r < 60 ? 1 : r < 85 ? 2 : 3;
    for (uint8_t k = 0; k < s.requests; ++k) {
      s.request_bytes[k] = static_cast<uint16_t>(rng_.range(300, 800));
      s.response_bytes[k] = response_size(rng_);
    }
    frames += ConvPool::packets(s);
    convs_.open(ctx, kConv, t, s);
    // The page's HTML comes first; the browser opens the other connections once it has parsed it.
    t = i == 0 ? start + 2 * int64_t{c.rtt_us} * kUs + rng_.range(20, 400) * kMs : t + rng_.range(0, 20) * kMs;
  }
  return frames;
}

uint64_t Benign::dns(Context& ctx, int64_t now) {
  const uint64_t index = dns_count_++;
  ctx.at(now, kDnsQuery, index);
  return 2;
}

uint64_t Benign::ping(Context& ctx, int64_t now) {
  const uint64_t index = ping_count_++;
  const uint64_t count = 1 + mix(seed_ ^ 0x9197, index) % 4;
  ctx.at(now, kPing, index << 8);
  return 2 * count;
}

void Benign::fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) {
  Emitter& out = ctx.out();
  switch (kind) {
    case kArrival: {
      const double r = rng_.uniform();
      const uint64_t frames = r < 0.80 ? visit(ctx, now) : r < 0.95 ? dns(ctx, now) : ping(ctx, now);
      // Each arrival books time for its frames at pps_; the next one comes at a random point of
      // the following slot. Booking (rather than independent gaps) keeps the frame count at any
      // time close to pps_ * t, so attacks planned inside the capture always complete.
      const double gap = static_cast<double>(frames) / pps_ * 1e9;
      slot_ += static_cast<int64_t>(gap);
      ctx.at(std::max(now + 1, slot_ + static_cast<int64_t>(rng_.uniform() * gap)), kArrival);
      return;
    }
    case kConv:
      convs_.step(ctx, now, arg, kConv);
      return;
    case kDnsQuery:
    case kDnsAnswer: {
      uint16_t port = 0;
      const bool answer = kind == kDnsAnswer;
      dns_message(arg, answer, port);
      const Bytes msg(msg_.data(), msg_len_);
      const core::IpAddress victim = plan_.addr(plan::kVictim);
      const core::IpAddress resolver = plan_.addr(plan::kResolver);
      if (!answer) {
        out.udp(now, IpHeader{victim, resolver, 64, 0}, port, 53, msg);
        Rng h(mix(seed_ ^ 0xD45, arg));
        ctx.at(now + h.range(300, 25'000) * kUs, kDnsAnswer, arg);
      } else {
        out.udp(now, IpHeader{resolver, victim, 64, 0}, 53, port, msg);
      }
      return;
    }
    case kPing:
      ping_frame(ctx, now, arg);
      return;
    default:
      return;
  }
}

// The server's own lookups: reverse lookups of its clients (for its logs) and names of the
// services it calls. Everything is derived from the lookup's index, so the answer needs no state.
void Benign::dns_message(uint64_t index, bool answer, uint16_t& port) {
  Rng h(mix(seed_ ^ 0xD15, index));
  const auto id = static_cast<uint16_t>(h.next());
  port = static_cast<uint16_t>(h.range(32768, 60999));
  const uint64_t kind = h.below(4);
  const uint32_t client = plan::kClientFirst + static_cast<uint32_t>(h.below(plan::kClientCount));
  const uint32_t host = (client & ~0xFFu) | static_cast<uint32_t>(1 + h.below(254));
  char name[96];
  uint16_t qtype = plan_.ipv6() ? 28 : 1;
  if (kind == 0) {
    qtype = 12;  // PTR
    if (plan_.ipv6()) {
      const core::IpAddress a = plan_.addr(host);
      const auto& b = a.bytes();
      size_t n = 0;
      for (int i = 15; i >= 0; --i) {
        n += static_cast<size_t>(std::snprintf(name + n, sizeof name - n, "%x.%x.", b[static_cast<size_t>(i)] & 0xF,
                                               b[static_cast<size_t>(i)] >> 4));
      }
      std::snprintf(name + n, sizeof name - n, "ip6.arpa");
    } else {
      std::snprintf(name, sizeof name, "%u.%u.%u.%u.in-addr.arpa", host & 0xFF, (host >> 8) & 0xFF,
                    (host >> 16) & 0xFF, host >> 24);
    }
  } else {
    std::snprintf(name, sizeof name, "%s", kNames[kind - 1].data());
  }
  size_t at = put16(msg_, 0, id);
  at = put16(msg_, at, answer ? 0x8180 : 0x0100);  // response+RD+RA / query+RD
  at = put16(msg_, at, 1);
  at = put16(msg_, at, answer ? 1 : 0);
  at = put16(msg_, at, 0);
  at = put16(msg_, at, 0);
  at = put_name(msg_, at, name);
  at = put16(msg_, at, qtype);
  at = put16(msg_, at, 1);  // IN
  if (answer) {
    at = put16(msg_, at, 0xC00C);  // the question's name
    at = put16(msg_, at, qtype);
    at = put16(msg_, at, 1);
    at = put16(msg_, at, 0);
    at = put16(msg_, at, 300);  // TTL
    if (qtype == 12) {
      char target[48];
      std::snprintf(target, sizeof target, "client-%u-%u.example.net", (host >> 8) & 0xFF, host & 0xFF);
      const size_t len_at = at;
      at = put_name(msg_, at + 2, target);
      put16(msg_, len_at, static_cast<uint16_t>(at - len_at - 2));
    } else {
      const core::IpAddress a = plan_.addr(plan::ip(198, 18, 0, 100 + static_cast<uint32_t>(kind)));
      const size_t len = plan_.ipv6() ? 16 : 4;
      at = put16(msg_, at, static_cast<uint16_t>(len));
      for (size_t i = 0; i < len; ++i) msg_[at++] = a.bytes()[i];
    }
  }
  msg_len_ = at;
}

// arg = index << 8 | sequence << 1 | is_reply. A client pings the server 1-4 times, a second apart.
void Benign::ping_frame(Context& ctx, int64_t now, uint64_t arg) {
  const uint64_t index = arg >> 8;
  const uint64_t seq = (arg >> 1) & 0x7F;
  const bool reply = (arg & 1) != 0;
  const uint64_t count = 1 + mix(seed_ ^ 0x9197, index) % 4;
  const uint64_t h = mix(seed_ ^ 0x71C, index);
  const uint32_t client = (plan::kClientFirst + static_cast<uint32_t>(h % plan::kClientCount)) & ~0xFFu;
  const uint32_t addr = client | static_cast<uint32_t>(1 + (h >> 20) % 254);
  const auto id = static_cast<uint16_t>(h >> 40);
  const uint32_t rest = uint32_t{id} << 16 | static_cast<uint32_t>(seq + 1);
  // Linux ping: an 8-byte time value, then bytes 0x10, 0x11, ...
  const uint64_t sec = static_cast<uint64_t>(kSimStart.seconds()) + (h >> 8) % 3600 + seq;
  for (size_t i = 0; i < 8; ++i) msg_[i] = static_cast<uint8_t>(sec >> (8 * i));
  for (size_t i = 8; i < 56; ++i) msg_[i] = static_cast<uint8_t>(0x10 + i - 8);
  const Bytes payload(msg_.data(), 56);
  const core::IpAddress victim = plan_.addr(plan::kVictim);
  const core::IpAddress peer = plan_.addr(addr);
  const bool v6 = plan_.ipv6();
  if (!reply) {
    ctx.out().icmp(now, IpHeader{peer, victim, 52, 0}, v6 ? 128 : 8, 0, rest, payload);
    ctx.at(now + 30 * kUs, kPing, arg | 1);
  } else {
    ctx.out().icmp(now, IpHeader{victim, peer, 64, 0}, v6 ? 129 : 0, 0, rest, payload);
    if (seq + 1 < count) ctx.at(now + kSec - 30 * kUs, kPing, index << 8 | (seq + 1) << 1);
  }
}

}  // namespace picket::sim

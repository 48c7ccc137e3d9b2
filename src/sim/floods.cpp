#include "sim/floods.hpp"

#include <algorithm>

#include "core/packet_meta.hpp"

namespace picket::sim {
namespace {

using namespace core::tcp_flag;

constexpr std::array<uint8_t, 12> kServerSynOptions{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};

double unit(uint64_t h) noexcept { return static_cast<double>(h >> 11) * 0x1.0p-53; }

Truth base_truth(const AddressPlan& plan, std::string detector) {
  Truth t;
  t.detector = std::move(detector);
  t.target = plan.addr(plan::kVictim);
  return t;
}

}  // namespace

// ---- SynFlood ----

SynFlood::SynFlood(const Setup& setup, uint32_t attacker, uint16_t port, uint64_t syns, Window window)
    : plan_(setup.plan),
      seed_(mix(setup.seed, attacker)),
      attacker_(attacker),
      port_(port),
      syns_(std::max<uint64_t>(syns, 1)),
      window_(window),
      port_base_(static_cast<uint16_t>(1024 + seed_ % 30000)) {}

uint64_t SynFlood::planned_packets() const noexcept { return 2 * syns_ + std::min(syns_, kBacklog); }

void SynFlood::start(Context& ctx) { ctx.at(window_.spread(0, syns_, unit(mix(seed_, 0))), kSendSyn, 0); }

void SynFlood::fire(Context& ctx, int64_t now, uint32_t kind, uint64_t i) {
  const uint64_t h = mix(seed_, i);
  const uint32_t seq = static_cast<uint32_t>(h);
  const auto sport = static_cast<uint16_t>(1024 + (port_base_ - 1024 + i) % (65536 - 1024));
  const core::IpAddress src = plan_.addr(attacker_);
  const core::IpAddress victim = plan_.addr(plan::kVictim);
  switch (kind) {
    case kSendSyn:
      ctx.out().tcp(now, IpHeader{src, victim, 64, static_cast<uint16_t>(h >> 32 | 1)}, sport, port_, kSyn, seq, 0,
                    512);
      ctx.at(now + static_cast<int64_t>(20 + (h >> 48) % 40) * kUs, kSendSynAck, i);
      if (i + 1 < syns_) ctx.at(window_.spread(i + 1, syns_, unit(mix(seed_, i + 1))), kSendSyn, i + 1);
      return;
    case kSendSynAck:
    case kResendSynAck:
      ctx.out().tcp(now, IpHeader{victim, src, 64, 0}, port_, sport, kSyn | kAck, static_cast<uint32_t>(h >> 24),
                    seq + 1, 65160, kServerSynOptions);
      if (kind == kSendSynAck && i < kBacklog) ctx.at(now + kSec, kResendSynAck, i);
      return;
    default:
      return;
  }
}

std::optional<Truth> SynFlood::truth() const {
  Truth t = base_truth(plan_, "syn_flood");
  t.sources = {plan_.addr(attacker_)};
  t.target_port = port_;
  return t;
}

// ---- SpoofedFlood ----

SpoofedFlood::SpoofedFlood(const Setup& setup, uint16_t port, uint64_t syns, Window window, bool one_each)
    : plan_(setup.plan),
      seed_(mix(setup.seed, 0x5900F)),
      port_(port),
      syns_(std::max<uint64_t>(syns, 1)),
      window_(window),
      one_each_(one_each),
      mul_(static_cast<uint32_t>(seed_ | 1) & 0xFFFF),
      add_(static_cast<uint32_t>(seed_ >> 20) & 0xFFFF) {}

// SYN i comes from source floor(3i/4): most sources send one SYN, every third one sends two
// (one_each: source i). Sources walk the spoofed range in a seed-dependent order (a bijection mod
// 65536); in IPv6 the interface id is a bijection of the source number, so sources never repeat.
core::IpAddress SpoofedFlood::source(uint64_t i) const noexcept {
  const uint64_t j = one_each_ ? i : i * 3 / 4;
  const auto index = static_cast<uint32_t>((mul_ * j + add_) % plan::kSpoofCount);
  return plan_.spoofed(index, mix(seed_ ^ 0x11D, j));
}

void SpoofedFlood::start(Context& ctx) { ctx.at(window_.spread(0, syns_, unit(mix(seed_, 0))), kSendSyn, 0); }

void SpoofedFlood::fire(Context& ctx, int64_t now, uint32_t kind, uint64_t i) {
  const uint64_t h = mix(seed_, i);
  const core::IpAddress src = source(i);
  const core::IpAddress victim = plan_.addr(plan::kVictim);
  const auto sport = static_cast<uint16_t>(1024 + h % 64000);
  const auto seq = static_cast<uint32_t>(h >> 16);
  if (kind == kSendSyn) {
    ctx.out().tcp(now, IpHeader{src, victim, static_cast<uint8_t>(40 + (h >> 56) % 200), 0}, sport, port_, kSyn, seq,
                  0, static_cast<uint16_t>(1024 + (h >> 40) % 60000));
    ctx.at(now + static_cast<int64_t>(20 + (h >> 48) % 40) * kUs, kSendSynAck, i);
    if (i + 1 < syns_) ctx.at(window_.spread(i + 1, syns_, unit(mix(seed_, i + 1))), kSendSyn, i + 1);
  } else {
    ctx.out().tcp(now, IpHeader{victim, src, 64, 0}, port_, sport, kSyn | kAck, static_cast<uint32_t>(h), seq + 1,
                  65160, kServerSynOptions);
  }
}

std::optional<Truth> SpoofedFlood::truth() const {
  Truth t = base_truth(plan_, "spoofed_flood");
  t.source_prefix = plan_.spoof_range();
  t.target_port = port_;
  return t;
}

// ---- ConnBatch, ConnFlood, RateAbuse ----

ConnBatch::ConnBatch(const Setup& setup, uint64_t salt)
    : plan_(setup.plan), rng_(mix(setup.seed, salt)), convs_(setup.plan, mix(setup.seed, salt + 1)) {}

void ConnBatch::add(int64_t t, const ConvSpec& spec) {
  times_.push_back(t);
  specs_.push_back(spec);
  planned_ += ConvPool::packets(spec);
}

void ConnBatch::start(Context& ctx) {
  for (size_t i = 0; i < times_.size(); ++i) ctx.at(times_[i], kOpen, i);
}

void ConnBatch::fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) {
  if (kind == kOpen) {
    convs_.open(ctx, kConv, now, specs_[arg]);
  } else {
    convs_.step(ctx, now, arg, kConv);
  }
}

ConnFlood::ConnFlood(const Setup& setup, Window window) : ConnBatch(setup, 0xC0F1) {
  // Each source connects once its turn in the window comes, then opens its others within seconds.
  for (uint32_t s = 0; s < kSources; ++s) {
    int64_t t = window.spread(s, kSources, rng_.uniform());
    const uint32_t rtt = static_cast<uint32_t>(rng_.range(5'000, 40'000));
    auto port = static_cast<uint16_t>(rng_.range(32768, 50000));
    for (uint32_t k = 0; k < kPerSource; ++k) {
      ConvSpec c;
      c.client = plan::kConnFloodNet + 10 + s;
      c.client_port = port++;
      c.server_port = 80;
      c.client_ttl = 52;
      c.hold = true;
      c.rtt_us = rtt;
      c.gap_us = 100;
      c.requests = 1;
      c.request_bytes[0] = 120;
      c.response_bytes[0] = static_cast<uint32_t>(rng_.range(300, 700));
      add(t, c);
      t += rng_.range(100, 400) * kMs;
    }
  }
}

std::optional<Truth> ConnFlood::truth() const {
  Truth t = base_truth(plan_, "subnet_conn");
  for (uint32_t s = 0; s < kSources; ++s) t.sources.push_back(plan_.addr(plan::kConnFloodNet + 10 + s));
  t.source_prefix = plan_.prefix(plan::kConnFloodNet, 24, 64);
  t.target_port = 80;
  return t;
}

RateAbuse::RateAbuse(const Setup& setup, Window window) : ConnBatch(setup, 0xAB05E) {
  const uint32_t rtt = static_cast<uint32_t>(rng_.range(10'000, 30'000));
  auto port = static_cast<uint16_t>(rng_.range(32768, 40000));
  for (uint32_t i = 0; i < kConnections; ++i) {
    ConvSpec c;
    c.client = plan::kRateAbuser;
    c.client_port = port++;
    c.server_port = 443;
    c.client_ttl = 50;
    c.rtt_us = rtt;
    c.gap_us = 50;
    c.requests = 1;
    c.request_bytes[0] = static_cast<uint16_t>(rng_.range(200, 400));   // a login attempt
    c.response_bytes[0] = static_cast<uint32_t>(rng_.range(400, 1200));  // "invalid password"
    add(window.spread(i, kConnections, rng_.uniform()), c);
  }
}

std::optional<Truth> RateAbuse::truth() const {
  Truth t = base_truth(plan_, "conn_rate");
  t.sources = {plan_.addr(plan::kRateAbuser)};
  t.target_port = 443;
  return t;
}

// ---- LargePackets ----

LargePackets::LargePackets(const Setup& setup, uint64_t frames, Window window)
    : plan_(setup.plan), seed_(mix(setup.seed, 0x1A26E)), frames_(std::max<uint64_t>(frames, 1)), window_(window) {}

void LargePackets::start(Context& ctx) { ctx.at(window_.spread(0, frames_, unit(mix(seed_, 0))), 0, 0); }

void LargePackets::fire(Context& ctx, int64_t now, uint32_t, uint64_t i) {
  const uint64_t h = mix(seed_, i);
  const size_t headers = 14 + (plan_.ipv6() ? 40 : 20) + 8;
  const size_t frame = 4000 + h % 5001;  // 4000..9000 bytes on the wire
  ctx.out().udp(now, IpHeader{plan_.addr(plan::kLargeSender), plan_.addr(plan::kVictim), 56, 0},
                static_cast<uint16_t>(40000 + (seed_ % 1000)), kPort, ctx.out().content(h >> 8, frame - headers));
  if (i + 1 < frames_) ctx.at(window_.spread(i + 1, frames_, unit(mix(seed_, i + 1))), 0, i + 1);
}

std::optional<Truth> LargePackets::truth() const {
  Truth t = base_truth(plan_, "large_packet");
  t.sources = {plan_.addr(plan::kLargeSender)};
  t.target_port = kPort;
  return t;
}

}  // namespace picket::sim

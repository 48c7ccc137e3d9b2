// Volume attacks and connection abuse, each from its own documented addresses:
// - SynFlood: one source, SYNs at a high rate to one port, never completing the handshake
//   (hping3 -S --flood style: incrementing source port, window 512); the victim answers SYN-ACKs,
//   and retransmits the first ones (before SYN cookies take over).
// - SpoofedFlood: SYNs to one port from random sources in the spoofed range, 1-2 each (or one each);
//   the victim's SYN-ACKs go unanswered. Sources are derived from the SYN's index: no per-source
//   state, so ten million distinct sources cost the generator nothing.
// - ConnFlood: 40 addresses of one /24, each holding 5 established connections (no close).
// - RateAbuse: one address making 200 short complete connections within a minute.
// - LargePackets: one source sending 4000-9000-byte frames (jumbo UDP datagrams, no reply).
#pragma once

#include <cstdint>
#include <vector>

#include "sim/engine.hpp"
#include "sim/rng.hpp"
#include "sim/tcp_conv.hpp"

namespace picket::sim {

class SynFlood final : public Component {
 public:
  // `syns` SYNs spread over `window`.
  SynFlood(const Setup& setup, uint32_t attacker, uint16_t port, uint64_t syns, Window window);
  void start(Context& ctx) override;
  void fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) override;
  uint64_t planned_packets() const noexcept override;
  std::optional<Truth> truth() const override;

  static constexpr uint64_t kBacklog = 64;  // half-open entries the victim retransmits for

 private:
  enum Kind : uint32_t { kSendSyn, kSendSynAck, kResendSynAck };
  const AddressPlan& plan_;
  uint64_t seed_;
  uint32_t attacker_;
  uint16_t port_;
  uint64_t syns_;
  Window window_;
  uint16_t port_base_;
};

class SpoofedFlood final : public Component {
 public:
  // `one_each`: every SYN from a source of its own (distinct in IPv6; IPv4 has only the 65 536
  // addresses of the spoofed range, so they repeat) instead of 1-2 SYNs per source.
  SpoofedFlood(const Setup& setup, uint16_t port, uint64_t syns, Window window, bool one_each = false);
  void start(Context& ctx) override;
  void fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) override;
  uint64_t planned_packets() const noexcept override { return 2 * syns_; }
  std::optional<Truth> truth() const override;

 private:
  enum Kind : uint32_t { kSendSyn, kSendSynAck };
  core::IpAddress source(uint64_t i) const noexcept;
  const AddressPlan& plan_;
  uint64_t seed_;
  uint16_t port_;
  uint64_t syns_;
  Window window_;
  bool one_each_;
  uint32_t mul_, add_;
};

// Connections opened from a list of ConvSpecs at given times (ConnFlood and RateAbuse).
class ConnBatch : public Component {
 public:
  void start(Context& ctx) override;
  void fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) override;
  uint64_t planned_packets() const noexcept override { return planned_; }

 protected:
  ConnBatch(const Setup& setup, uint64_t salt);
  void add(int64_t t, const ConvSpec& spec);

  const AddressPlan& plan_;
  Rng rng_;

 private:
  enum Kind : uint32_t { kOpen, kConv };
  ConvPool convs_;
  std::vector<int64_t> times_;
  std::vector<ConvSpec> specs_;
  uint64_t planned_ = 0;
};

class ConnFlood final : public ConnBatch {
 public:
  static constexpr uint32_t kSources = 40;
  static constexpr uint32_t kPerSource = 5;
  ConnFlood(const Setup& setup, Window window);
  std::optional<Truth> truth() const override;
};

class RateAbuse final : public ConnBatch {
 public:
  static constexpr uint32_t kConnections = 200;
  RateAbuse(const Setup& setup, Window window);
  std::optional<Truth> truth() const override;
};

class LargePackets final : public Component {
 public:
  static constexpr uint16_t kPort = 5001;
  LargePackets(const Setup& setup, uint64_t frames, Window window);
  void start(Context& ctx) override;
  void fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) override;
  uint64_t planned_packets() const noexcept override { return frames_; }
  std::optional<Truth> truth() const override;

 private:
  const AddressPlan& plan_;
  uint64_t seed_;
  uint64_t frames_;
  Window window_;
};

}  // namespace picket::sim

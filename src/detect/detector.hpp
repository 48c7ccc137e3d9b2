// The detector seam. A detector sees each packet once (with the flow tracker's verdict on it) —
// per-source detectors only the packets their interest() asks for — keeps bounded state, and
// reports findings. One folder per detector under src/detect/.
//
// Two kinds run in the engine:
// - per-source detectors run in the workers. Each packet is attributed to an *actor* (the remote
//   party it belongs to: the sender of a probe, the receiver of a reply) and workers are sharded
//   by the actor's prefix, so all of one actor's packets — and its whole subnet's — reach the same
//   detector instance in order. State is keyed by the actor (or its prefix).
// - per-target detectors (spoofed floods, distributed scans) run once, on the dispatcher, over
//   every packet, because their evidence spans many sources.
// Either way: on_packet is the hot path — no I/O, no allocation except when reporting a finding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/packet_meta.hpp"
#include "detect/finding.hpp"

namespace picket::detect {

// What a flow-starting packet looks like, from its TCP flags or protocol.
enum class ProbeKind : uint8_t { none = 0, syn, fin, null, xmas, ack, maimon, udp, ip_proto, icmp, other_tcp };
std::string_view probe_kind_name(ProbeKind k) noexcept;
// The kind a packet would be as a probe, from its flags alone (no flow state).
ProbeKind classify_probe(const core::PacketMeta& m) noexcept;

// The flow tracker's verdict on one packet, from the actor's point of view.
enum class FlowEvent : uint8_t {
  none = 0,        // nothing new (data on a known flow, a duplicate, ...)
  probe,           // the actor's first packet to (peer, peer port, proto): a first contact
  reply_success,   // the peer answered a first contact (SYN-ACK, TCP data, a UDP reply)
  reply_failure,   // the peer refused a first contact (RST, ICMP unreachable quoting the probe)
  established,     // the actor completed a TCP handshake it initiated
  closed,          // an established connection ended (FIN or RST seen)
  probe_unanswered,  // (notice only) a first contact got no answer within the probe timeout
  expired,         // (notice only) an established connection went idle past its timeout
};
std::string_view flow_event_name(FlowEvent e) noexcept;

struct PacketContext {
  const core::PacketMeta* meta = nullptr;
  core::IpAddress actor;        // whom the packet is attributed to
  bool from_actor = false;      // meta->src == actor (else the packet is addressed to the actor)
  FlowEvent flow = FlowEvent::none;
  ProbeKind probe = ProbeKind::none;  // for flow == probe, and for per-target detectors: classify_probe()
};

// A flow event not tied to a packet: raised by the flow tracker's expiry at a tick.
struct FlowNotice {
  FlowEvent event = FlowEvent::none;  // probe_unanswered or expired
  core::Timestamp ts;
  core::IpAddress actor;
  core::IpAddress peer;
  uint16_t actor_port = 0;
  uint16_t peer_port = 0;
  uint8_t proto = 0;
  ProbeKind probe = ProbeKind::none;
};

// Which packets and notices a detector reads, so the worker calls it only for those: a call that
// returns at once still costs 20-30 instructions, on every packet, for every detector.
// The worker may call a detector for more packets than it asked for (never fewer): on_packet
// still checks what it needs, and the mask only has to be a superset of that.
namespace interest {
// One bit per FlowEvent a packet can carry (none .. closed).
constexpr uint32_t flow(FlowEvent e) noexcept { return uint32_t{1} << static_cast<unsigned>(e); }
// A TCP segment with RST sent by the actor (whatever its flow event).
inline constexpr uint32_t kActorReset = uint32_t{1} << 8;
// A frame sent by the actor whose length on the wire exceeds Interest::large_frame.
inline constexpr uint32_t kLargeFromActor = uint32_t{1} << 9;
inline constexpr uint32_t kEveryPacket = ~uint32_t{0};
}  // namespace interest

struct Interest {
  uint32_t packets = interest::kEveryPacket;  // interest:: bits
  uint32_t large_frame = UINT32_MAX;          // for kLargeFromActor
  bool notices = true;                        // on_flow_notice
  bool prefetch = false;                      // prefetch_source: its table is keyed by the actor
};

// The interest bits `ctx` (after the flow tracker) carries: its flow event's bit, plus
// kActorReset / kLargeFromActor when they apply (large: frame_len > large_frame).
inline uint32_t packet_interest(const PacketContext& ctx, uint32_t large_frame) noexcept {
  uint32_t bits = interest::flow(ctx.flow);
  if (ctx.from_actor) {
    const core::PacketMeta& m = *ctx.meta;
    if (m.is_tcp() && (m.tcp_flags & core::tcp_flag::kRst) != 0) bits |= interest::kActorReset;
    if (m.frame_len > large_frame) bits |= interest::kLargeFromActor;
  }
  return bits;
}

struct DetectorStats {
  uint64_t tracked = 0;       // entries in the detector's table(s)
  uint64_t capacity = 0;
  uint64_t evictions = 0;
  uint64_t evictions_with_evidence = 0;
  uint64_t findings = 0;
  uint64_t memory_bytes = 0;  // fixed at construction

  // Sums another worker's instance into this one (capacity and memory add up: they are per worker).
  DetectorStats& operator+=(const DetectorStats& o) noexcept {
    tracked += o.tracked;
    capacity += o.capacity;
    evictions += o.evictions;
    evictions_with_evidence += o.evictions_with_evidence;
    findings += o.findings;
    memory_bytes += o.memory_bytes;
    return *this;
  }
};

// The stats of a detector whose state is one state::BoundedTable: its fill and evictions, the
// findings it made, and `extra_memory` beyond the table (side buffers, shared lists).
template <typename Table>
DetectorStats table_stats(const Table& table, uint64_t findings, uint64_t extra_memory = 0) noexcept {
  DetectorStats st;
  st.tracked = table.size();
  st.capacity = table.capacity();
  st.evictions = table.stats().evictions;
  st.evictions_with_evidence = table.stats().evictions_protected;
  st.findings = findings;
  st.memory_bytes = table.memory_bytes() + extra_memory;
  return st;
}

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view name() const noexcept = 0;
  // What the worker must deliver (per-source detectors; per-target ones see every packet).
  // Asked once, after construction; the default is everything.
  virtual Interest interest() const noexcept { return {}; }
  virtual void on_packet(const PacketContext& pkt, FindingSink& out) noexcept = 0;
  virtual void on_flow_notice(const FlowNotice&, FindingSink&) noexcept {}
  // Called as packet time crosses each tick (see engine.tick): window roll-over, expiry,
  // interval sampling.
  virtual void on_tick(core::Timestamp, FindingSink&) noexcept {}
  virtual DetectorStats stats() const noexcept = 0;
  // A hint some packets ahead (with Interest::prefetch): a first contact from the address whose
  // core::IpAddress::hash() is `address_hash` is coming; start fetching its entry.
  virtual void prefetch_source(uint64_t /*address_hash*/) const noexcept {}
};

}  // namespace picket::detect

// FlowTracker: the shared, bounded view of each actor's flows that the connection- and
// scan-detectors read. It answers, for every packet: is this a first contact (a probe, whatever
// its flags), an answer to one (success or refusal), a completed handshake, or a close?
//
// Flows are keyed from the actor's side (actor, peer, ports, protocol). Flows the peer starts are
// remembered only so the actor's answers on them are not taken for first contacts. For flows the
// actor starts: a connection counts as established only when the actor's ACK follows the
// peer's SYN-ACK (acknowledging its sequence number when the SYN-ACK was seen), so spoofed
// sources — which never see the SYN-ACK — never establish anything.
//
// Bounded: capacity from config; established connections are spared at eviction (a SYN flood
// cannot push them out), and an evicted established connection is reported as expired so
// gauges stay true. First contacts left unanswered for probe_timeout become probe_unanswered
// notices at the next tick.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#include "config/config.hpp"
#include "core/ip_address.hpp"
#include "core/packet_meta.hpp"
#include "detect/detector.hpp"
#include "state/bounded_table.hpp"

namespace picket::detect {

void declare_flow_config(config::Schema& schema);

struct FlowSettings {
  uint32_t capacity = 262'144;
  core::Duration probe_timeout = core::Duration::seconds(5);
  core::Duration idle_timeout = core::Duration::seconds(300);

  static FlowSettings from_config(const config::Config& cfg);
};

// 40 bytes with no padding (the last byte is explicit and always zero), so that hashing and
// comparing read it as five 64-bit words: every lookup of the packet path does both.
struct FlowKey {
  core::IpAddress actor;
  core::IpAddress peer;
  uint16_t actor_port = 0;
  uint16_t peer_port = 0;
  uint8_t proto = 0;
  uint8_t zero = 0;

  static constexpr size_t kWords = 5;
  uint64_t word(size_t i) const noexcept {
    uint64_t w;
    std::memcpy(&w, reinterpret_cast<const unsigned char*>(this) + 8 * i, 8);
    return w;
  }

  friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
    return ((a.word(0) ^ b.word(0)) | (a.word(1) ^ b.word(1)) | (a.word(2) ^ b.word(2)) | (a.word(3) ^ b.word(3)) |
            (a.word(4) ^ b.word(4))) == 0;
  }
};
static_assert(sizeof(FlowKey) == FlowKey::kWords * 8 && std::has_unique_object_representations_v<FlowKey>,
              "FlowKey is compared and hashed as raw words: it must have no padding");

// Cheap on purpose (the table mixes it): each word times its own odd constant (a bijection, so no
// word's bits are lost), XORed.
struct FlowKeyHash {
  uint64_t operator()(const FlowKey& k) const noexcept {
    return (k.word(0) * 0x9E3779B97F4A7C15ULL) ^ (k.word(1) * 0xC2B2AE3D27D4EB4FULL) ^
           (k.word(2) * 0x165667B19E3779F9ULL) ^ (k.word(3) * 0xD6E8FEB86659FD93ULL) ^
           (k.word(4) * 0xFF51AFD7ED558CCDULL);
  }
};

// peer_opened: the peer (usually the local host) started this flow — the actor's packets on it are
// answers, never first contacts (the local host's own DNS lookups, outbound connections).
enum class FlowState : uint8_t { probing = 0, answered, refused, unanswered, established, closed, peer_opened };

struct Flow {
  FlowState state = FlowState::probing;
  ProbeKind probe = ProbeKind::none;
  bool synack_seen = false;
  uint32_t synack_seq = 0;
  int64_t started_ns = 0;
};
inline bool keep_on_eviction(const Flow& f) noexcept { return f.state == FlowState::established; }

struct FlowStats {
  uint64_t flows = 0;
  uint64_t capacity = 0;
  uint64_t evictions = 0;
  uint64_t established_evicted = 0;
  uint64_t probes = 0;
  uint64_t established = 0;
  uint64_t pending_dropped = 0;  // probe-timeout queue overflowed (answers still counted)
  uint64_t memory_bytes = 0;

  FlowStats& operator+=(const FlowStats& o) noexcept {
    flows += o.flows;
    capacity += o.capacity;
    evictions += o.evictions;
    established_evicted += o.established_evicted;
    probes += o.probes;
    established += o.established;
    pending_dropped += o.pending_dropped;
    memory_bytes += o.memory_bytes;
    return *this;
  }
};

class FlowTracker {
 public:
  using NoticeFn = std::function<void(const FlowNotice&)>;

  // Notices (probe_unanswered, expired) are delivered through `on_notice` during on_tick and
  // during packet processing (evictions).
  FlowTracker(const FlowSettings& settings, NoticeFn on_notice);
  FlowTracker(const FlowTracker&) = delete;
  FlowTracker& operator=(const FlowTracker&) = delete;

  // Fills ctx.flow and ctx.probe for the packet (ctx.meta, actor and from_actor already set).
  void on_packet(PacketContext& ctx) noexcept;
  void on_tick(core::Timestamp now) noexcept;

  FlowStats stats() const noexcept;

 private:
  // A first contact waiting for its answer: the table slot of its flow (16 bytes instead of the
  // 48 of a key; the flow in the slot is still this one while it is probing since started_ns).
  struct Pending {
    uint32_t slot;
    int64_t started_ns;
  };
  void on_icmp_error(PacketContext& ctx) noexcept;
  // `f` is the key's flow (already found, so touched), or nullptr; `h` = table_.hash_of(key).
  void on_from_actor(PacketContext& ctx, const FlowKey& key, uint64_t h, Flow* f) noexcept;
  void on_to_actor(PacketContext& ctx, const FlowKey& key, uint64_t h, Flow* f) noexcept;
  void notice(FlowEvent ev, const FlowKey& key, const Flow& f, core::Timestamp ts);

  FlowSettings settings_;
  NoticeFn on_notice_;
  state::BoundedTable<FlowKey, Flow, FlowKeyHash> table_;
  std::vector<Pending> pending_;  // ring of first contacts waiting for an answer, oldest first
  size_t pending_head_ = 0;
  size_t pending_size_ = 0;
  core::Timestamp now_;
  FlowStats counters_;
};

}  // namespace picket::detect

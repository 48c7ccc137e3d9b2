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

#include <array>
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
#include "state/mix.hpp"

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
  // Word 4: the peer's last byte, its family, the ports, proto and the zero byte.
  static uint64_t tail(uint64_t peer_last_byte, core::Family peer_family, uint16_t actor_port,
                       uint16_t peer_port, uint8_t proto) noexcept {
    return peer_last_byte | uint64_t{static_cast<uint8_t>(peer_family)} << 8 | uint64_t{actor_port} << 16 |
           uint64_t{peer_port} << 32 | uint64_t{proto} << 48;
  }
  uint64_t word(size_t i) const noexcept {
    uint64_t w;
    std::memcpy(&w, reinterpret_cast<const unsigned char*>(this) + 8 * i, 8);
    return w;
  }

  // The five words of a key, worked out in registers from its fields (little-endian layout:
  // actor's 16 bytes, its family, peer's 16 bytes, its family, the two ports, proto, zero).
  // The packet path builds its key from these and hashes them: a key written field by field and
  // read back as words at once would make every word's load wait on stores of other widths.
  using Words = std::array<uint64_t, kWords>;
  static Words words_of(const core::IpAddress& actor, const core::IpAddress& peer, uint16_t actor_port, uint16_t peer_port,
                        uint8_t proto) noexcept {
    uint64_t a[2], p[2];
    std::memcpy(a, actor.bytes().data(), 16);
    std::memcpy(p, peer.bytes().data(), 16);
    return {a[0], a[1], uint64_t{static_cast<uint8_t>(actor.family())} | (p[0] << 8), (p[0] >> 56) | (p[1] << 8),
            tail(p[1] >> 56, peer.family(), actor_port, peer_port, proto)};
  }
  // The same for two IPv4 addresses given as their four bytes in memory order (as memcpy loads
  // them from a packet): an IpAddress keeps them in its first four bytes, the rest zero.
  static Words words_of_v4(uint32_t actor, uint32_t peer, uint16_t actor_port, uint16_t peer_port, uint8_t proto) noexcept {
    return {actor, 0, uint64_t{static_cast<uint8_t>(core::Family::v4)} | (uint64_t{peer} << 8), 0,
            tail(0, core::Family::v4, actor_port, peer_port, proto)};
  }
  static FlowKey from_words(const Words& w) noexcept {
    FlowKey k;
    std::memcpy(static_cast<void*>(&k), w.data(), sizeof(k));
    return k;
  }

  friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
    return ((a.word(0) ^ b.word(0)) | (a.word(1) ^ b.word(1)) | (a.word(2) ^ b.word(2)) | (a.word(3) ^ b.word(3)) |
            (a.word(4) ^ b.word(4))) == 0;
  }
};
static_assert(sizeof(FlowKey) == FlowKey::kWords * 8 && std::has_unique_object_representations_v<FlowKey>,
              "FlowKey is compared and hashed as raw words: it must have no padding");
static_assert(std::endian::native == std::endian::little, "FlowKey::words_of assumes a little-endian layout");

// Each word times its own odd constant (a bijection, so no word's bits are lost), XORed, then
// mixed: the table uses it as it is (state::hash_is_mixed), so the packet path can hash a key's
// words straight from FlowKey::words_of.
struct FlowKeyHash {
  static uint64_t of_words(const FlowKey::Words& w) noexcept {
    return state::mix64((w[0] * 0x9E3779B97F4A7C15ULL) ^ (w[1] * 0xC2B2AE3D27D4EB4FULL) ^ (w[2] * 0x165667B19E3779F9ULL) ^
                        (w[3] * 0xD6E8FEB86659FD93ULL) ^ (w[4] * 0xFF51AFD7ED558CCDULL));
  }
  uint64_t operator()(const FlowKey& k) const noexcept {
    return of_words({k.word(0), k.word(1), k.word(2), k.word(3), k.word(4)});
  }
};

}  // namespace picket::detect

namespace picket::state {
template <>
inline constexpr bool hash_is_mixed<detect::FlowKeyHash> = true;
}  // namespace picket::state

namespace picket::detect {

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
  // Prefetches where the lookups of a packet between `a`:`pa` and `b`:`pb` will start, whichever
  // side turns out to be the actor: a caller some packets ahead hides the cache misses.
  // The same for a decoded packet whose actor side is known (a worker thread's queue): the one
  // key on_packet will look up.
  void prefetch(const core::PacketMeta& m, bool from_actor) const noexcept {
    if (!m.has(core::meta_flag::kHasIp) || m.has(core::meta_flag::kLaterFragment) || m.has(core::meta_flag::kHasInner)) return;
    table_.prefetch(FlowKeyHash::of_words(key_words(m, from_actor)));
  }
  // The words of the key of a packet that is not an ICMP error, from the actor's side.
  static FlowKey::Words key_words(const core::PacketMeta& m, bool from_actor) noexcept {
    const bool ports = m.has(core::meta_flag::kHasPorts);
    const uint16_t sp = ports ? m.src_port : 0;
    const uint16_t dp = ports ? m.dst_port : 0;
    return from_actor ? FlowKey::words_of(m.src, m.dst, sp, dp, m.ip_proto) : FlowKey::words_of(m.dst, m.src, dp, sp, m.ip_proto);
  }
  // `a` and `b` are IPv4 addresses' four bytes in memory order.
  void prefetch_v4(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb, uint8_t proto) const noexcept {
    table_.prefetch(FlowKeyHash::of_words(FlowKey::words_of_v4(a, b, pa, pb, proto)));
    table_.prefetch(FlowKeyHash::of_words(FlowKey::words_of_v4(b, a, pb, pa, proto)));
  }

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

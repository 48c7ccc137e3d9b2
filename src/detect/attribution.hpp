// Attribution: which remote party a packet belongs to (its *actor*). Per-source detectors key
// their state by the actor and the engine shards workers by it, so a scanner's probes and the
// victim's replies to it meet in one place.
//
// Rules, first match wins:
//  1. Local side known: if exactly one address is local (engine.home_net, or learned as a
//     server below), the actor is the other one.
//  2. The packet says who asked: an ICMP error belongs to its destination (the prober); a TCP
//     SYN to its source; SYN-ACK and RST-ACK (answers) to their destination.
//  3. Ports: between a well-known port (< 1024) and an ephemeral one, the ephemeral side.
//  4. Otherwise the source.
// Learning: the destination of a SYN and the source of a SYN-ACK or an ICMP error are servers —
// unless the other end is in engine.home_net (our host talking out: the remote is the actor).
// The learned set is bounded (least recently seen out). This is a pure function of the packet
// sequence, so any number of workers attribute identically.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ip_address.hpp"
#include "core/packet_meta.hpp"
#include "state/bounded_table.hpp"

namespace picket::detect {

// Which address of a packet is its actor.
enum class ActorSide : uint8_t { none = 0, src, dst };

// The actor's address, for a side that is not none.
inline const core::IpAddress& actor_of(const core::PacketMeta& m, ActorSide side) noexcept {
  return side == ActorSide::src ? m.src : m.dst;
}
// Whether the packet comes from its actor (PacketContext::from_actor: src == actor, so also a
// packet from an address to itself).
inline bool from_actor(const core::PacketMeta& m, ActorSide side) noexcept {
  return side == ActorSide::src || m.src == m.dst;
}

class Attribution {
 public:
  Attribution(std::vector<core::Prefix> home_net, uint32_t learned_capacity);
  // The table's eviction hook points at this object: a move installs it afresh.
  Attribution(Attribution&& o);
  Attribution& operator=(Attribution&& o);

  // Which side of `m` is its actor (none when the packet has no IP layer). Learns from it.
  ActorSide actor_side(const core::PacketMeta& m) noexcept;
  // The actor's address (empty when the packet has no IP layer). Learns from it.
  core::IpAddress actor(const core::PacketMeta& m) noexcept {
    switch (actor_side(m)) {
      case ActorSide::src:
        return m.src;
      case ActorSide::dst:
        return m.dst;
      case ActorSide::none:
        break;
    }
    return {};
  }

  // Inline down to the counting filter: most addresses asked about are not servers, and the
  // filter's zero cell says so without a call or a probe of the table.
  bool is_local(const core::IpAddress& a) noexcept {
    if (has_last_server_ && a == last_server_) return true;
    const uint64_t h = servers_.hash_of(a);
    if (filter_[h & filter_mask_] == 0) return !home_net_.empty() && in_home_net(a);
    return is_local_slow(a, h);
  }
  uint32_t learned() const noexcept { return servers_.size(); }

 private:
  struct Seen {
    uint8_t unused = 0;
  };
  bool is_local_slow(const core::IpAddress& a, uint64_t h) noexcept;
  void install_evict_hook();
  bool in_home_net(const core::IpAddress& a) const noexcept;
  void learn(const core::IpAddress& a, core::Timestamp now) noexcept;
  // Cells are picked by the table's own hash of the address (servers_.hash_of).
  uint8_t& filter_cell(const core::IpAddress& a) noexcept { return filter_[servers_.hash_of(a) & filter_mask_]; }

  std::vector<core::Prefix> home_net_;
  state::BoundedTable<core::IpAddress, Seen, core::IpAddressHash> servers_;
  // A counting filter over the learned servers: how many of them hash to each cell (sticky at
  // 255). Every packet asks about both of its addresses and most are not servers (a spoofed
  // flood's sources, clients); a zero cell answers that without probing the table's index.
  std::vector<uint8_t> filter_;
  uint64_t filter_mask_ = 0;
  // The last address found among the learned servers (most packets have the protected host on
  // one side): answered by one comparison. Cleared when that address is evicted.
  core::IpAddress last_server_;
  bool has_last_server_ = false;
};

}  // namespace picket::detect

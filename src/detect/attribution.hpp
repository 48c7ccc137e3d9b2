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
// Learning: the destination of a SYN and the source of a SYN-ACK or an ICMP error are servers.
// The learned set is bounded (least recently seen out). This is a pure function of the packet
// sequence, so any number of workers attribute identically.
#pragma once

#include <cstdint>
#include <vector>

#include "core/ip_address.hpp"
#include "core/packet_meta.hpp"
#include "state/bounded_table.hpp"

namespace picket::detect {

class Attribution {
 public:
  Attribution(std::vector<core::Prefix> home_net, uint32_t learned_capacity);

  // The actor of `m` (empty when the packet has no IP layer). Learns from it.
  core::IpAddress actor(const core::PacketMeta& m) noexcept;

  bool is_local(const core::IpAddress& a) const noexcept;
  uint32_t learned() const noexcept { return servers_.size(); }

 private:
  struct Seen {
    uint8_t unused = 0;
  };
  bool in_home_net(const core::IpAddress& a) const noexcept;
  void learn(const core::IpAddress& a, core::Timestamp now) noexcept;

  std::vector<core::Prefix> home_net_;
  state::BoundedTable<core::IpAddress, Seen, core::IpAddressHash> servers_;
};

}  // namespace picket::detect

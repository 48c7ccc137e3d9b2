#include "detect/attribution.hpp"

namespace picket::detect {

using core::tcp_flag::kAck;
using core::tcp_flag::kRst;
using core::tcp_flag::kSyn;

Attribution::Attribution(std::vector<core::Prefix> home_net, uint32_t learned_capacity)
    : home_net_(std::move(home_net)), servers_(learned_capacity) {
  // Two cells per server: small enough to stay in the CPU cache, mostly empty cells until the
  // table is full.
  size_t cells = 64;
  while (cells < size_t{servers_.capacity()} * 2) cells <<= 1;
  filter_.assign(cells, 0);
  filter_mask_ = cells - 1;
  install_evict_hook();
}

Attribution::Attribution(Attribution&& o)
    : home_net_(std::move(o.home_net_)),
      servers_(std::move(o.servers_)),
      filter_(std::move(o.filter_)),
      filter_mask_(o.filter_mask_),
      last_server_(o.last_server_),
      has_last_server_(o.has_last_server_) {
  install_evict_hook();
}

Attribution& Attribution::operator=(Attribution&& o) {
  home_net_ = std::move(o.home_net_);
  servers_ = std::move(o.servers_);
  filter_ = std::move(o.filter_);
  filter_mask_ = o.filter_mask_;
  last_server_ = o.last_server_;
  has_last_server_ = o.has_last_server_;
  install_evict_hook();
  return *this;
}

void Attribution::install_evict_hook() {
  servers_.set_on_evict([this](const core::IpAddress& a, Seen&) {
    uint8_t& c = filter_cell(a);
    if (c != 0xFF) --c;
    if (has_last_server_ && a == last_server_) has_last_server_ = false;
  });
}

bool Attribution::in_home_net(const core::IpAddress& a) const noexcept {
  for (const auto& p : home_net_) {
    if (p.contains(a)) return true;
  }
  return false;
}

bool Attribution::is_local_slow(const core::IpAddress& a, uint64_t h) noexcept {
  if (in_home_net(a)) return true;
  if (servers_.peek(a, h) == nullptr) return false;
  last_server_ = a;
  has_last_server_ = true;
  return true;
}

void Attribution::learn(const core::IpAddress& a, core::Timestamp now) noexcept {
  if (in_home_net(a)) return;
  if (servers_.find_or_insert(a, now).second) {
    uint8_t& c = filter_cell(a);
    if (c != 0xFF) ++c;
  }
}

ActorSide Attribution::actor_side(const core::PacketMeta& m) noexcept {
  using enum ActorSide;
  if (!m.has(core::meta_flag::kHasIp)) return none;
  // Learn first, so the very first SYN already marks its destination as a server.
  const bool tcp_ports = m.is_tcp() && m.has(core::meta_flag::kHasPorts);
  const uint8_t f = m.tcp_flags;
  // A server is learned only from a conversation between two outsiders: when our own host
  // (engine.home_net) connects out, the remote end is the party to watch, not a second "local"
  // side — else its answers would look like first contacts from it (a port scan).
  if (tcp_ports && (f & kSyn) && !(f & kAck) && !in_home_net(m.src)) learn(m.dst, m.ts);
  if (tcp_ports && (f & kSyn) && (f & kAck) && !in_home_net(m.dst)) learn(m.src, m.ts);
  const bool icmp_error = m.has(core::meta_flag::kHasInner);
  if (icmp_error && !in_home_net(m.dst)) learn(m.src, m.ts);

  const bool src_local = is_local(m.src);
  const bool dst_local = is_local(m.dst);
  if (src_local != dst_local) return src_local ? dst : src;

  if (icmp_error) return dst;
  if (tcp_ports) {
    if ((f & kSyn) && !(f & kAck)) return src;
    if ((f & kSyn) && (f & kAck)) return dst;
    if ((f & kRst) && (f & kAck)) return dst;
  }
  if (m.has(core::meta_flag::kHasPorts)) {
    const bool src_low = m.src_port < 1024;
    const bool dst_low = m.dst_port < 1024;
    if (src_low && !dst_low) return dst;
  }
  return src;
}

}  // namespace picket::detect

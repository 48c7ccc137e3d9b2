#include <tuple>

#include "detect/detector.hpp"
#include "detect/finding.hpp"

namespace picket::detect {

using core::tcp_flag::kAck;
using core::tcp_flag::kFin;
using core::tcp_flag::kPsh;
using core::tcp_flag::kRst;
using core::tcp_flag::kSyn;
using core::tcp_flag::kUrg;

std::string_view probe_kind_name(ProbeKind k) noexcept {
  switch (k) {
    case ProbeKind::none: return "none";
    case ProbeKind::syn: return "syn";
    case ProbeKind::fin: return "fin";
    case ProbeKind::null: return "null";
    case ProbeKind::xmas: return "xmas";
    case ProbeKind::ack: return "ack";
    case ProbeKind::maimon: return "maimon";
    case ProbeKind::udp: return "udp";
    case ProbeKind::ip_proto: return "ip_proto";
    case ProbeKind::icmp: return "icmp";
    case ProbeKind::other_tcp: return "other_tcp";
  }
  return "none";
}

std::string_view flow_event_name(FlowEvent e) noexcept {
  switch (e) {
    case FlowEvent::none: return "none";
    case FlowEvent::probe: return "probe";
    case FlowEvent::reply_success: return "reply_success";
    case FlowEvent::reply_failure: return "reply_failure";
    case FlowEvent::established: return "established";
    case FlowEvent::closed: return "closed";
    case FlowEvent::probe_unanswered: return "probe_unanswered";
    case FlowEvent::expired: return "expired";
  }
  return "none";
}

ProbeKind classify_probe(const core::PacketMeta& m) noexcept {
  if (!m.has(core::meta_flag::kHasIp) || m.has(core::meta_flag::kLaterFragment)) return ProbeKind::none;
  if (m.is_tcp()) {
    if (!m.has(core::meta_flag::kHasPorts)) return ProbeKind::none;
    const uint8_t f = m.tcp_flags & (kFin | kSyn | kRst | kPsh | kAck | kUrg);
    if (f & kRst) return ProbeKind::none;                     // resets answer, they don't ask
    if (f & kSyn) return (f & kAck) ? ProbeKind::none : ProbeKind::syn;
    switch (f) {
      case 0: return ProbeKind::null;
      case kFin: return ProbeKind::fin;
      case kFin | kPsh | kUrg: return ProbeKind::xmas;
      case kAck: return ProbeKind::ack;
      case kFin | kAck: return ProbeKind::maimon;
      default: return ProbeKind::other_tcp;
    }
  }
  if (m.is_udp()) return m.has(core::meta_flag::kHasPorts) ? ProbeKind::udp : ProbeKind::none;
  if (m.is_icmp()) {
    if (!m.has(core::meta_flag::kHasIcmp)) return ProbeKind::none;
    const bool echo = m.ip_proto == 1 ? m.icmp_type == 8 : m.icmp_type == 128;
    return echo ? ProbeKind::icmp : ProbeKind::none;
  }
  return ProbeKind::ip_proto;
}

bool finding_less(const Finding& a, const Finding& b) noexcept {
  if (a.ts != b.ts) return a.ts < b.ts;
  if (a.detector != b.detector) return a.detector < b.detector;
  if (a.kind != b.kind) return a.kind < b.kind;
  if (a.source != b.source) return a.source < b.source;
  if (a.source_prefix != b.source_prefix) return a.source_prefix < b.source_prefix;
  if (a.target != b.target) return a.target < b.target;
  if (a.target_port != b.target_port) return a.target_port < b.target_port;
  return a.update < b.update;
}

}  // namespace picket::detect

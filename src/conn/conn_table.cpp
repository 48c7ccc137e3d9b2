#include "conn/conn_table.hpp"

#include <netinet/in.h>

#include <algorithm>

namespace picket::conn {

core::Result<std::unique_ptr<ConnTable>> ConnTable::open(TableOptions options) {
  if (!(options.tcp || options.udp) || !(options.ipv4 || options.ipv6)) {
    return core::make_error("conn: nothing to list (no protocol or no family enabled)");
  }
  auto diag = SockDiag::open();
  if (!diag) return diag.error();
  return std::unique_ptr<ConnTable>(new ConnTable(std::move(options), std::move(*diag)));
}

core::Result<void> ConnTable::refresh(core::Timestamp now, Snapshot& out) {
  out.taken_at = now;
  out.sockets.clear();
  out.process_names.clear();
  out.truncated = 0;
  // Reserve for the common case only; a larger table grows the vector once and keeps it.
  if (out.sockets.capacity() == 0) out.sockets.reserve(std::min<size_t>(options_.max_sockets, 4096));
  struct Dump {
    bool on;
    uint8_t family, proto;
    uint32_t states;
  };
  const Dump dumps[] = {
      {options_.tcp && options_.ipv4, AF_INET, kProtoTcp, options_.tcp_states},
      {options_.tcp && options_.ipv6, AF_INET6, kProtoTcp, options_.tcp_states},
      {options_.udp && options_.ipv4, AF_INET, kProtoUdp, ~0u},
      {options_.udp && options_.ipv6, AF_INET6, kProtoUdp, ~0u},
  };
  for (const Dump& d : dumps) {
    if (!d.on) continue;
    auto r = diag_.dump(d.family, d.proto, d.states, out.sockets, options_.max_sockets);
    if (!r) {
      ++stats_.errors;
      return r.error();
    }
    out.truncated += r->truncated;
    stats_.malformed += r->malformed;
  }
  stats_.truncated += out.truncated;
  if (options_.processes) {
    procs_.resolve(out, now, options_.full_rescan);
  } else {
    out.process_names.emplace_back();
  }
  ++stats_.snapshots;
  stats_.sockets = out.sockets.size();
  return {};
}

ConnTable::Stats ConnTable::stats() const noexcept {
  Stats s = stats_;
  const ProcessMap::Stats& p = procs_.stats();
  s.proc_scans = p.scans;
  s.full_scans = p.full_scans;
  s.denied = p.denied;
  s.unresolved = p.unresolved;
  return s;
}

}  // namespace picket::conn

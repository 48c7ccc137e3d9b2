// ConnTable: snapshots of the host's TCP and UDP sockets (IPv4 and IPv6) with their owning
// processes — what `netstat -tunap` shows, read from the kernel (sock_diag, sock_diag.hpp) and
// /proc (process_map.hpp). Seeds 000 (ESTABLISHED connections per subnet) and 003 (connections per
// process, connections to listed addresses) look at this table. docs/conn.md is the user's view.
//
// Not the packet path: refresh() does syscalls and allocates (within max_sockets); one thread.
// Permissions: sock_diag lists the sockets of the caller's network namespace without privileges;
// naming the processes of other users needs root or CAP_SYS_PTRACE (else their pid stays −1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "conn/process_map.hpp"
#include "conn/snapshot.hpp"
#include "conn/sock_diag.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace picket::conn {

struct TableOptions {
  bool tcp = true, udp = true, ipv4 = true, ipv6 = true;
  bool processes = true;           // resolve owners through /proc
  size_t max_sockets = 1'000'000;  // per snapshot; the rest are counted in Snapshot::truncated
  core::Duration full_rescan = core::Duration::seconds(60);  // at most one full /proc scan per this
  uint32_t tcp_states = ~0u;                                 // TCP states dumped, bit i = tcp_state i (default: all)
  std::string proc_root = "/proc";
};

class ConnTable {
 public:
  // Opens the sock_diag socket. Error: "conn: sock_diag socket: <strerror>", or
  // "conn: nothing to list (no protocol or no family enabled)".
  static core::Result<std::unique_ptr<ConnTable>> open(TableOptions options);

  // Replaces `out` with a fresh snapshot taken at `now` (the caller's clock; it paces full /proc
  // scans). Reuses out's capacity. On error (one line: "conn: sock_diag dump tcp/ipv6: Operation
  // not permitted") `out` holds an incomplete snapshot and must not be used.
  core::Result<void> refresh(core::Timestamp now, Snapshot& out);

  struct Stats {
    uint64_t snapshots = 0;   // refresh() calls that succeeded
    uint64_t sockets = 0;     // sockets in the last snapshot
    uint64_t proc_scans = 0;  // refreshes that read /proc (full_scans of them were full scans)
    uint64_t full_scans = 0;
    uint64_t errors = 0;      // refresh() calls that failed
    uint64_t truncated = 0;   // sockets left out over max_sockets (all snapshots)
    uint64_t malformed = 0;   // kernel messages skipped as malformed (all snapshots)
    uint64_t denied = 0;      // /proc/<pid>/fd directories we could not read (all scans)
    uint64_t unresolved = 0;  // sockets with an inode but no owner found (all snapshots)
  };
  Stats stats() const noexcept;

 private:
  ConnTable(TableOptions options, SockDiag diag)
      : options_(std::move(options)), diag_(std::move(diag)), procs_(options_.proc_root, options_.max_sockets * 4) {}

  TableOptions options_;
  SockDiag diag_;
  ProcessMap procs_;
  Stats stats_;
};

}  // namespace picket::conn

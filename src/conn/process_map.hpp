// ProcessMap: which process holds each socket, from /proc/<pid>/fd/* symlinks ("socket:[inode]")
// and /proc/<pid>/comm.
//
// Reading /proc is the expensive part of a snapshot (one readlink per open file of every process),
// so the inode → pid map is cached and refreshed only when a snapshot holds inodes it does not
// know: by a full scan that rebuilds the map when the last one is at least `full_rescan` old (or
// there was none), else by scanning only the processes not seen before.
// Between full scans, a new socket of a process already scanned stays unknown (pid −1), and a
// process that exec()s keeps its old name.
//
// Without the right to read another user's /proc/<pid>/fd (CAP_SYS_PTRACE, or root), those
// processes' sockets stay unknown; each refused directory is counted (Stats::denied).
// Bounded: the map holds at most `max_entries` inodes (beyond that, the rest are counted and not
// cached) and is pruned of inodes no longer seen once it outgrows twice the last snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "conn/snapshot.hpp"
#include "core/time.hpp"

namespace picket::conn {

class ProcessMap {
 public:
  struct Stats {
    uint64_t scans = 0;         // resolve() calls that read /proc
    uint64_t full_scans = 0;    // of those, full scans
    uint64_t pids_scanned = 0;  // process fd directories read
    uint64_t denied = 0;        // fd directories we were not allowed to read
    uint64_t unresolved = 0;    // sockets with an inode left without an owner (all snapshots)
    uint64_t not_cached = 0;    // socket inodes not cached because the map was full
  };

  // `proc_root` is "/proc" except in tests.
  explicit ProcessMap(std::string proc_root = "/proc", size_t max_entries = 4'000'000);

  // Fills pid and process of every socket of `snap` and rebuilds snap.process_names.
  void resolve(Snapshot& snap, core::Timestamp now, core::Duration full_rescan);

  const Stats& stats() const noexcept { return stats_; }
  size_t cached() const noexcept { return owner_.size(); }

 private:
  struct Owner {
    int32_t pid = -1;
    uint64_t generation = 0;  // last resolve() that saw or added it
  };

  // Resolves from the cache; returns how many sockets with an inode are still unknown.
  size_t lookup(Snapshot& snap);
  std::vector<int32_t> list_pids() const;
  void scan_pid(int32_t pid);
  void full_scan(const std::vector<int32_t>& pids, core::Timestamp now);
  void name_processes(Snapshot& snap);

  std::string root_;
  size_t max_entries_;
  std::unordered_map<uint64_t, Owner> owner_;      // socket inode → owner
  std::unordered_map<int32_t, std::string> comm_;  // pids scanned (alive at the last listing) → name
  std::vector<int32_t> pids_;                      // scratch: the snapshot's distinct pids
  uint64_t generation_ = 0;
  bool full_scanned_ = false;
  core::Timestamp last_full_;
  Stats stats_;
};

}  // namespace picket::conn

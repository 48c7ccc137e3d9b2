// ConntrackCleaner: removes a blocked source's existing connections from the kernel's connection
// tracking table (seed 000's "aggressive cleanup").
//
// Why, when nftables already drops at priority raw (before conntrack): the drop stops every packet
// of an established flow, but the entries stay in the table until they time out (five days for an
// established TCP flow by default). Removing them frees the table at once and makes the kernel
// forget the flows, so nothing the attacker set up outlives the ban (NAT mappings, helpers,
// `ct state established` accepts elsewhere in the ruleset).
//
// Contract:
// - remove_from(source) deletes every entry whose ORIGINAL-direction source address is inside
//   `source` (IPv4 or IPv6; a host prefix is one address), in every zone, and returns how many the
//   kernel deleted. Entries that vanish between the dump and the delete (expired, removed by
//   someone else) are not counted and are not an error. Nothing to remove returns 0.
// - Work per call: one dump, filtered in the kernel by source address for a host prefix (kernel
//   >= 5.8; older kernels ignore the filter and picket filters the family's dump itself), then the
//   deletes, batched many per sendmsg. Never a process per entry. Every wait is bounded (socket
//   receive timeout), so a call cannot hang.
// - Errors name the operation and keep the errno text ("conntrack: dump 198.18.0.2: Operation not
//   permitted"); after a failed delete the remaining deletes are still attempted.
// - The cleaner acts in the network namespace it was opened in. One thread at a time.
#pragma once

#include <cstdint>
#include <memory>

#include "core/ip_address.hpp"
#include "core/result.hpp"

namespace picket::enforce::conntrack {

// What the cleaner needs from the kernel; open() uses the netlink one, tests pass a fake.
class ConntrackTable {
 public:
  virtual ~ConntrackTable() = default;
  virtual core::Result<uint64_t> remove_from(const core::Prefix& source) = 0;
};

class ConntrackCleaner {
 public:
  // A ctnetlink socket in the caller's network namespace. Fails only when netlink is unavailable;
  // missing privileges show up on the first remove_from() (EPERM).
  static core::Result<ConntrackCleaner> open();

  explicit ConntrackCleaner(std::unique_ptr<ConntrackTable> table) : table_(std::move(table)) {}

  // The source must have a family; a prefix of length 0 is refused (it would wipe the whole
  // family's table, never what a ban means).
  core::Result<uint64_t> remove_from(const core::Prefix& source);

 private:
  std::unique_ptr<ConntrackTable> table_;
};

}  // namespace picket::enforce::conntrack

// What picket creates inside its own nftables table, as netlink messages (libnftnl):
//
//   table inet picket {
//     set ban4      { type ipv4_addr; flags timeout; }            host bans
//     set ban6      { type ipv6_addr; flags timeout; }
//     set ban_net4  { type ipv4_addr; flags interval,timeout; }   prefix bans
//     set ban_net6  { type ipv6_addr; flags interval,timeout; }
//     map ratelimit4 { type ipv4_addr . inet_proto . inet_service : limit; flags timeout; }
//     map ratelimit6 { type ipv6_addr . inet_proto . inet_service : limit; flags timeout; }
//     chain prerouting { type filter hook prerouting priority raw; policy accept; ...drop rules... }
//     ...and the scan trap's sets and its postrouting chain (scan_trap.hpp)
//   }
//
// docs/enforcement.md shows the full `nft list table inet picket` output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct nlmsghdr;

namespace picket::enforce::nftables {

class Transaction;
struct ScanTrap;

inline constexpr std::string_view kSetBan4 = "ban4";
inline constexpr std::string_view kSetBan6 = "ban6";
inline constexpr std::string_view kSetBanNet4 = "ban_net4";
inline constexpr std::string_view kSetBanNet6 = "ban_net6";
inline constexpr std::string_view kMapRate4 = "ratelimit4";
inline constexpr std::string_view kMapRate6 = "ratelimit6";
inline constexpr std::string_view kChain = "prerouting";
// NF_IP_PRI_RAW: before connection tracking (-200), so packets of established flows are dropped
// too and a banned source never creates conntrack entries.
inline constexpr int kChainPriority = -300;
// Packets a rate limit lets through at once above the rate (nft's default burst).
inline constexpr uint32_t kRateBurst = 5;
// Rules in the prerouting chain (init() flushes and re-adds them, so they are never doubled).
inline constexpr size_t kRuleCount = 10;

// Table, sets, maps and chains (created if missing, kept if present), then the chains' rules
// replaced by picket's (flush + add), and the scan trap set up as `trap` says, all in `tx`.
void append_init(Transaction& tx, std::string_view table, const ScanTrap& trap);
void append_delete_table(Transaction& tx, std::string_view table, uint16_t type, bool may_be_absent);

// A limit object ("rate over N/second burst 5 packets") for a rate-limit map element.
void append_new_limit(Transaction& tx, std::string_view table, std::string_view name, uint32_t rate_per_second);
void append_delete_limit(Transaction& tx, std::string_view table, std::string_view name, uint16_t type,
                         bool may_be_absent);

struct LimitObject {
  std::string name;
  uint64_t rate = 0;
};
std::vector<uint8_t> build_get_limits(uint32_t seq, std::string_view table);
std::optional<LimitObject> parse_limit(const nlmsghdr& nlh);

// "rl_198.18.0.1_tcp_80_1712345678": the limit object's name for a rate limit. `tag` makes each
// application's object new: an expired map element keeps referencing its object until the kernel's
// garbage collector runs, so a name is never reused.
std::string limit_name(std::string_view address, uint8_t proto, uint16_t port, uint32_t tag);

}  // namespace picket::enforce::nftables

// NftablesEnforcer: bans in picket's own nftables table (`inet picket`), applied over netlink in
// one transaction per apply() call. See ruleset.hpp for what the table holds, NOTES.md for the
// design and docs/enforcement.md for operators.
//
// - Host bans go to the hash sets ban4/ban6, prefix bans to the interval sets ban_net4/ban_net6,
//   each element with a timeout equal to the ban's duration, so the kernel expires bans itself.
//   Element comments carry the detector's name (visible in `nft list`, returned by list()).
// - Rate limits are elements of the maps ratelimit4/ratelimit6 (key: address . proto . port,
//   with a timeout) that point to a per-target `limit` object ("rate over N/second burst 5").
//   When the element expires the rule stops matching; the orphaned object is removed by the next
//   apply() with a rate-limit decision, or by init(), flush() and remove().
// - An interval set cannot hold nested prefixes, so picket keeps them disjoint: blocking a prefix
//   replaces the narrower bans it contains; blocking a prefix inside a wider one that is already
//   banned adds nothing (the wider ban covers it; if the narrower one should outlive it, the
//   store's reconciliation re-applies it after the wider one expires). The enforcer keeps a
//   mirror of prefix bans (loaded by init()) for this; prefix sets are small.
// - Re-blocking refreshes the timeout: DESTROY + NEW in the same transaction (Linux >= 6.3). On
//   older kernels (no DESTROY messages) deletes go one element per message and an "absent"
//   answer (ENOENT) is dropped and the transaction retried; there a re-block refreshes the
//   timeout only for decisions with offence > 1 (an escalation), others keep the running timer.
// - Every call is one transaction, atomic in the kernel; a transaction larger than the netlink
//   socket's send buffer raises the buffer (SO_SNDBUFFORCE), it is never split.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ip_address.hpp"
#include "enforce/enforcer.hpp"
#include "enforce/nftables/elements.hpp"
#include "enforce/nftables/netlink.hpp"
#include "enforce/nftables/scan_trap.hpp"

namespace picket::enforce::nftables {

class Transaction;
struct KernelAnswer;

enum class DeleteMode : uint8_t {
  automatic,         // probe at init(): DESTROY when the kernel has it, else delete-and-retry
  destroy,           // DESTROYSETELEM / DESTROYOBJ (Linux >= 6.3)
  delete_and_retry,  // DELSETELEM one element per message, ENOENT dropped and retried (older kernels)
};

struct NftablesOptions {
  std::string table = "picket";  // always family inet
  DeleteMode delete_mode = DeleteMode::automatic;
};

struct NftablesStats {
  uint64_t transactions = 0;     // committed
  uint64_t messages = 0;         // netlink messages in committed transactions
  uint64_t elements_added = 0;
  uint64_t elements_removed = 0; // destroy/delete requests (present or not)
  uint64_t retries = 0;          // transactions resent without absent deletes
  uint64_t prefixes_covered = 0; // prefix blocks skipped because a wider ban covers them
};

class NftablesEnforcer final : public Enforcer {
 public:
  NftablesEnforcer(NftablesOptions options, std::unique_ptr<NetlinkSocket> socket);
  // Out of line: an inlined one trips GCC 12's -Wfree-nonheap-object inside Result<unique_ptr<>>.
  ~NftablesEnforcer() override;
  // With a netlink socket in the calling thread's network namespace.
  static core::Result<std::unique_ptr<NftablesEnforcer>> open(NftablesOptions options = {});

  std::string_view name() const noexcept override { return "nftables"; }
  core::Result<void> init() override;
  core::Result<void> apply(std::span<const core::Decision> batch) override;
  core::Result<std::vector<core::Ban>> list() const override;
  core::Result<std::vector<RateLimit>> list_rate_limits() const override;
  core::Result<void> flush() override;
  core::Result<void> remove() override;

  // The scan trap (scan_trap.hpp). Takes effect at once when initialised (one transaction
  // replacing the trap's rules and exempt sets), else at init(); flush() keeps it.
  core::Result<void> set_scan_trap(ScanTrap trap);
  const ScanTrap& scan_trap() const noexcept { return trap_; }
  // Why init() left the trap off although it was asked for (the kernel refused it); empty if not.
  const std::string& scan_trap_error() const noexcept { return trap_error_; }
  // Sources the trap holds now, with the time left (Ban::detector "scan_trap").
  core::Result<std::vector<core::Ban>> list_trapped() const;

  const NftablesStats& stats() const noexcept { return stats_; }
  // Which delete messages are in use (known after init()).
  bool uses_destroy() const noexcept { return use_destroy_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct PrefixState {
    std::optional<Clock::time_point> expires;  // nullopt = no timeout
    uint64_t timeout_ms = 0;
    std::string comment;
    bool touched = false;                      // (re)added by this batch
  };
  using Mirror = std::map<core::Prefix, PrefixState>;

  core::Result<void> run(Transaction tx);
  core::Error kernel_error(const Transaction& tx, const std::vector<KernelAnswer>& answers) const;
  // Dumps one set's elements; a missing table or set is an empty set.
  core::Result<std::vector<ParsedElement>> dump_set(std::string_view set) const;
  core::Result<void> load_prefix_mirror();
  core::Result<void> probe_destroy();
  // Limit objects and the live rate-limit map elements that point to them.
  struct LimitState {
    std::unordered_map<std::string, uint64_t> rate_of;            // object name -> rate
    std::unordered_map<std::string, std::string> object_of_key;   // element key bytes -> object name
    std::vector<ParsedElement> elements[2];                       // ratelimit4, ratelimit6
  };
  core::Result<LimitState> read_limits() const;
  // Deletes every limit object no live element points to, plus those in `released` (their
  // elements are deleted by the same transaction). One still held by an expired element the kernel
  // has not collected answers EBUSY; that delete is dropped and the object goes next time.
  void append_limit_garbage(Transaction& tx, const LimitState& state,
                            const std::unordered_set<std::string>& released) const;
  core::Result<void> collect_limit_garbage();
  void plan_prefix_block(Mirror& m, const core::Prefix& p, PrefixState state);
  Transaction new_transaction() const;
  uint32_t take_seq() const noexcept;

  NftablesOptions options_;
  std::unique_ptr<NetlinkSocket> socket_;
  bool use_destroy_ = false;
  bool initialised_ = false;
  Mirror prefixes_;
  ScanTrap trap_;
  std::string trap_error_;
  NftablesStats stats_;
  mutable uint32_t seq_;
};

}  // namespace picket::enforce::nftables

// Policy: turns findings into decisions. Per detector an action (alert, block, or — for spoofed
// floods — an aggregate mitigation), a scope (the address, or its prefix) and a ban duration;
// longer bans for repeat offenders; an allowlist that is never blocked; and spoof-awareness:
// aggregate findings never ban a source.
//
// Deterministic: decisions depend only on the findings, their packet time and the history, so a
// replayed capture shows the decisions the daemon would have made.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/config.hpp"
#include "core/decision.hpp"
#include "core/ip_address.hpp"
#include "detect/finding.hpp"

namespace picket::policy {

void declare_config(config::Schema& schema);

enum class Action : uint8_t { alert, block, mitigate };
enum class Scope : uint8_t { address, prefix };

struct DetectorPolicy {
  Action action = Action::alert;
  Scope scope = Scope::address;
  int prefix_v4 = 24;
  int prefix_v6 = 64;
  core::Duration duration = core::Duration::minutes(10);
};

struct PolicySettings {
  bool dry_run = false;  // policy.mode: ids — decisions are events only
  std::map<std::string, DetectorPolicy, std::less<>> detectors;
  double escalation_factor = 2.0;
  core::Duration max_duration = core::Duration::seconds(86400);
  core::Duration forgive_after = core::Duration::seconds(86400);
  std::vector<core::Prefix> allowlist;
  uint32_t mitigation_rate = 100;  // new connections per second to a flooded port
  core::Duration mitigation_duration = core::Duration::minutes(10);

  // `home_net` (engine.home_net) is allowlisted too: picket never bans what it protects.
  static PolicySettings from_config(const config::Config& cfg);
};

// Where repeat offences are counted: the store in the daemon, memory in a replay.
class OffenderHistory {
 public:
  virtual ~OffenderHistory() = default;
  // Bans of `target` before now that have not been forgiven (none in the last forgive_after).
  virtual uint32_t prior_offences(const core::Prefix& target, core::Timestamp now, core::Duration forgive_after) = 0;
  virtual void record_ban(const core::Prefix& target, core::Timestamp now) = 0;
};

class MemoryHistory : public OffenderHistory {
 public:
  uint32_t prior_offences(const core::Prefix& target, core::Timestamp now, core::Duration forgive_after) override;
  void record_ban(const core::Prefix& target, core::Timestamp now) override;

 private:
  struct Entry {
    uint32_t count = 0;
    core::Timestamp last;
  };
  std::map<core::Prefix, Entry> entries_;
};

struct Verdict {
  std::optional<core::Decision> decision;
  bool allowlisted = false;       // the offender is on the allowlist: alert only
  bool already_active = false;    // a decision for this target is still in force
};

class Policy {
 public:
  Policy(PolicySettings settings, OffenderHistory& history);

  // Addresses added at run time (the host's own, its gateways).
  void allow(const core::Prefix& p);
  bool is_allowlisted(const core::IpAddress& a) const noexcept;
  bool is_allowlisted(const core::Prefix& p) const noexcept;

  Verdict decide(const detect::Finding& f, core::Timestamp now);
  // Forgets that `target` is banned (after an unblock).
  void forget(const core::Prefix& target);
  // Forgets every decision in force (after `picket unban --all`).
  void forget_all() { active_.clear(); }
  // Decisions (blocks and rate limits) policy believes are still in force at `now`.
  size_t in_force_count(core::Timestamp now) const;
  // Remembers a decision still in force from before a restart (the store's active rows), so a
  // returning offender is not decided on again while its ban lasts. `until` nullopt: no expiry.
  void restore(const core::Decision& d, std::optional<core::Timestamp> until);

  const PolicySettings& settings() const noexcept { return settings_; }

 private:
  using ActiveKey = std::tuple<core::Prefix, uint16_t, uint8_t>;
  core::Duration escalate(core::Duration base, uint32_t prior) const noexcept;
  bool in_force(const ActiveKey& key, core::Timestamp now);

  PolicySettings settings_;
  OffenderHistory& history_;
  // Decisions still in force, by target (for a rate limit: target address plus port/proto).
  std::map<ActiveKey, core::Timestamp> active_;
  size_t swept_size_ = 0;
};

}  // namespace picket::policy

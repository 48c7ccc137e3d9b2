#include "policy/policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace picket::policy {

using core::Duration;

namespace {

struct DetectorDefaults {
  const char* name;
  const char* action;  // alert | block | mitigate
  const char* scope;
  int64_t duration_s;
  const char* seed_note;
};

// What each detector's findings lead to by default.
constexpr DetectorDefaults kDefaults[] = {
    {"syn_flood", "block", "address", 600, "seed 004: blocks the source"},
    {"spoofed_flood", "mitigate", "address", 600, ""},
    {"conn_rate", "block", "address", 300, "seed 001: COOLDOWN 300 s"},
    {"subnet_conn", "block", "prefix", 600, "seed 000: blocks the whole subnet"},
    {"port_scan", "block", "address", 600, "seed 002: BLOCK_DURATION 10 min"},
    {"distributed_scan", "alert", "address", 600, ""},
    {"large_packet", "alert", "address", 600, "seed 004: logs a warning"},
    {"blocklist", "block", "address", 3600, ""},
};

Action parse_action(std::string_view s) {
  return s == "block" ? Action::block : s == "mitigate" ? Action::mitigate : Action::alert;
}

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "policy");
  s.choice("mode", "ips", {"ips", "ids"},
           "ips: decisions are enforced in the kernel; ids: decisions are written as events only (dry run)");
  s.address_list("allowlist", {"127.0.0.0/8", "::1"}, 100'000,
                 "Addresses and prefixes never blocked (their alerts are still written, marked allowlisted). "
                 "engine.home_net is always allowlisted too",
                 "seed 002: TRUSTED_IPS");
  s.number("escalation_factor", 2.0, 1.0, 100.0,
           "Repeat offenders: each earlier ban (not yet forgiven) multiplies the duration by this");
  s.duration("max_duration", Duration::seconds(86400), Duration::seconds(1), Duration::seconds(int64_t{365} * 86400),
             "Longest ban escalation can reach");
  s.duration("forgive_after", Duration::seconds(86400), Duration::seconds(1), Duration::seconds(int64_t{365} * 86400),
             "An offender with no ban for this long starts again from the base duration");
  s.integer("mitigation_rate", 100, 1, 10'000'000,
            "Spoofed floods: new connections per second let through to the flooded address and port");
  s.duration("mitigation_duration", Duration::minutes(10), Duration::seconds(1), Duration::seconds(86400),
             "How long an aggregate mitigation (rate limit) lasts");
  for (const auto& d : kDefaults) {
    config::SchemaSection ds(schema, fmt::format("policy.{}", d.name));
    const bool mitigable = std::string_view(d.name) == "spoofed_flood";
    ds.choice("action", d.action, mitigable ? std::vector<std::string>{"alert", "mitigate"}
                                            : std::vector<std::string>{"alert", "block"},
              mitigable ? "alert: report only; mitigate: rate-limit new connections to the target (never a per-source ban)"
                        : "alert: report only; block: ban the offender in the kernel",
              d.seed_note);
    ds.choice("scope", d.scope, {"address", "prefix"},
              "Ban the offending address, or its whole prefix (prefix_v4 / prefix_v6)");
    ds.integer("prefix_v4", 24, 8, 32, "Prefix length banned for IPv4 when scope is prefix");
    ds.integer("prefix_v6", 64, 16, 128, "Prefix length banned for IPv6 when scope is prefix");
    ds.duration("duration", Duration::seconds(d.duration_s), Duration::seconds(1), Duration::seconds(int64_t{365} * 86400),
                "Ban duration for a first offence", d.seed_note);
  }
}

PolicySettings PolicySettings::from_config(const config::Config& cfg) {
  PolicySettings s;
  s.dry_run = cfg.string("policy.mode") == "ids";
  s.allowlist = cfg.prefixes("policy.allowlist");
  for (const auto& p : cfg.prefixes("engine.home_net")) s.allowlist.push_back(p);
  s.escalation_factor = cfg.number("policy.escalation_factor");
  s.max_duration = cfg.duration("policy.max_duration");
  s.forgive_after = cfg.duration("policy.forgive_after");
  s.mitigation_rate = static_cast<uint32_t>(cfg.integer("policy.mitigation_rate"));
  s.mitigation_duration = cfg.duration("policy.mitigation_duration");
  for (const auto& d : kDefaults) {
    const std::string base = fmt::format("policy.{}.", d.name);
    DetectorPolicy p;
    p.action = parse_action(cfg.string(base + "action"));
    p.scope = cfg.string(base + "scope") == "prefix" ? Scope::prefix : Scope::address;
    p.prefix_v4 = static_cast<int>(cfg.integer(base + "prefix_v4"));
    p.prefix_v6 = static_cast<int>(cfg.integer(base + "prefix_v6"));
    p.duration = cfg.duration(base + "duration");
    s.detectors.emplace(d.name, p);
  }
  return s;
}

uint32_t MemoryHistory::prior_offences(const core::Prefix& target, core::Timestamp now, Duration forgive_after) {
  auto it = entries_.find(target);
  if (it == entries_.end()) return 0;
  if (now - it->second.last >= forgive_after) {
    entries_.erase(it);
    return 0;
  }
  return it->second.count;
}

void MemoryHistory::record_ban(const core::Prefix& target, core::Timestamp now) {
  Entry& e = entries_[target];
  ++e.count;
  e.last = now;
}

Policy::Policy(PolicySettings settings, OffenderHistory& history) : settings_(std::move(settings)), history_(history) {}

void Policy::allow(const core::Prefix& p) { settings_.allowlist.push_back(p); }

bool Policy::is_allowlisted(const core::IpAddress& a) const noexcept {
  return std::any_of(settings_.allowlist.begin(), settings_.allowlist.end(),
                     [&](const core::Prefix& p) { return p.contains(a); });
}

bool Policy::is_allowlisted(const core::Prefix& target) const noexcept {
  // A prefix ban is refused when it would cover any allowlisted address or prefix, not only
  // when its first address is listed.
  return std::any_of(settings_.allowlist.begin(), settings_.allowlist.end(), [&](const core::Prefix& p) {
    if (p.address().family() != target.address().family()) return false;
    return p.length() >= target.length() ? target.contains(p.address()) : p.contains(target.address());
  });
}

Duration Policy::escalate(Duration base, uint32_t prior) const noexcept {
  double ns = static_cast<double>(base.ns) * std::pow(settings_.escalation_factor, static_cast<double>(prior));
  const double cap = static_cast<double>(std::max(settings_.max_duration.ns, base.ns));
  return Duration{static_cast<int64_t>(std::min(ns, cap))};
}

void Policy::forget(const core::Prefix& target) { active_.erase({target, 0, 0}); }

size_t Policy::in_force_count(core::Timestamp now) const {
  return static_cast<size_t>(std::count_if(active_.begin(), active_.end(), [&](const auto& kv) { return kv.second > now; }));
}

void Policy::restore(const core::Decision& d, std::optional<core::Timestamp> until) {
  const core::Timestamp end = until.value_or(core::Timestamp{std::numeric_limits<int64_t>::max()});
  if (d.action == core::DecisionAction::rate_limit) active_[{d.target, d.port, d.proto}] = end;
  else if (d.action == core::DecisionAction::block) active_[{d.target, 0, 0}] = end;
}

bool Policy::in_force(const ActiveKey& key, core::Timestamp now) {
  // Expired decisions leave lazily: the one asked about now, and all of them whenever the map
  // has doubled since the last sweep (so it stays proportional to what is really in force).
  if (active_.size() >= 2 * swept_size_ + 64) {
    for (auto a = active_.begin(); a != active_.end();) a = a->second <= now ? active_.erase(a) : std::next(a);
    swept_size_ = active_.size();
  }
  auto it = active_.find(key);
  if (it == active_.end()) return false;
  if (it->second > now) return true;
  active_.erase(it);  // its time is up: a returning offender is decided on again
  return false;
}

Verdict Policy::decide(const detect::Finding& f, core::Timestamp now) {
  Verdict v;
  auto it = settings_.detectors.find(f.detector);
  if (it == settings_.detectors.end()) return v;
  const DetectorPolicy& dp = it->second;

  if (dp.action == Action::mitigate) {
    // Aggregate mitigation protects the target; it never names a source.
    if (f.target.empty() || !f.target_port || (f.proto != 6 && f.proto != 17)) return v;
    const core::Prefix target(f.target, f.target.bit_width());
    const auto key = std::make_tuple(target, *f.target_port, f.proto);
    if (in_force(key, now)) {
      v.already_active = true;
      return v;
    }
    core::Decision d;
    d.action = core::DecisionAction::rate_limit;
    d.target = target;
    d.port = *f.target_port;
    d.proto = f.proto;
    d.rate_per_second = settings_.mitigation_rate;
    d.duration = settings_.mitigation_duration;
    d.decided_at = now;
    d.detector = std::string(f.detector);
    d.reason = fmt::format("{}: limit new connections to {} port {} to {}/s", f.detector, f.target.to_string(),
                           *f.target_port, settings_.mitigation_rate);
    active_[key] = now + d.duration;
    v.decision = std::move(d);
    return v;
  }
  if (dp.action != Action::block || f.aggregate) return v;  // spoof-aware: aggregate evidence bans nobody

  std::optional<core::Prefix> target;
  if (f.source_prefix) {
    target = *f.source_prefix;
  } else if (!f.source.empty()) {
    target = dp.scope == Scope::prefix ? core::Prefix(f.source, f.source.is_v6() ? dp.prefix_v6 : dp.prefix_v4)
                                       : core::Prefix(f.source, f.source.bit_width());
  }
  if (!target) return v;
  if (is_allowlisted(*target)) {
    v.allowlisted = true;
    return v;
  }
  const auto key = std::make_tuple(*target, uint16_t{0}, uint8_t{0});
  if (in_force(key, now)) {
    v.already_active = true;
    return v;
  }
  const uint32_t prior = history_.prior_offences(*target, now, settings_.forgive_after);
  core::Decision d;
  d.action = core::DecisionAction::block;
  d.target = *target;
  d.duration = escalate(dp.duration, prior);
  d.decided_at = now;
  d.offence = prior + 1;
  d.detector = std::string(f.detector);
  d.reason = f.signature;
  history_.record_ban(*target, now);
  active_[key] = now + d.duration;
  v.decision = std::move(d);
  return v;
}

}  // namespace picket::policy

#include "enforce/dry_run/dry_run_enforcer.hpp"

namespace picket::enforce {

core::Result<void> DryRunEnforcer::apply(std::span<const core::Decision> batch) {
  for (const auto& d : batch) {
    if (auto ok = validate_decision(d); !ok) return ok.error();
  }
  for (const auto& d : batch) {
    if (d.decided_at > now_) now_ = d.decided_at;
    applied_.push_back(d);
    const bool limit = d.action == core::DecisionAction::rate_limit || d.action == core::DecisionAction::unrate_limit;
    const auto key = std::make_tuple(d.target, limit ? d.port : uint16_t{0}, limit ? d.proto : uint8_t{0});
    switch (d.action) {
      case core::DecisionAction::block:
      case core::DecisionAction::rate_limit:
        held_[key] = Held{d.duration.ns == 0 ? core::Timestamp{} : d.decided_at + d.duration, d.detector, d.reason,
                          d.offence, d.rate_per_second};
        break;
      case core::DecisionAction::unblock:
      case core::DecisionAction::unrate_limit:
        held_.erase(key);
        break;
    }
  }
  return {};
}

void DryRunEnforcer::expire() const {
  for (auto it = held_.begin(); it != held_.end();) {
    const bool timed = it->second.until.ns != 0;
    it = timed && it->second.until <= now_ ? held_.erase(it) : std::next(it);
  }
}

core::Result<std::vector<core::Ban>> DryRunEnforcer::list() const {
  expire();
  std::vector<core::Ban> out;
  for (const auto& [key, h] : held_) {
    if (std::get<1>(key) != 0 || std::get<2>(key) != 0) continue;
    core::Ban b;
    b.target = std::get<0>(key);
    b.remaining = h.until.ns == 0 ? core::Duration{} : h.until - now_;
    b.detector = h.detector;
    b.reason = h.reason;
    b.offence = h.offence;
    out.push_back(std::move(b));
  }
  return out;
}

core::Result<std::vector<RateLimit>> DryRunEnforcer::list_rate_limits() const {
  expire();
  std::vector<RateLimit> out;
  for (const auto& [key, h] : held_) {
    if (std::get<1>(key) == 0 && std::get<2>(key) == 0) continue;
    RateLimit r;
    r.target = std::get<0>(key);
    r.port = std::get<1>(key);
    r.proto = std::get<2>(key);
    r.rate_per_second = h.rate;
    r.remaining = h.until.ns == 0 ? core::Duration{} : h.until - now_;
    out.push_back(r);
  }
  return out;
}

core::Result<void> DryRunEnforcer::flush() {
  held_.clear();
  return {};
}

}  // namespace picket::enforce

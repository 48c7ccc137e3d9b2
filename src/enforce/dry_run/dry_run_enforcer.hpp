// DryRunEnforcer: records what it would do and touches nothing. Used by `picket replay` (the
// decisions a capture would have caused), by IDS mode (policy.mode: ids) and by tests.
//
// Its clock is the decisions' own time (Decision::decided_at), so in a replay bans expire in
// packet time, exactly as the kernel would have expired them.
#pragma once

#include <map>
#include <tuple>
#include <vector>

#include "enforce/enforcer.hpp"

namespace picket::enforce {

class DryRunEnforcer : public Enforcer {
 public:
  std::string_view name() const noexcept override { return "dry-run"; }
  core::Result<void> init() override { return {}; }
  core::Result<void> apply(std::span<const core::Decision> batch) override;
  core::Result<std::vector<core::Ban>> list() const override;
  core::Result<std::vector<RateLimit>> list_rate_limits() const override;
  core::Result<void> flush() override;
  core::Result<void> remove() override { return flush(); }

  // Every decision applied so far, in order.
  const std::vector<core::Decision>& applied() const noexcept { return applied_; }

 private:
  struct Held {
    core::Timestamp until;  // Timestamp{} = no timeout
    std::string detector;
    std::string reason;
    uint32_t offence = 1;
    uint32_t rate = 0;
  };
  void expire() const;

  std::vector<core::Decision> applied_;
  // (target, port, proto): port/proto are 0 for bans.
  mutable std::map<std::tuple<core::Prefix, uint16_t, uint8_t>, Held> held_;
  core::Timestamp now_;
};

}  // namespace picket::enforce

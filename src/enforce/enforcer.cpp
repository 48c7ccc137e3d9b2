#include "enforce/enforcer.hpp"

#include <fmt/format.h>

namespace picket::enforce {

namespace {

bool is_rate_action(core::DecisionAction a) {
  return a == core::DecisionAction::rate_limit || a == core::DecisionAction::unrate_limit;
}

}  // namespace

std::string describe_decision(const core::Decision& d) {
  std::string target = d.target.address().empty() ? std::string("<no address>") : d.target.to_string();
  std::string out = fmt::format("{} {}", core::decision_action_name(d.action), target);
  if (is_rate_action(d.action)) {
    out += fmt::format(" port {} proto {}", d.port, d.proto);
    if (d.action == core::DecisionAction::rate_limit) out += fmt::format(" at {}/s", d.rate_per_second);
  }
  if (d.action == core::DecisionAction::block || d.action == core::DecisionAction::rate_limit) {
    out += d.duration.ns == 0 ? std::string(" without timeout") : fmt::format(" for {}", core::format_duration(d.duration));
  }
  return out;
}

core::Result<void> validate_decision(const core::Decision& d) {
  auto fail = [&](std::string_view why) { return core::make_error(fmt::format("{}: {}", describe_decision(d), why)); };
  switch (d.action) {
    case core::DecisionAction::block:
    case core::DecisionAction::unblock:
    case core::DecisionAction::rate_limit:
    case core::DecisionAction::unrate_limit:
      break;
    default:
      return fail(fmt::format("unknown action {}", static_cast<int>(d.action)));
  }
  if (d.target.address().empty()) return fail("the target has no address");
  if (d.target.length() < 0 || d.target.length() > d.target.address().bit_width()) {
    return fail("the prefix length is out of range");
  }
  if (d.duration.ns < 0) return fail("negative duration");
  if (d.duration > kMaxBanDuration) return fail("duration above 10 years");
  if (is_rate_action(d.action)) {
    if (!d.target.is_host()) return fail("a rate limit protects one address, not a prefix");
    if (d.proto != 6 && d.proto != 17) return fail(fmt::format("proto {} is not TCP (6) or UDP (17)", d.proto));
    if (d.port == 0) return fail("port 0");
    if (d.action == core::DecisionAction::rate_limit && d.rate_per_second == 0) return fail("rate 0 per second");
  }
  return {};
}

}  // namespace picket::enforce

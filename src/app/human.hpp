// Numbers and durations as the operator commands (status, bans, top) show them.
#pragma once

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/time.hpp"

namespace picket::app {

// 1234567 -> "1.2M": counts and rates in a few characters.
inline std::string human_count(double v) {
  if (v >= 1e9) return fmt::format("{:.1f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

// Seconds from a control reply ("remaining", "uptime", "duration") -> "9m58s"; null -> "never".
inline std::string human_duration(const nlohmann::ordered_json& seconds) {
  if (seconds.is_null()) return "never";
  return core::format_duration(core::Duration::seconds(static_cast<int64_t>(seconds.get<double>() + 0.5)));
}

}  // namespace picket::app

#include "core/time.hpp"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace picket::core {

std::string format_iso8601(Timestamp t) {
  int64_t sec = t.ns / 1'000'000'000;
  int64_t rem = t.ns % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --sec;
  }
  std::time_t tt = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}+0000", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem / 1000);
}

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || n < 0) return std::nullopt;
  std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  int64_t mult = 0;
  if (unit.empty() || unit == "s") mult = 1'000'000'000;
  else if (unit == "ms") mult = 1'000'000;
  else if (unit == "us") mult = 1'000;
  else if (unit == "m") mult = 60LL * 1'000'000'000;
  else if (unit == "h") mult = 3600LL * 1'000'000'000;
  else if (unit == "d") mult = 86400LL * 1'000'000'000;
  else return std::nullopt;
  if (n > INT64_MAX / mult) return std::nullopt;
  return Duration{n * mult};
}

std::string format_duration(Duration d) {
  struct Unit { int64_t ns; const char* name; };
  static constexpr Unit kUnits[] = {{86400LL * 1'000'000'000, "d"}, {3600LL * 1'000'000'000, "h"},
                                    {60LL * 1'000'000'000, "m"},    {1'000'000'000, "s"},
                                    {1'000'000, "ms"},              {1'000, "us"}};
  if (d.ns == 0) return "0s";
  for (const auto& u : kUnits) {
    if (d.ns % u.ns == 0) return fmt::format("{}{}", d.ns / u.ns, u.name);
  }
  return fmt::format("{}ns", d.ns);
}

}  // namespace picket::core

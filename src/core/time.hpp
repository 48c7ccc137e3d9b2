// Timestamp and Duration: nanoseconds, as logical types. Detectors never read the wall clock:
// time is an input carried by each packet ("virtual time").
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace picket::core {

struct Duration {
  int64_t ns = 0;

  static constexpr Duration nanos(int64_t n) noexcept { return {n}; }
  static constexpr Duration micros(int64_t n) noexcept { return {n * 1'000}; }
  static constexpr Duration millis(int64_t n) noexcept { return {n * 1'000'000}; }
  static constexpr Duration seconds(int64_t n) noexcept { return {n * 1'000'000'000}; }
  static constexpr Duration minutes(int64_t n) noexcept { return seconds(n * 60); }

  constexpr double to_seconds() const noexcept { return static_cast<double>(ns) / 1e9; }
  constexpr int64_t whole_seconds() const noexcept { return ns / 1'000'000'000; }
  constexpr auto operator<=>(const Duration&) const noexcept = default;
  constexpr Duration operator+(Duration o) const noexcept { return {ns + o.ns}; }
  constexpr Duration operator-(Duration o) const noexcept { return {ns - o.ns}; }
  constexpr Duration operator*(int64_t k) const noexcept { return {ns * k}; }
};

struct Timestamp {
  int64_t ns = 0;  // since the Unix epoch, UTC

  static constexpr Timestamp from_parts(int64_t sec, int64_t nsec) noexcept {
    return {sec * 1'000'000'000 + nsec};
  }
  constexpr int64_t seconds() const noexcept { return ns / 1'000'000'000; }
  constexpr int64_t subsec_ns() const noexcept { return ns % 1'000'000'000; }
  constexpr auto operator<=>(const Timestamp&) const noexcept = default;
  constexpr Timestamp operator+(Duration d) const noexcept { return {ns + d.ns}; }
  constexpr Timestamp operator-(Duration d) const noexcept { return {ns - d.ns}; }
  constexpr Duration operator-(Timestamp o) const noexcept { return {ns - o.ns}; }
};

// "2026-11-21T20:21:50.123456+0000" — ISO 8601, microseconds, UTC offset (Suricata EVE style).
std::string format_iso8601(Timestamp t);

// Parses "300", "300s", "250ms", "10m", "1h", "2d" (a bare number means seconds).
std::optional<Duration> parse_duration(std::string_view text);
// The shortest exact spelling: "300s" → "5m", "1500ms" stays "1500ms".
std::string format_duration(Duration d);

}  // namespace picket::core

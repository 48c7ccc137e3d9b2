// A schema that uses every parameter type, for the config tests and the config fuzz target.
// Header-only so that the fuzz target needs nothing beyond picket_config.
#pragma once

#include "config/config.hpp"
#include "config/schema.hpp"

namespace picket::config::testing {

inline Schema make_test_schema() {
  using core::Duration;
  Schema schema;
  SchemaSection top(schema, "");
  top.string("interface", "eth0", "Interface to capture on");

  SchemaSection rate(schema, "detect.conn_rate");
  rate.boolean("enabled", true, "Count new connections per source");
  rate.integer("limit", 50, 1, 1'000'000, "New connections allowed per window", "seed 001: RATE_LIMIT 50")
      .aggressive(20)
      .paranoid(10);
  rate.duration("window", Duration::seconds(10), Duration::seconds(1), Duration::minutes(60),
                "Length of the counting window", "seed 001: TIME_WINDOW 10")
      .paranoid(Duration::seconds(30));
  rate.number("burst_factor", 1.5, 1.0, 10.0, "Multiplier allowed for short bursts").aggressive(1.2);

  SchemaSection scan(schema, "detect.port_scan");
  scan.port_list("watched_ports", {"22", "80", "443", "1000-2000"}, 64, "Ports whose probes count as scanning",
                 "seed 004: SCAN_PORTS 22,80,443")
      .paranoid({"1-65535"});
  scan.choice("mode", "syn", {"syn", "connect", "both"}, "Which handshakes count as probes").paranoid("both");

  SchemaSection policy(schema, "policy");
  policy.address_list("trusted", {"127.0.0.0/8", "::1"}, 16, "Addresses never banned", "seed 002: TRUSTED_IPS");
  policy.string_list("notify", {}, 4, "Alert channels").aggressive({"log"}).paranoid({"log", "webhook"});
  policy.section("ban").duration("duration", Duration::minutes(10), Duration::seconds(1), Duration::seconds(86400 * 30),
                                 "How long a ban lasts", "seed 002: BLOCK_DURATION 10 min");
  return schema;
}

// The value `c` holds for `d`, read through the typed getter for its type.
inline Value value_of(const Config& c, const ParamDecl& d) {
  switch (d.type) {
    case ParamType::boolean: return c.boolean(d.path);
    case ParamType::integer: return c.integer(d.path);
    case ParamType::number: return c.number(d.path);
    case ParamType::string:
    case ParamType::choice: return c.string(d.path);
    case ParamType::duration: return c.duration(d.path);
    case ParamType::string_list:
    case ParamType::address_list:
    case ParamType::port_list: return c.list(d.path);
  }
  return false;
}

}  // namespace picket::config::testing

// Prometheus metrics and a health answer, made from the daemon's `status` JSON (docs/control.md).
//
// The daemon owns the numbers; this library only renders a Snapshot of them. The daemon's thread
// builds a Snapshot and hands it to MetricsServer::publish (server.hpp); the HTTP thread renders
// the latest one on each scrape. Nothing here reads daemon state directly.
//
// Contract of render_prometheus:
// - Output is the Prometheus text exposition format 0.0.4: per family one `# HELP` and one
//   `# TYPE` line, then its samples; counters end in `_total`, units are in the names.
// - A family whose numbers are absent from the snapshot (no capture, no connection table) is left
//   out entirely; a field that is not a number is skipped, never guessed. A malformed latency
//   histogram (bounds not increasing, counts not cumulative, wrong length) is left out.
// - Label values are escaped (\\, \", \n); bytes that are not valid UTF-8 become U+FFFD, so any
//   interface or detector name gives a parseable line. Two names that become equal after that
//   keep only the first series (a duplicate series would make Prometheus reject the scrape).
// - Pure: no I/O, no clock; the same snapshot always gives the same text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "core/result.hpp"
#include "decode/anomaly.hpp"

namespace picket::metrics {

// metrics.enabled (bool, default false in every profile), metrics.listen ("127.0.0.1"),
// metrics.port (9477). Off by default: picket's only other interface is a unix socket with file
// permissions; an HTTP port is reachable by every local user (and, on another address, by the
// network), so opening one is the operator's choice.
void declare_config(config::Schema& schema);

struct Settings {
  bool enabled = false;
  std::string listen = "127.0.0.1";  // an IPv4 or IPv6 address literal
  uint16_t port = 9477;
};
// Reads the keys and checks what the schema cannot: `listen` must be an IP address literal (no
// host names: resolving would make start-up depend on DNS). Error: "metrics.listen: ...".
core::Result<Settings> parse_settings(const config::Config& cfg);

struct Snapshot {
  nlohmann::ordered_json status;             // the daemon's `status` JSON (docs/control.md)
  nlohmann::ordered_json latency;            // {"bounds":[0.001,...], "counts":[cumulative per bound..., +Inf last],
                                             //  "sum":s, "count":n}
  nlohmann::ordered_json anomalies_by_name;  // {"ipv4_truncated":3, ...} decode anomalies since start
  nlohmann::ordered_json interfaces;         // {"eth0":{"packets":N,"bytes":B}, ...} (bytes may be absent)
};

// Helpers that build the Snapshot parts from what the daemon holds.
// Every anomaly name, zeros included (a series that appears only on the first anomaly breaks
// rate() over its first interval). Index 0 (none) is skipped.
nlohmann::ordered_json anomalies_json(const std::array<uint64_t, decode::kAnomalyCount>& counts);
// From capture::LiveStats' per_interface_packets and per_interface_bytes (pass {} when unknown).
nlohmann::ordered_json interfaces_json(const std::vector<std::pair<std::string, uint64_t>>& packets,
                                       const std::vector<std::pair<std::string, uint64_t>>& bytes);
// `counts` cumulative per bound with +Inf last (bounds.size() + 1 entries).
nlohmann::ordered_json latency_json(const std::vector<double>& bounds, const std::vector<uint64_t>& counts, double sum,
                                    uint64_t count);

// Text exposition format 0.0.4 (see the contract above).
std::string render_prometheus(const Snapshot& s);
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// /healthz: 200 "ok\n" when status.healthy is true; else 503 with the problems, one per line
// ("unhealthy\n" when the daemon gave none; line breaks inside a problem become spaces).
struct HealthReply {
  int code = 503;
  std::string body;
};
HealthReply health_reply(const Snapshot& s);

}  // namespace picket::metrics

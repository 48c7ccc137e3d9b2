// The metrics.* keys and the Snapshot helpers.
#include "core/ip_address.hpp"
#include "metrics/metrics.hpp"

namespace picket::metrics {

void declare_config(config::Schema& schema) {
  config::SchemaSection m(schema, "metrics");
  m.boolean("enabled", false,
            "Serve Prometheus /metrics and /healthz over HTTP. Off by default: an HTTP port is open to every "
            "local user, unlike the control socket's file permissions");
  m.string("listen", "127.0.0.1",
           "Address the metrics HTTP server binds to (an IP address; 0.0.0.0 or :: exposes it to the network)");
  m.integer("port", 9477, 1, 65535, "TCP port of the metrics HTTP server");
}

core::Result<Settings> parse_settings(const config::Config& cfg) {
  Settings s;
  s.enabled = cfg.boolean("metrics.enabled");
  s.listen = cfg.string("metrics.listen");
  s.port = static_cast<uint16_t>(cfg.integer("metrics.port"));  // the schema keeps it in 1..65535
  if (!core::IpAddress::parse(s.listen)) {
    return core::make_error("metrics.listen: not an IP address: \"" + s.listen + "\" (host names are not resolved)");
  }
  return s;
}

nlohmann::ordered_json anomalies_json(const std::array<uint64_t, decode::kAnomalyCount>& counts) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (size_t i = 1; i < counts.size(); ++i) {
    out[std::string(decode::anomaly_name(static_cast<decode::Anomaly>(i)))] = counts[i];
  }
  return out;
}

nlohmann::ordered_json interfaces_json(const std::vector<std::pair<std::string, uint64_t>>& packets,
                                       const std::vector<std::pair<std::string, uint64_t>>& bytes) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, n] : packets) out[name]["packets"] = n;
  for (const auto& [name, n] : bytes) out[name]["bytes"] = n;
  return out;
}

nlohmann::ordered_json latency_json(const std::vector<double>& bounds, const std::vector<uint64_t>& counts, double sum,
                                    uint64_t count) {
  return {{"bounds", bounds}, {"counts", counts}, {"sum", sum}, {"count", count}};
}

}  // namespace picket::metrics

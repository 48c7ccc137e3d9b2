// render_prometheus and health_reply: the daemon's status JSON as Prometheus text.
#include <cmath>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "metrics/metrics.hpp"

namespace picket::metrics {

namespace {

using Json = nlohmann::ordered_json;
using Labels = std::vector<std::pair<std::string_view, std::string>>;

// Appends `s` with every invalid UTF-8 sequence replaced by U+FFFD, so the exposition (which is
// UTF-8 by definition) stays parseable whatever bytes an interface or detector name holds.
void append_utf8(std::string& out, std::string_view s, bool label) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else if (c == '"' && label)
        out += "\\\"";
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    // Sequence length and the allowed range of its second byte (RFC 3629, no overlongs or surrogates).
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c == 0xE0)
      len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC)
      len = 3;
    else if (c == 0xED)
      len = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF)
      len = 3;
    else if (c == 0xF0)
      len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
      len = 4;
    else if (c == 0xF4)
      len = 4, hi = 0x8F;
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
}

// Shortest text that reads back as the same double; Prometheus spells the specials this way.
std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// A JSON number as sample text; nullopt for anything else (missing, null, a string, ...).
// `non_negative`: counters and sizes, where a negative number is a bug upstream, not a value.
std::optional<std::string> number_text(const Json* v, bool non_negative = true) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return fmt::format("{}", v->get<uint64_t>());
  if (v->is_number_integer()) {
    const auto i = v->get<int64_t>();
    if (non_negative && i < 0) return std::nullopt;
    return fmt::format("{}", i);
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isnan(d) || (non_negative && d < 0)) return std::nullopt;
    return format_double(d);
  }
  if (v->is_boolean()) return std::string(v->get<bool>() ? "1" : "0");
  return std::nullopt;
}

// The member `key` of object `obj`, or null when either is missing.
const Json* member(const Json* obj, std::string_view key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  const auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

// Collects one family's samples, then writes HELP/TYPE and the samples only if there are any.
class Family {
 public:
  Family(std::string name, std::string_view type, std::string_view help)
      : name_(std::move(name)), type_(type), help_(help) {}

  void add(const Labels& labels, const std::optional<std::string>& value, std::string_view suffix = "") {
    if (!value) return;
    std::string line = name_;
    line += suffix;
    std::string label_text;
    if (!labels.empty()) {
      label_text += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i != 0) label_text += ',';
        label_text += labels[i].first;
        label_text += "=\"";
        append_utf8(label_text, labels[i].second, true);
        label_text += '"';
      }
      label_text += '}';
    }
    if (!seen_.insert(std::string(suffix) + label_text).second) return;  // same series twice
    line += label_text;
    line += ' ';
    line += *value;
    line += '\n';
    lines_ += line;
  }

  void write(std::string& out) const {
    if (lines_.empty()) return;
    out += "# HELP " + name_ + ' ';
    append_utf8(out, help_, false);
    out += "\n# TYPE " + name_ + ' ' + std::string(type_) + '\n';
    out += lines_;
  }

 private:
  std::string name_;
  std::string_view type_;
  std::string_view help_;
  std::string lines_;
  std::set<std::string> seen_;
};

// A family with a single unlabelled sample.
void scalar(std::string& out, const char* name, std::string_view type, std::string_view help,
            const std::optional<std::string>& value) {
  Family f(name, type, help);
  f.add({}, value);
  f.write(out);
}

// One sample per member of a JSON object {"name": number}, labelled `label`="name".
void per_key(std::string& out, const char* name, std::string_view type, std::string_view help, const Json* obj,
             std::string_view label) {
  if (obj == nullptr || !obj->is_object()) return;
  Family f(name, type, help);
  for (const auto& [k, v] : obj->items()) f.add({{label, k}}, number_text(&v));
  f.write(out);
}

void render_capture(std::string& out, const Snapshot& s) {
  const Json* cap = member(&s.status, "capture");
  if (const Json* m = member(cap, "method"); m != nullptr && m->is_string()) {
    Family f("picket_capture_info", "gauge", "Capture method in use (afpacket, pcap or none)");
    f.add({{"method", m->get<std::string>()}}, "1");
    f.write(out);
  }
  // Per interface: the snapshot's `interfaces` (packets and bytes) when given, else the status'
  // packet counts.
  Family packets("picket_capture_packets_total", "counter", "Frames captured, per interface");
  Family bytes("picket_capture_bytes_total", "counter", "Wire bytes captured, per interface");
  if (s.interfaces.is_object() && !s.interfaces.empty()) {
    for (const auto& [name, v] : s.interfaces.items()) {
      packets.add({{"interface", name}}, number_text(member(&v, "packets")));
      bytes.add({{"interface", name}}, number_text(member(&v, "bytes")));
    }
  } else if (const Json* ifs = member(cap, "interfaces"); ifs != nullptr && ifs->is_object()) {
    for (const auto& [name, v] : ifs->items()) packets.add({{"interface", name}}, number_text(&v));
  }
  packets.write(out);
  bytes.write(out);
  scalar(out, "picket_capture_kernel_drops_total", "counter",
         "Frames the kernel dropped because picket did not read its capture ring in time",
         number_text(member(cap, "kernel_drops")));
}

void render_traffic(std::string& out, const Snapshot& s) {
  const Json* t = member(&s.status, "traffic");
  scalar(out, "picket_engine_packets_total", "counter", "Frames the detection engine processed",
         number_text(member(t, "packets")));
  scalar(out, "picket_engine_bytes_total", "counter", "Wire bytes the detection engine processed",
         number_text(member(t, "bytes")));
  scalar(out, "picket_engine_ip_packets_total", "counter", "IPv4 and IPv6 packets the engine decoded",
         number_text(member(t, "ip_packets")));
  scalar(out, "picket_engine_anomalous_packets_total", "counter", "Frames with at least one decode anomaly",
         number_text(member(t, "anomalies")));
  per_key(out, "picket_decode_anomalies_total", "counter", "Decode anomalies by reason (docs/anomalies.md)",
          &s.anomalies_by_name, "reason");
  per_key(out, "picket_findings_total", "counter", "Alerts written, per detector",
          member(&s.status, "alerts_by_detector"), "detector");
  scalar(out, "picket_decisions_total", "counter", "Decisions (blocks, unblocks, rate limits) the policy made",
         number_text(member(t, "decisions")));
}

void render_bans(std::string& out, const Snapshot& s) {
  const Json* b = member(&s.status, "bans");
  if (const Json* by = member(b, "by_family_scope"); by != nullptr && by->is_object()) {
    Family f("picket_bans_active", "gauge", "Active bans in the store, by address family and scope");
    // Every usual combination, zeros included, so the series exist before the first ban.
    for (const char* fam : {"ipv4", "ipv6"}) {
      for (const char* scope : {"address", "prefix", "rate_limit"}) {
        const std::string key = std::string(fam) + "/" + scope;
        const Json* v = member(by, key);
        f.add({{"family", fam}, {"scope", scope}}, v != nullptr ? number_text(v) : std::optional<std::string>("0"));
      }
    }
    for (const auto& [key, v] : by->items()) {  // any other kind the daemon adds later
      const auto slash = key.find('/');
      if (slash == std::string::npos) continue;
      f.add({{"family", key.substr(0, slash)}, {"scope", key.substr(slash + 1)}}, number_text(&v));
    }
    f.write(out);
  }
  scalar(out, "picket_bans_in_force", "gauge", "Bans and rate limits the policy holds in force",
         number_text(member(b, "in_force")));
}

void render_enforcer(std::string& out, const Snapshot& s) {
  const Json* e = member(&s.status, "enforcer");
  if (e == nullptr) return;
  const Json* backend = member(e, "backend");
  const std::string name = backend != nullptr && backend->is_string() ? backend->get<std::string>() : "unknown";
  {
    Family f("picket_enforcer_ready", "gauge", "1 when the firewall backend is initialised (always 1 in IDS mode)");
    f.add({{"backend", name}}, number_text(member(e, "ready")));
    f.write(out);
  }
  scalar(out, "picket_enforcer_dry_run", "gauge", "1 in IDS mode: decisions are not applied",
         number_text(member(e, "dry_run")));
  scalar(out, "picket_enforcer_errors_total", "counter", "Batches the firewall backend refused",
         number_text(member(e, "failures")));
  scalar(out, "picket_enforcer_pending", "gauge", "Decisions waiting to be applied (backend not ready or refused)",
         number_text(member(e, "pending")));
  if (const Json* t = member(e, "scan_trap"); t != nullptr) {
    scalar(out, "picket_scan_trap_enabled", "gauge", "1 when the kernel scan trap is armed (nftables)",
           number_text(member(t, "enabled")));
    scalar(out, "picket_scan_trap_held", "gauge", "Sources the scan trap holds (as of its last poll, every second)",
           number_text(member(t, "held")));
    scalar(out, "picket_scan_trap_trapped_total", "counter", "Sources the scan trap caught since start",
           number_text(member(t, "trapped_total")));
  }
  scalar(out, "picket_conntrack_cleanups_total", "counter", "Conntrack cleanups run after a block",
         number_text(member(e, "conntrack_cleanups")));
  scalar(out, "picket_conntrack_entries_removed_total", "counter", "Conntrack entries removed after blocks",
         number_text(member(e, "conntrack_entries_removed")));
  scalar(out, "picket_conntrack_cleanup_errors_total", "counter", "Conntrack cleanups that failed",
         number_text(member(e, "conntrack_failures")));
}

void render_state_tables(std::string& out, const Snapshot& s) {
  Family entries("picket_state_table_entries", "gauge", "Entries tracked per state table (as of the last stats event)");
  Family capacity("picket_state_table_capacity", "gauge", "Capacity of each state table");
  Family evictions("picket_state_table_evictions_total", "counter", "Entries evicted from a full state table");
  Family memory("picket_state_table_memory_bytes", "gauge", "Memory held by each state table");
  auto table = [&](const std::string& name, const Json& t) {
    entries.add({{"table", name}}, number_text(member(&t, "tracked")));
    capacity.add({{"table", name}}, number_text(member(&t, "capacity")));
    evictions.add({{"table", name}}, number_text(member(&t, "evictions")));
    memory.add({{"table", name}}, number_text(member(&t, "memory_bytes")));
  };
  if (const Json* d = member(&s.status, "detectors"); d != nullptr && d->is_object()) {
    for (const auto& [name, t] : d->items()) table(name, t);
  }
  if (const Json* f = member(&s.status, "flows"); f != nullptr && f->is_object()) table("flows", *f);
  entries.write(out);
  capacity.write(out);
  evictions.write(out);
  memory.write(out);
}

// Checks the shape before writing anything: a histogram whose buckets go down or whose +Inf
// bucket is missing would be rejected by Prometheus, so it is left out instead.
void render_latency(std::string& out, const Snapshot& s) {
  const Json* bounds = member(&s.latency, "bounds");
  const Json* counts = member(&s.latency, "counts");
  if (bounds == nullptr || counts == nullptr || !bounds->is_array() || !counts->is_array()) return;
  if (counts->size() != bounds->size() + 1) return;
  double prev_bound = -INFINITY;
  for (const auto& b : *bounds) {
    if (!b.is_number()) return;
    const double v = b.get<double>();
    if (!std::isfinite(v) || v <= prev_bound) return;
    prev_bound = v;
  }
  uint64_t prev = 0;
  for (const auto& c : *counts) {
    if (!c.is_number_unsigned() && !(c.is_number_integer() && c.get<int64_t>() >= 0)) return;
    const auto v = c.get<uint64_t>();
    if (v < prev) return;
    prev = v;
  }
  const auto sum = number_text(member(&s.latency, "sum"));
  if (!sum) return;
  Family f("picket_detection_latency_seconds", "histogram",
           "Seconds from the packet that completed a finding to its alert being written");
  for (size_t i = 0; i < bounds->size(); ++i) {
    f.add({{"le", format_double((*bounds)[i].get<double>())}}, fmt::format("{}", (*counts)[i].get<uint64_t>()),
          "_bucket");
  }
  const std::string total = fmt::format("{}", counts->back().get<uint64_t>());
  f.add({{"le", "+Inf"}}, total, "_bucket");
  f.add({}, sum, "_sum");
  f.add({}, total, "_count");  // by definition the +Inf bucket
  f.write(out);
}

void render_other(std::string& out, const Snapshot& s) {
  const Json* c = member(&s.status, "conn_table");
  scalar(out, "picket_conn_table_sockets", "gauge", "Sockets in the last connection-table snapshot",
         number_text(member(c, "sockets")));
  scalar(out, "picket_conn_table_snapshots_total", "counter", "Connection-table snapshots taken",
         number_text(member(c, "snapshots")));
  scalar(out, "picket_conn_table_errors_total", "counter", "Connection-table snapshots that failed",
         number_text(member(c, "errors")));
  const Json* k = member(&s.status, "control");
  scalar(out, "picket_control_connections_total", "counter", "Connections to the control socket",
         number_text(member(k, "connections")));
  scalar(out, "picket_control_requests_total", "counter", "Requests on the control socket",
         number_text(member(k, "requests")));
  scalar(out, "picket_control_bad_requests_total", "counter", "Malformed or refused control requests",
         number_text(member(k, "bad_requests")));
  scalar(out, "picket_control_events_dropped_total", "counter", "Events dropped to slow `picket events` readers",
         number_text(member(k, "events_dropped")));
}

}  // namespace

std::string render_prometheus(const Snapshot& s) {
  std::string out;
  out.reserve(8192);
  scalar(out, "picket_up", "gauge", "1 while picket runs and publishes metrics", "1");
  {
    Family f("picket_build_info", "gauge", "Version and mode (ips or ids) of the running picket");
    const Json* v = member(&s.status, "version");
    const Json* m = member(&s.status, "mode");
    f.add({{"version", v != nullptr && v->is_string() ? v->get<std::string>() : "unknown"},
           {"mode", m != nullptr && m->is_string() ? m->get<std::string>() : "unknown"}},
          "1");
    f.write(out);
  }
  scalar(out, "picket_uptime_seconds", "gauge", "Seconds since picket started",
         number_text(member(&s.status, "uptime")));
  scalar(out, "picket_healthy", "gauge", "1 when capture and enforcer are healthy (see /healthz for why not)",
         number_text(member(&s.status, "healthy")));
  render_capture(out, s);
  render_traffic(out, s);
  render_bans(out, s);
  render_enforcer(out, s);
  render_state_tables(out, s);
  render_latency(out, s);
  render_other(out, s);
  return out;
}

HealthReply health_reply(const Snapshot& s) {
  const Json* healthy = member(&s.status, "healthy");
  if (healthy != nullptr && healthy->is_boolean() && healthy->get<bool>()) return {200, "ok\n"};
  HealthReply r{503, ""};
  if (healthy == nullptr || !healthy->is_boolean()) {
    r.body = "no health in the daemon's status\n";
    return r;
  }
  if (const Json* p = member(&s.status, "problems"); p != nullptr && p->is_array()) {
    for (const auto& problem : *p) {
      std::string line = problem.is_string() ? problem.get<std::string>()
                                             : problem.dump(-1, ' ', false, Json::error_handler_t::replace);
      for (char& c : line) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      if (!line.empty()) r.body += line + '\n';
    }
  }
  if (r.body.empty()) r.body = "unhealthy\n";
  return r;
}

}  // namespace picket::metrics

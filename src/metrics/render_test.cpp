// render_prometheus, health_reply, the Snapshot helpers and the metrics.* keys.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "metrics/exposition_checker.hpp"
#include "metrics/metrics.hpp"

namespace picket::metrics {
namespace {

using Json = nlohmann::ordered_json;
using testing::parse_exposition;

// A status as control_handler.cpp builds it (docs/control.md), with a detector table, flows,
// bans, the enforcer, the connection table and the control socket.
Snapshot fixture() {
  Snapshot s;
  s.status = Json::parse(R"({
    "version": "0.1.0", "started": "2024-05-01T10:00:00Z", "uptime": 3600.5, "config": "/etc/picket/picket.yaml",
    "mode": "ips", "healthy": true, "problems": [],
    "capture": {"method": "afpacket", "packets": 1500, "kernel_drops": 7, "inbound": 1400, "outbound": 100,
                "interfaces": {"eth0": 1000, "eth1": 500}},
    "traffic": {"packets": 1490, "bytes": 912345, "ip_packets": 1480, "anomalies": 4, "findings": 9,
                "decisions": 3, "average_pps": 0.41, "average_bps": 2027.4},
    "detectors": {"port_scan": {"tracked": 120, "capacity": 65536, "evictions": 2, "evictions_with_evidence": 0,
                                "findings": 5, "memory_bytes": 1048576},
                  "syn_flood": {"tracked": 3, "capacity": 4096, "evictions": 0, "evictions_with_evidence": 0,
                                "findings": 4, "memory_bytes": 65536}},
    "flows": {"tracked": 800, "capacity": 262144, "evictions": 11, "established_evicted": 1, "probes": 2,
              "established": 40, "memory_bytes": 8388608},
    "alerts_by_detector": {"port_scan": 5, "syn_flood": 4},
    "enforcer": {"backend": "nftables", "dry_run": false, "ready": true, "failures": 2, "pending": 1,
                 "last_error": "", "conntrack_cleanups": 3, "conntrack_entries_removed": 12, "conntrack_failures": 0,
                 "scan_trap": {"enabled": true, "closed_ports": 6, "hold": 60.0, "held": 2, "trapped_total": 5}},
    "bans": {"in_force": 4, "active": 3, "by_family_scope": {"ipv4/address": 2, "ipv6/prefix": 1}},
    "conn_table": {"sockets": 42, "snapshots": 360, "errors": 0, "interval": 10.0},
    "control": {"connections": 5, "requests": 9, "bad_requests": 1, "events_dropped": 0}
  })");
  s.latency = latency_json({0.001, 0.01, 0.1, 1}, {1, 4, 8, 9, 10}, 3.25, 10);
  std::array<uint64_t, decode::kAnomalyCount> counts{};
  counts[static_cast<size_t>(decode::Anomaly::ipv4_truncated)] = 3;
  counts[static_cast<size_t>(decode::Anomaly::tcp_flags_invalid)] = 1;
  s.anomalies_by_name = anomalies_json(counts);
  s.interfaces = interfaces_json({{"eth0", 1000}, {"eth1", 500}}, {{"eth0", 600000}, {"eth1", 312345}});
  return s;
}

TEST(RenderTest, EveryFamilyHasHelpTypeAndParses) {
  const std::string text = render_prometheus(fixture());
  const auto ex = parse_exposition(text);
  ASSERT_EQ(ex.error, "") << text;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"picket_up", "gauge"},
      {"picket_build_info", "gauge"},
      {"picket_uptime_seconds", "gauge"},
      {"picket_healthy", "gauge"},
      {"picket_capture_info", "gauge"},
      {"picket_capture_packets_total", "counter"},
      {"picket_capture_bytes_total", "counter"},
      {"picket_capture_kernel_drops_total", "counter"},
      {"picket_engine_packets_total", "counter"},
      {"picket_engine_bytes_total", "counter"},
      {"picket_engine_ip_packets_total", "counter"},
      {"picket_engine_anomalous_packets_total", "counter"},
      {"picket_decode_anomalies_total", "counter"},
      {"picket_findings_total", "counter"},
      {"picket_decisions_total", "counter"},
      {"picket_bans_active", "gauge"},
      {"picket_bans_in_force", "gauge"},
      {"picket_enforcer_ready", "gauge"},
      {"picket_enforcer_dry_run", "gauge"},
      {"picket_enforcer_errors_total", "counter"},
      {"picket_enforcer_pending", "gauge"},
      {"picket_scan_trap_enabled", "gauge"},
      {"picket_scan_trap_held", "gauge"},
      {"picket_scan_trap_trapped_total", "counter"},
      {"picket_conntrack_cleanups_total", "counter"},
      {"picket_conntrack_entries_removed_total", "counter"},
      {"picket_conntrack_cleanup_errors_total", "counter"},
      {"picket_state_table_entries", "gauge"},
      {"picket_state_table_capacity", "gauge"},
      {"picket_state_table_evictions_total", "counter"},
      {"picket_state_table_memory_bytes", "gauge"},
      {"picket_detection_latency_seconds", "histogram"},
      {"picket_conn_table_sockets", "gauge"},
      {"picket_conn_table_snapshots_total", "counter"},
      {"picket_conn_table_errors_total", "counter"},
      {"picket_control_connections_total", "counter"},
      {"picket_control_requests_total", "counter"},
      {"picket_control_bad_requests_total", "counter"},
      {"picket_control_events_dropped_total", "counter"},
  };
  for (const auto& [name, type] : expected) {
    SCOPED_TRACE(name);
    const auto it = ex.families.find(name);
    ASSERT_NE(it, ex.families.end());
    EXPECT_TRUE(it->second.has_help);
    EXPECT_FALSE(it->second.help.empty());
    EXPECT_TRUE(it->second.has_type);
    EXPECT_EQ(it->second.type, type);
    EXPECT_FALSE(it->second.samples.empty());
  }
  EXPECT_EQ(ex.families.size(), expected.size()) << "a family the test does not know";
}

TEST(RenderTest, ValuesComeFromTheSnapshot) {
  const auto ex = parse_exposition(render_prometheus(fixture()));
  ASSERT_EQ(ex.error, "");
  struct Case {
    std::string name;
    std::map<std::string, std::string> labels;
    double want;
  };
  const std::vector<Case> cases = {
      {"picket_up", {}, 1},
      {"picket_build_info", {{"version", "0.1.0"}, {"mode", "ips"}}, 1},
      {"picket_uptime_seconds", {}, 3600.5},
      {"picket_healthy", {}, 1},
      {"picket_capture_info", {{"method", "afpacket"}}, 1},
      {"picket_scan_trap_enabled", {}, 1},
      {"picket_scan_trap_held", {}, 2},
      {"picket_scan_trap_trapped_total", {}, 5},
      {"picket_capture_packets_total", {{"interface", "eth0"}}, 1000},
      {"picket_capture_packets_total", {{"interface", "eth1"}}, 500},
      {"picket_capture_bytes_total", {{"interface", "eth0"}}, 600000},
      {"picket_capture_bytes_total", {{"interface", "eth1"}}, 312345},
      {"picket_capture_kernel_drops_total", {}, 7},
      {"picket_engine_packets_total", {}, 1490},
      {"picket_engine_bytes_total", {}, 912345},
      {"picket_engine_anomalous_packets_total", {}, 4},
      {"picket_decode_anomalies_total", {{"reason", "ipv4_truncated"}}, 3},
      {"picket_decode_anomalies_total", {{"reason", "tcp_flags_invalid"}}, 1},
      {"picket_decode_anomalies_total", {{"reason", "udp_truncated"}}, 0},  // zeros are series too
      {"picket_findings_total", {{"detector", "port_scan"}}, 5},
      {"picket_findings_total", {{"detector", "syn_flood"}}, 4},
      {"picket_decisions_total", {}, 3},
      {"picket_bans_active", {{"family", "ipv4"}, {"scope", "address"}}, 2},
      {"picket_bans_active", {{"family", "ipv6"}, {"scope", "prefix"}}, 1},
      {"picket_bans_active", {{"family", "ipv4"}, {"scope", "rate_limit"}}, 0},
      {"picket_bans_in_force", {}, 4},
      {"picket_enforcer_ready", {{"backend", "nftables"}}, 1},
      {"picket_enforcer_dry_run", {}, 0},
      {"picket_enforcer_errors_total", {}, 2},
      {"picket_enforcer_pending", {}, 1},
      {"picket_conntrack_entries_removed_total", {}, 12},
      {"picket_state_table_entries", {{"table", "port_scan"}}, 120},
      {"picket_state_table_capacity", {{"table", "port_scan"}}, 65536},
      {"picket_state_table_evictions_total", {{"table", "flows"}}, 11},
      {"picket_state_table_memory_bytes", {{"table", "syn_flood"}}, 65536},
      {"picket_detection_latency_seconds_bucket", {{"le", "0.001"}}, 1},
      {"picket_detection_latency_seconds_bucket", {{"le", "1"}}, 9},
      {"picket_detection_latency_seconds_bucket", {{"le", "+Inf"}}, 10},
      {"picket_detection_latency_seconds_sum", {}, 3.25},
      {"picket_detection_latency_seconds_count", {}, 10},
      {"picket_conn_table_sockets", {}, 42},
      {"picket_control_bad_requests_total", {}, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto v = ex.value(c.name, c.labels);
    ASSERT_TRUE(v.has_value());
    EXPECT_DOUBLE_EQ(*v, c.want);
  }
  // One anomaly series per named anomaly (none excluded).
  EXPECT_EQ(ex.families.at("picket_decode_anomalies_total").samples.size(), decode::kAnomalyCount - 1);
}

TEST(RenderTest, HistogramBucketsAreCumulativeAndEndInInf) {
  const std::string text = render_prometheus(fixture());
  const auto ex = parse_exposition(text);
  ASSERT_EQ(ex.error, "");
  const auto& f = ex.families.at("picket_detection_latency_seconds");
  std::vector<std::string> les;
  double prev = -1;
  for (const auto& s : f.samples) {
    if (s.name != "picket_detection_latency_seconds_bucket") continue;
    les.push_back(s.labels.at("le"));
    EXPECT_GE(s.value, prev);
    prev = s.value;
  }
  EXPECT_EQ(les, (std::vector<std::string>{"0.001", "0.01", "0.1", "1", "+Inf"}));
  EXPECT_NE(text.find("picket_detection_latency_seconds_bucket{le=\"+Inf\"} 10\n"), std::string::npos);
}

TEST(RenderTest, LabelValuesAreEscaped) {
  Snapshot s = fixture();
  s.interfaces = Json::object();
  s.interfaces["we\"ird\\if"] = {{"packets", 1}, {"bytes", 2}};
  s.interfaces["new\nline"] = {{"packets", 3}};
  s.interfaces[std::string("bad\xff\xfe utf8")] = {{"packets", 4}};
  s.status["alerts_by_detector"]["det\"ector"] = 6;
  const std::string text = render_prometheus(s);
  const auto ex = parse_exposition(text);
  ASSERT_EQ(ex.error, "") << text;
  EXPECT_NE(text.find(R"(picket_capture_packets_total{interface="we\"ird\\if"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(picket_capture_packets_total{interface="new\nline"} 3)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(picket_findings_total{detector="det\"ector"} 6)"), std::string::npos) << text;
  // The checker unescapes back to the original names.
  EXPECT_EQ(ex.value("picket_capture_packets_total", {{"interface", "we\"ird\\if"}}), 1.0);
  EXPECT_EQ(ex.value("picket_capture_bytes_total", {{"interface", "we\"ird\\if"}}), 2.0);
  EXPECT_EQ(ex.value("picket_capture_packets_total", {{"interface", "new\nline"}}), 3.0);
  // Invalid UTF-8 becomes U+FFFD (each bad byte).
  EXPECT_EQ(ex.value("picket_capture_packets_total", {{"interface", "bad\xEF\xBF\xBD\xEF\xBF\xBD utf8"}}), 4.0);
  EXPECT_FALSE(ex.value("picket_capture_bytes_total", {{"interface", "new\nline"}}).has_value());  // bytes absent
}

TEST(RenderTest, NamesThatCollideAfterCleaningKeepOneSeries) {
  Snapshot s = fixture();
  s.interfaces = Json::object();
  s.interfaces[std::string("x\xff")] = {{"packets", 1}};
  s.interfaces[std::string("x\xfe")] = {{"packets", 2}};  // both become "x\uFFFD"
  const auto ex = parse_exposition(render_prometheus(s));
  ASSERT_EQ(ex.error, "");
  EXPECT_EQ(ex.families.at("picket_capture_packets_total").samples.size(), 1u);
}

TEST(RenderTest, MalformedLatencyIsLeftOutAndTheRestStillParses) {
  const std::vector<std::pair<std::string, Json>> cases = {
      {"absent", Json()},
      {"not an object", Json::array({1, 2})},
      {"counts one short", latency_json({0.1, 1}, {1, 2}, 1, 2)},
      {"counts one long", Json{{"bounds", {0.1}}, {"counts", {1, 2, 3}}, {"sum", 1}}},
      {"counts go down", Json{{"bounds", {0.1, 1}}, {"counts", {5, 3, 6}}, {"sum", 1}}},
      {"negative count", Json{{"bounds", {0.1}}, {"counts", {-1, 2}}, {"sum", 1}}},
      {"bounds go down", Json{{"bounds", {1, 0.1}}, {"counts", {1, 2, 3}}, {"sum", 1}}},
      {"bounds repeat", Json{{"bounds", {1, 1}}, {"counts", {1, 2, 3}}, {"sum", 1}}},
      {"bound is text", Json{{"bounds", {"0.1"}}, {"counts", {1, 2}}, {"sum", 1}}},
      {"count is fractional", Json{{"bounds", {0.1}}, {"counts", {1.5, 2}}, {"sum", 1}}},
      {"no sum", Json{{"bounds", {0.1}}, {"counts", {1, 2}}}},
      {"sum is text", Json{{"bounds", {0.1}}, {"counts", {1, 2}}, {"sum", "x"}}},
  };
  for (const auto& [name, latency] : cases) {
    SCOPED_TRACE(name);
    Snapshot s = fixture();
    s.latency = latency;
    const auto ex = parse_exposition(render_prometheus(s));
    ASSERT_EQ(ex.error, "");
    EXPECT_EQ(ex.families.count("picket_detection_latency_seconds"), 0u);
    EXPECT_EQ(ex.value("picket_engine_packets_total"), 1490.0);
  }
  // No bounds at all is still a valid histogram: one +Inf bucket.
  Snapshot s = fixture();
  s.latency = latency_json({}, {4}, 0.5, 4);
  const auto ex = parse_exposition(render_prometheus(s));
  ASSERT_EQ(ex.error, "");
  EXPECT_EQ(ex.value("picket_detection_latency_seconds_bucket", {{"le", "+Inf"}}), 4.0);
}

TEST(RenderTest, MissingOrWrongFieldsAreSkippedNotGuessed) {
  const std::vector<std::pair<std::string, std::function<void(Snapshot&)>>> cases = {
      {"empty snapshot", [](Snapshot& s) { s = Snapshot{}; }},
      {"status is an array", [](Snapshot& s) { s.status = Json::array({1}); }},
      {"capture is text", [](Snapshot& s) { s.status["capture"] = "afpacket"; }},
      {"drops are text", [](Snapshot& s) { s.status["capture"]["kernel_drops"] = "7"; }},
      {"negative counter", [](Snapshot& s) { s.status["capture"]["kernel_drops"] = -7; }},
      {"detectors is null", [](Snapshot& s) { s.status["detectors"] = nullptr; }},
      {"a detector is a number", [](Snapshot& s) { s.status["detectors"]["port_scan"] = 3; }},
      {"bans by scope without slash", [](Snapshot& s) { s.status["bans"]["by_family_scope"]["weird"] = 1; }},
      {"anomalies is an array",
       [](Snapshot& s) {
         s.anomalies_by_name = Json::array({1, 2});
       }},
      {"interfaces wrong shape",
       [](Snapshot& s) {
         s.interfaces = Json{{"eth0", "lots"}};
       }},
      {"NaN uptime", [](Snapshot& s) { s.status["uptime"] = std::nan(""); }},
  };
  for (const auto& [name, mutate] : cases) {
    SCOPED_TRACE(name);
    Snapshot s = fixture();
    mutate(s);
    const std::string text = render_prometheus(s);
    const auto ex = parse_exposition(text);
    ASSERT_EQ(ex.error, "") << text;
    EXPECT_EQ(ex.value("picket_up"), 1.0);
  }
  Snapshot s = fixture();
  s.status["capture"]["kernel_drops"] = "7";
  EXPECT_EQ(parse_exposition(render_prometheus(s)).families.count("picket_capture_kernel_drops_total"), 0u);
  // Without the snapshot's interfaces, the status' packet counts are used (and no bytes).
  s = fixture();
  s.interfaces = Json();
  const auto ex = parse_exposition(render_prometheus(s));
  EXPECT_EQ(ex.value("picket_capture_packets_total", {{"interface", "eth1"}}), 500.0);
  EXPECT_EQ(ex.families.count("picket_capture_bytes_total"), 0u);
  // An empty snapshot has build info with unknown labels.
  const auto empty = parse_exposition(render_prometheus(Snapshot{}));
  EXPECT_EQ(empty.value("picket_build_info", {{"version", "unknown"}, {"mode", "unknown"}}), 1.0);
  EXPECT_EQ(empty.families.size(), 2u);
}

TEST(RenderTest, CheckerRejectsBrokenExpositions) {
  // The checker must be able to fail, or the tests above prove nothing.
  const std::vector<std::string> bad = {
      "picket_x 1",                                                      // no final newline
      "# TYPE a_total counter\na_total{x=\"1} 2\n",                      // unterminated label
      "# TYPE a_total counter\na_total{x=\"\\t\"} 2\n",                  // bad escape
      "# TYPE a counter\na 1\n",                                         // counter without _total
      "# TYPE a gauge\na one\n",                                         // bad value
      "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",                 // family split
      "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",                    // duplicate series
      "# TYPE a gauge\n# TYPE a gauge\na 1\n",                           // TYPE twice
      "a 1\n# TYPE a gauge\n",                                           // TYPE after samples
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n",  // no +Inf
      "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",  // not cumulative
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",                        // count differs
      "9a 1\n",                                                                                   // bad name
  };
  for (const auto& text : bad) {
    SCOPED_TRACE(text);
    EXPECT_NE(parse_exposition(text).error, "");
  }
}

TEST(HealthTest, Replies) {
  struct Case {
    std::string name;
    Json status;
    int code;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"healthy", {{"healthy", true}, {"problems", Json::array()}}, 200, "ok\n"},
      {"two problems",
       {{"healthy", false}, {"problems", {"capture: eth0: interface went away", "enforcer: nftables not initialised"}}},
       503,
       "capture: eth0: interface went away\nenforcer: nftables not initialised\n"},
      {"problem with a line break", {{"healthy", false}, {"problems", {"a\nb\r"}}}, 503, "a b \n"},
      {"unhealthy without reasons", {{"healthy", false}}, 503, "unhealthy\n"},
      {"no health field", {{"uptime", 3}}, 503, "no health in the daemon's status\n"},
      {"healthy is text", {{"healthy", "yes"}}, 503, "no health in the daemon's status\n"},
      {"status not an object", Json::array(), 503, "no health in the daemon's status\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Snapshot s;
    s.status = c.status;
    const auto r = health_reply(s);
    EXPECT_EQ(r.code, c.code);
    EXPECT_EQ(r.body, c.body);
  }
}

TEST(SettingsTest, DefaultsAndValidation) {
  config::Schema schema;
  declare_config(schema);
  const auto d = parse_settings(config::defaults(schema, config::Profile::paranoid));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->enabled);  // off in every profile
  EXPECT_EQ(d->listen, "127.0.0.1");
  EXPECT_EQ(d->port, 9477);

  struct Case {
    std::string yaml;
    std::string error;  // "" = accepted
  };
  const std::vector<Case> cases = {
      {"metrics: {enabled: true, listen: '::1', port: 9100}", ""},
      {"metrics: {listen: 0.0.0.0}", ""},
      {"metrics: {listen: localhost}", "metrics.listen: not an IP address"},
      {"metrics: {listen: '127.0.0.1:80'}", "metrics.listen: not an IP address"},
      {"metrics: {port: 0}", "load"},
      {"metrics: {port: 70000}", "load"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const auto loaded = config::load_string(schema, c.yaml, "test.yaml");
    if (c.error == "load") {
      EXPECT_FALSE(loaded.config.has_value());
      continue;
    }
    ASSERT_TRUE(loaded.config.has_value());
    const auto r = parse_settings(*loaded.config);
    if (c.error.empty()) {
      EXPECT_TRUE(r.ok()) << r.error().message;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.error().message.find(c.error), std::string::npos) << r.error().message;
    }
  }
}

TEST(HelpersTest, InterfacesMergePacketsAndBytes) {
  const Json j = interfaces_json({{"eth0", 5}, {"eth1", 6}}, {{"eth0", 500}});
  EXPECT_EQ(j.dump(), R"({"eth0":{"packets":5,"bytes":500},"eth1":{"packets":6}})");
  const Json a = anomalies_json({});
  EXPECT_EQ(a.size(), decode::kAnomalyCount - 1);
  EXPECT_FALSE(a.contains("none"));
}

// The Grafana dashboard in contrib/ queries only metrics that picket renders.
TEST(DashboardTest, QueriesOnlyRenderedMetrics) {
  std::ifstream in(std::string(PICKET_SOURCE_DIR) + "/contrib/grafana/picket-dashboard.json");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const Json dash = Json::parse(ss.str(), nullptr, false);
  ASSERT_FALSE(dash.is_discarded()) << "not valid JSON";
  const auto ex = parse_exposition(render_prometheus(fixture()));
  ASSERT_EQ(ex.error, "");

  std::vector<std::string> exprs;
  std::set<int> ids;
  for (const auto& panel : dash.at("panels")) {
    EXPECT_TRUE(ids.insert(panel.at("id").get<int>()).second) << "panel id repeated";
    if (!panel.contains("targets")) continue;
    for (const auto& t : panel["targets"]) exprs.push_back(t.at("expr").get<std::string>());
  }
  ASSERT_GE(exprs.size(), 10u);
  const std::regex metric(R"(picket_[a-z_]+)");
  std::set<std::string> used;
  for (const auto& e : exprs) {
    for (auto it = std::sregex_iterator(e.begin(), e.end(), metric); it != std::sregex_iterator(); ++it) {
      std::string name = it->str();
      for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base = name.size() > suffix.size() ? name.substr(0, name.size() - suffix.size()) : "";
        if (name.ends_with(suffix) && ex.families.count(base) && ex.families.at(base).type == "histogram") name = base;
      }
      used.insert(name);
      EXPECT_EQ(ex.families.count(name), 1u) << name << " in " << e;
    }
  }
  // The panels the issue asks for.
  for (const char* want :
       {"picket_capture_packets_total", "picket_capture_bytes_total", "picket_capture_kernel_drops_total",
        "picket_findings_total", "picket_bans_active", "picket_enforcer_errors_total", "picket_state_table_entries",
        "picket_state_table_capacity", "picket_detection_latency_seconds"}) {
    EXPECT_EQ(used.count(want), 1u) << want;
  }
  bool quantiles = false;
  for (const auto& e : exprs) quantiles |= e.find("histogram_quantile(") != std::string::npos;
  EXPECT_TRUE(quantiles);
}

}  // namespace
}  // namespace picket::metrics

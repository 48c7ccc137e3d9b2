#include <cstdio>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "alert/alert_sink.hpp"
#include "alert/settings.hpp"
#include "daemon/settings.hpp"
#include "detect/conn_table/snapshot_detector.hpp"
#include "engine/engine.hpp"
#include "policy/policy.hpp"

namespace picket::app {

const config::Schema& full_schema() {
  static const config::Schema schema = [] {
    config::Schema s;
    config::SchemaSection out(s, "output");
    out.string("events_file", "", "Where JSON-lines events go (\"-\" = standard output); "
               "empty = the command's default (standard output for replay)");
    out.string("log_file", "", "Human-readable text log of the same events; empty = none");
    out.duration("flush_interval", core::Duration::seconds(1), core::Duration::millis(10),
                 core::Duration::seconds(3600), "picket run: how often buffered event and log lines are written out");
    daemon::declare_config(s);
    engine::declare_config(s);
    detect::declare_snapshot_config(s);
    alert::declare_config(s);
    policy::declare_config(s);
    return s;
  }();
  return schema;
}

std::optional<config::Config> load_config_or_report(const std::string& path) {
  const auto& schema = full_schema();
  if (path.empty()) return config::defaults(schema, config::Profile::normal);
  auto res = config::load_file(schema, path);
  if (!res.errors.empty()) {
    for (const auto& e : res.errors) fmt::print(stderr, "picket: {}\n", e.to_string());
    fmt::print(stderr, "picket: {}: {} error{} in the configuration\n", path, res.errors.size(),
               res.errors.size() == 1 ? "" : "s");
    return std::nullopt;
  }
  return std::move(res.config);
}

int cmd_check_config(const std::string& path) {
  auto cfg = load_config_or_report(path);
  if (!cfg) return kExitBadInput;
  // What the schema cannot say alone: alert destinations that are enabled but incomplete.
  if (auto alerts = alert::parse_settings(*cfg); !alerts) {
    fmt::print(stderr, "picket: {}: {}\n", path, alerts.error().message);
    return kExitBadInput;
  }
  fmt::print("{}: ok (profile {})\n", path, config::profile_name(cfg->profile()));
  return kExitOk;
}

namespace {
std::optional<config::Profile> profile_or_report(const std::string& name) {
  auto p = config::parse_profile(name);
  if (!p) fmt::print(stderr, "picket: unknown profile '{}' (normal, aggressive, paranoid)\n", name);
  return p;
}
}  // namespace

int cmd_config_schema() {
  fmt::print("{}", full_schema().describe());
  return kExitOk;
}

int cmd_config_example(const std::string& profile) {
  auto p = profile_or_report(profile);
  if (!p) return kExitBadInput;
  fmt::print("{}", full_schema().example_yaml(*p));
  return kExitOk;
}

}  // namespace picket::app

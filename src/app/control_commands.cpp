// The operator's subcommands that talk to a running daemon over its control socket:
// status, bans, ban, unban, reload, events. (top is in top.cpp.)
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/human.hpp"
#include "control/client.hpp"
#include "core/time.hpp"

namespace picket::app {

using control::Json;

namespace {

std::atomic<bool> g_interrupted{false};

std::string socket_path(const ControlOptions& o) {
  if (!o.socket.empty()) return o.socket;
  if (!o.config_path.empty()) {
    if (auto cfg = load_config_or_report(o.config_path)) return cfg->string("control.socket");
  }
  return control::kDefaultSocket;
}

// Sends one request; prints errors; returns the reply's result or nullopt with `status` set.
std::optional<Json> call(const ControlOptions& o, Json req, int& status) {
  auto c = control::ControlClient::connect(socket_path(o));
  if (!c) {
    fmt::print(stderr, "picket: {}\n", c.error().message);
    status = control::kExitUnreachable;
    return std::nullopt;
  }
  auto r = c->request(req);
  if (!r) {
    fmt::print(stderr, "picket: {}\n", r.error().message);
    status = control::kExitUnreachable;
    return std::nullopt;
  }
  if (!(*r)["ok"].get<bool>()) {
    fmt::print(stderr, "picket: {}\n", (*r).value("error", std::string("refused")));
    status = control::kExitRefused;
    return std::nullopt;
  }
  status = control::kExitOk;
  return (*r)["result"];
}

Json request(std::string_view cmd) { return Json{{"v", control::kProtocolVersion}, {"cmd", std::string(cmd)}}; }

}  // namespace

void print_bans_table(const Json& bans, std::FILE* out) {
  if (bans.empty()) {
    fmt::print(out, "no active bans\n");
    return;
  }
  fmt::print(out, "{:<40} {:<10} {:>9} {:>7} {:<16} {}\n", "TARGET", "SCOPE", "REMAINING", "OFFENCE", "DETECTOR", "REASON");
  for (const auto& b : bans) {
    std::string target = b.value("target", std::string());
    if (b.contains("port")) target += fmt::format(" {}/{}", b["proto"].get<std::string>(), b["port"].get<int>());
    std::string reason = b.value("reason", std::string());
    if (reason.size() > 60) reason = reason.substr(0, 57) + "...";
    fmt::print(out, "{:<40} {:<10} {:>9} {:>7} {:<16} {}\n", target, b.value("scope", std::string()),
               human_duration(b.contains("remaining") ? b["remaining"] : Json()), b.value("offence", 1),
               b.value("detector", std::string()), reason);
  }
}

int cmd_status(const ControlOptions& o) {
  int status = 0;
  auto r = call(o, request("status"), status);
  if (!r) return status;
  if (o.json) {
    fmt::print("{}\n", r->dump(2));
    return control::kExitOk;
  }
  const Json& s = *r;
  fmt::print("picket {} — {} mode, up {}, {}\n", s.value("version", std::string("?")), s.value("mode", std::string("?")),
             human_duration(s["uptime"]), s["healthy"].get<bool>() ? "healthy" : "UNHEALTHY");
  for (const auto& p : s["problems"]) fmt::print("  problem: {}\n", p.get<std::string>());
  const Json& cap = s["capture"];
  fmt::print("capture   {}", cap.value("method", std::string("?")));
  if (cap.contains("packets")) {
    fmt::print(", {} packets, {} kernel drops", human_count(cap["packets"].get<double>()),
               cap["kernel_drops"].get<uint64_t>());
    std::string ifs;
    for (const auto& [name, n] : cap["interfaces"].items()) ifs += fmt::format(" {}={}", name, human_count(n.get<double>()));
    if (!ifs.empty()) fmt::print(" ({} )", ifs.substr(1));
  }
  fmt::print("\n");
  const Json& t = s["traffic"];
  fmt::print("traffic   {} packets, {} bytes, avg {} pps; {} anomalies\n", human_count(t["packets"].get<double>()),
             human_count(t["bytes"].get<double>()), human_count(t["average_pps"].get<double>()),
             t["anomalies"].get<uint64_t>());
  fmt::print("findings  {} alerts written, {} decisions", t["findings"].get<uint64_t>(), t["decisions"].get<uint64_t>());
  std::string by;
  for (const auto& [d, n] : s["alerts_by_detector"].items()) by += fmt::format(" {}={}", d, n.get<uint64_t>());
  if (!by.empty()) fmt::print(" ({} )", by.substr(1));
  fmt::print("\n");
  const Json& e = s["enforcer"];
  fmt::print("enforcer  {} {}, {} failures, {} pending{}\n", e.value("backend", std::string("?")),
             e.value("dry_run", false) ? "dry run (nothing is blocked)" : e["ready"].get<bool>() ? "ready" : "NOT READY",
             e["failures"].get<uint64_t>(), e["pending"].get<uint64_t>(),
             e.value("last_error", std::string()).empty() ? "" : " — " + e["last_error"].get<std::string>());
  const Json& b = s["bans"];
  fmt::print("bans      {} active", b.value("active", b.value("in_force", 0)));
  if (b.contains("by_family_scope")) {
    std::string parts;
    for (const auto& [k, n] : b["by_family_scope"].items()) parts += fmt::format(" {}={}", k, n.get<uint64_t>());
    if (!parts.empty()) fmt::print(" ({} )", parts.substr(1));
  }
  fmt::print("\n");
  if (e.contains("scan_trap")) {
    const Json& trap = e["scan_trap"];
    if (trap.value("enabled", false)) {
      fmt::print("scan trap on: past {} closed ports in a burst, the kernel drops a source for {}; {} held now, "
                 "{} trapped since start\n",
                 trap["closed_ports"].get<uint64_t>(), human_duration(trap["hold"]), trap.value("held", 0),
                 trap.value("trapped_total", 0));
    } else {
      fmt::print("scan trap off\n");
    }
  }
  if (s.contains("detectors")) {
    fmt::print("detectors (tracked/capacity, evictions):\n");
    for (const auto& [name, d] : s["detectors"].items()) {
      fmt::print("  {:<18} {:>9}/{:<9} {:>8}\n", name, d["tracked"].get<uint64_t>(), d["capacity"].get<uint64_t>(),
                 d["evictions"].get<uint64_t>());
    }
  }
  return s["healthy"].get<bool>() ? control::kExitOk : control::kExitRefused;
}

int cmd_bans(const ControlOptions& o) {
  int status = 0;
  auto r = call(o, request("bans"), status);
  if (!r) return status;
  if (o.json) fmt::print("{}\n", (*r)["bans"].dump(2));
  else print_bans_table((*r)["bans"], stdout);
  return control::kExitOk;
}

int cmd_ban(const ControlOptions& o, const std::string& target, const std::string& duration, const std::string& reason) {
  Json req = request("ban");
  req["target"] = target;
  if (!duration.empty()) req["duration"] = duration;
  if (!reason.empty()) req["reason"] = reason;
  int status = 0;
  auto r = call(o, req, status);
  if (!r) return status;
  if (o.json) fmt::print("{}\n", r->dump());
  else
    fmt::print("banned {} for {} (offence {}): {}\n", (*r)["target"].get<std::string>(), human_duration((*r)["duration"]),
               (*r)["offence"].get<int>(), (*r)["result"].get<std::string>());
  return control::kExitOk;
}

int cmd_unban(const ControlOptions& o, const std::string& target, bool all) {
  Json req = request("unban");
  if (all) req["all"] = true;
  else req["target"] = target;
  int status = 0;
  auto r = call(o, req, status);
  if (!r) return status;
  if (o.json) fmt::print("{}\n", r->dump());
  else if (all) fmt::print("unbanned everything ({} bans)\n", (*r)["removed"].get<uint64_t>());
  else fmt::print("unbanned {}{}\n", (*r)["target"].get<std::string>(), (*r)["was_banned"].get<bool>() ? "" : " (it was not banned)");
  return control::kExitOk;
}

int cmd_reload(const ControlOptions& o) {
  int status = 0;
  auto r = call(o, request("reload"), status);
  if (!r) return status;
  fmt::print("reloaded {}\n", (*r)["reloaded"].get<std::string>());
  return control::kExitOk;
}

int cmd_events(const ControlOptions& o, const std::vector<std::string>& types) {
  auto c = control::ControlClient::connect(socket_path(o));
  if (!c) {
    fmt::print(stderr, "picket: {}\n", c.error().message);
    return control::kExitUnreachable;
  }
  Json req = request("events");
  if (!types.empty()) req["types"] = types;
  auto r = c->request(req);
  if (!r) {
    fmt::print(stderr, "picket: {}\n", r.error().message);
    return control::kExitUnreachable;
  }
  if (!(*r)["ok"].get<bool>()) {
    fmt::print(stderr, "picket: {}\n", (*r).value("error", std::string("refused")));
    return control::kExitRefused;
  }
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_interrupted.store(true); };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto f = c->follow(
      [](const std::string& line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
      },
      [] { return !g_interrupted.load() && !std::ferror(stdout); });
  if (!f && !g_interrupted.load()) {
    fmt::print(stderr, "picket: {}\n", f.error().message);
    return control::kExitUnreachable;
  }
  return control::kExitOk;
}

}  // namespace picket::app

#include "demo/narrator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace picket::demo {

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

const json& member(const json& j, const char* key) {
  static const json kEmpty = json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

std::string count_text(std::optional<double> v) {
  if (!v) return "?";
  return fmt::format("{}", static_cast<long long>(std::llround(*v)));
}

std::string endpoint(const json& ev, const char* ip_key, const char* port_key) {
  std::string ip = str(ev, ip_key);
  auto port = num(ev, port_key);
  if (ip.empty()) return {};
  if (!port) return ip;
  if (ip.find(':') != std::string::npos) return fmt::format("[{}]:{}", ip, count_text(port));
  return fmt::format("{}:{}", ip, count_text(port));
}

// The detector-specific part in parentheses (empty when there is nothing short to say).
std::string alert_detail(const std::string& detector, const json& ev, const json& evidence) {
  if (detector == "port_scan") {
    std::string type = str(evidence, "scan_type");
    std::string kind = str(evidence, "scan_kind");
    if (kind == "sweep") {
      return fmt::format("{} sweep, {} hosts on port {}", type, count_text(num(evidence, "distinct_hosts")),
                         count_text(num(evidence, "main_port")));
    }
    std::string what = kind == "slow" ? "slow " + type : type;
    return fmt::format("{} scan, {} ports", what, count_text(num(evidence, "distinct_ports")));
  }
  if (detector == "syn_flood") {
    return fmt::format("{} half-open handshakes, {} SYNs/s", count_text(num(evidence, "half_open")),
                       count_text(num(evidence, "rate")));
  }
  if (detector == "subnet_conn") {
    return fmt::format("{} connections held by ~{} addresses", count_text(num(evidence, "established")),
                       count_text(num(evidence, "addresses")));
  }
  if (detector == "conn_rate") {
    return fmt::format("{} connections in {}", count_text(num(evidence, "connections")),
                       human_duration(num(evidence, "window").value_or(0)));
  }
  if (detector == "spoofed_flood") {
    return fmt::format("{} packets in {} from ~{} sources", count_text(num(evidence, "packets")),
                       human_duration(num(evidence, "window").value_or(0)),
                       count_text(num(evidence, "distinct_sources")));
  }
  if (detector == "distributed_scan") {
    return fmt::format("{} sources", count_text(num(evidence, "sources")));
  }
  (void)ev;
  return {};
}

std::optional<Narration> describe_alert(const json& ev, EventFacts& facts) {
  const json& pk = member(ev, "picket");
  const json& evidence = member(pk, "evidence");
  std::string kind = str(pk, "kind");
  std::string name = kind.empty() ? (facts.detector.empty() ? "an attack" : facts.detector) : kind;
  facts.update = flag(pk, "update");

  std::string who;
  if (flag(pk, "aggregate")) {
    std::string dst = endpoint(ev, "dest_ip", "dest_port");
    who = dst.empty() ? "" : " against " + dst;
  } else {
    std::string prefix = str(pk, "source_prefix");
    std::string src = prefix.empty() ? str(ev, "src_ip") : prefix;
    who = src.empty() ? "" : " from " + src;
  }
  std::string detail = alert_detail(facts.detector, ev, evidence);
  std::string text = fmt::format("picket {}: {}{}{}", facts.update ? "still sees" : "saw", name, who,
                                 detail.empty() ? "" : " (" + detail + ")");
  if (flag(pk, "allowlisted")) text += " - allowlisted, not blocked";
  return Narration{LineKind::saw, std::move(text)};
}

std::optional<Narration> describe_decision(const json& ev, EventFacts& facts) {
  const json& d = member(ev, "decision");
  facts.action = str(d, "action");
  facts.target = str(d, "target");
  std::string enforcer = str(d, "enforcer");
  bool dry = flag(d, "dry_run");
  std::string how = dry ? "dry run, nothing enforced" : (enforcer.empty() ? "" : enforcer);
  std::string tail = how.empty() ? "" : " (" + how + ")";
  std::string length;
  if (auto s = num(d, "duration"); s && *s > 0) length = " for " + human_duration(*s);
  std::string target = facts.target.empty() ? "?" : facts.target;
  if (facts.action == "block") {
    std::vector<std::string> notes;
    if (!how.empty()) notes.push_back(how);
    if (auto o = num(d, "offence"); o && *o > 1) notes.push_back("offence " + count_text(o));
    std::string paren = notes.empty() ? "" : fmt::format(" ({})", fmt::join(notes, ", "));
    return Narration{LineKind::acted,
                     fmt::format("picket {} {}{}{}", dry ? "would block" : "blocked", target, length, paren)};
  }
  if (facts.action == "rate_limit") {
    std::string dst = endpoint(ev, "dest_ip", "dest_port");
    return Narration{LineKind::acted,
                     fmt::format("picket {} new connections to {} to {}/s{}{}", dry ? "would rate-limit" : "rate-limited",
                                 dst.empty() ? target : dst, count_text(num(d, "rate_per_second")), length, tail)};
  }
  if (facts.action == "unblock") return Narration{LineKind::info, fmt::format("picket lifted its ban on {}{}", target, tail)};
  if (facts.action == "unrate_limit") {
    return Narration{LineKind::info, fmt::format("picket lifted the rate limit on {}{}", target, tail)};
  }
  return Narration{LineKind::acted, fmt::format("picket decided: {} {}{}", facts.action.empty() ? "?" : facts.action,
                                                target, tail)};
}

}  // namespace

std::string human_duration(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return "0s";
  auto s = static_cast<long long>(std::llround(seconds));
  if (s >= 3600 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s >= 60 && s % 60 == 0) return fmt::format("{}m", s / 60);
  if (s == 0) return fmt::format("{:.1f}s", seconds);
  return fmt::format("{}s", s);
}

std::optional<Narration> describe_event(std::string_view line, EventFacts* facts_out) {
  EventFacts local;
  EventFacts& facts = facts_out != nullptr ? *facts_out : local;
  facts = {};
  json ev = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (ev.is_discarded() || !ev.is_object()) {
    std::string shown(line.substr(0, 60));
    std::replace_if(shown.begin(), shown.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
    return Narration{LineKind::trouble, fmt::format("unreadable event line: {}", shown)};
  }
  facts.event_type = str(ev, "event_type");
  facts.detector = str(member(ev, "picket"), "detector");
  if (facts.event_type == "alert") return describe_alert(ev, facts);
  if (facts.event_type == "decision") return describe_decision(ev, facts);
  if (facts.event_type == "anomaly") {
    const json& a = member(ev, "anomaly");
    if (str(a, "type") == "scan_trap" && str(a, "event") == "trapped") {
      return Narration{LineKind::acted,
                       fmt::format("the kernel's scan trap caught {} at its first closed port past {} and drops it (ahead of picket's ban)",
                                   str(member(ev, "picket"), "src_ip"),
                                   count_text(num(member(ev, "picket"), "closed_ports")))};
    }
    if (str(a, "type") != "enforcer") return std::nullopt;  // decode anomalies: counted by picket
    std::string err = str(member(ev, "picket"), "error");
    return Narration{LineKind::trouble, fmt::format("picket could not change the firewall ({}): {}", str(a, "event"),
                                                    err.empty() ? "no reason given" : err)};
  }
  if (facts.event_type == "stats") {
    const json& s = member(ev, "stats");
    if (!flag(s, "final")) return std::nullopt;
    return Narration{LineKind::info, fmt::format("picket's totals: {} packets, {} findings, {} decisions",
                                                 count_text(num(s, "packets")), count_text(num(s, "findings")),
                                                 count_text(num(s, "decisions")))};
  }
  if (facts.event_type.empty()) return Narration{LineKind::trouble, "event without an event_type"};
  return std::nullopt;
}

std::string Narrator::format(LineKind kind, std::string_view text) const {
  const char* colour = "";
  switch (kind) {
    case LineKind::phase: colour = "\033[1;36m"; break;
    case LineKind::info: colour = ""; break;
    case LineKind::saw: colour = "\033[33m"; break;
    case LineKind::acted: colour = "\033[1;32m"; break;
    case LineKind::trouble: colour = "\033[31m"; break;
    case LineKind::good: colour = "\033[32m"; break;
    case LineKind::bad: colour = "\033[1;31m"; break;
  }
  std::string lead = kind == LineKind::phase ? "==> " : "    ";
  if (!colour_ || *colour == '\0') return lead + std::string(text);
  return fmt::format("{}{}{}\033[0m", colour, lead, text);
}

void Narrator::say(LineKind kind, std::string_view text) {
  if (kind == LineKind::phase) std::fputc('\n', out_);
  std::string line = format(kind, text);
  std::fputs(line.c_str(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void Narrator::event(std::string_view json_line) {
  EventFacts facts;
  auto n = describe_event(json_line, &facts);
  if (facts.event_type.empty() && n && n->kind == LineKind::trouble) ++unreadable_;
  if (facts.event_type == "alert" && !facts.update) {
    ++alerts_;
    ++by_detector_[facts.detector.empty() ? "unknown" : facts.detector];
  }
  if (facts.event_type == "decision" && (facts.action == "block" || facts.action == "rate_limit")) {
    ++blocks_;
    if (std::find(blocked_.begin(), blocked_.end(), facts.target) == blocked_.end()) blocked_.push_back(facts.target);
  }
  if (facts.event_type == "anomaly" && n && n->kind == LineKind::trouble) enforcer_trouble_ = true;
  if (n) say(n->kind, n->text);
}

}  // namespace picket::demo

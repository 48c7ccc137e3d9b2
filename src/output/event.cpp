#include "output/event.hpp"

#include <algorithm>
#include <array>
#include <span>

#include <fmt/format.h>

namespace picket::output {
namespace {

using Json = nlohmann::ordered_json;

// ASCII-only and never throwing on bad UTF-8: see the contract in event.hpp.
std::string dump(const Json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

void append_string(std::string& out, std::string_view s) {
  out += dump(Json(std::string(s)));
}

// `,"key":` — keys written by this file are plain ASCII literals, no escaping needed.
void append_key(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

using SkipList = std::span<const std::string_view>;

bool in_list(SkipList list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

// The AlertInfo members; an alert body cannot override them.
constexpr std::array<std::string_view, 5> kAlertFields = {"action", "signature_id", "signature",
                                                          "category", "severity"};

void append_alert(std::string& out, const Event& e) {
  const bool body_here = e.type == EventType::alert && !e.body.is_null();
  if (!e.alert && !body_here) return;
  append_key(out, "alert");
  out += '{';
  bool first = true;
  auto sep = [&] {
    if (!first) out += ',';
    first = false;
  };
  if (e.alert) {
    const AlertInfo& a = *e.alert;
    // Suricata's own order: action, signature_id, signature, category, severity.
    if (!a.action.empty()) {
      sep();
      out += "\"action\":";
      append_string(out, a.action);
    }
    if (a.signature_id != 0) {
      sep();
      out += fmt::format("\"signature_id\":{}", a.signature_id);
    }
    sep();
    out += "\"signature\":";
    append_string(out, a.signature);
    out += ",\"category\":";
    append_string(out, a.category);
    out += fmt::format(",\"severity\":{}", a.severity);
  }
  if (body_here) {
    if (e.body.is_object()) {
      for (const auto& [key, value] : e.body.items()) {
        if (e.alert && in_list(kAlertFields, key)) continue;
        sep();
        append_string(out, key);
        out += ':';
        out += dump(value);
      }
    } else {
      sep();
      out += "\"data\":";
      out += dump(e.body);
    }
  }
  out += '}';
}

// --- text log ------------------------------------------------------------------------------

// Printable ASCII without the characters that would make `key=value` ambiguous.
bool is_bare(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '"' && c != '=' && c != '\\';
  });
}

void append_token(std::string& out, std::string_view s) {
  if (is_bare(s)) {
    out += s;
  } else {
    append_string(out, s);
  }
}

void append_value(std::string& out, const Json& v) {
  if (v.is_string()) {
    append_token(out, v.get_ref<const std::string&>());
  } else {
    out += dump(v);  // numbers, booleans, null, arrays: compact JSON
  }
}

// Objects become dotted keys so that every pair stays greppable: anomalies.ipv4_truncated=3.
void append_pairs(std::string& out, const std::string& prefix, const Json& v, SkipList skip) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      if (prefix.empty() && in_list(skip, key)) continue;
      std::string path = prefix.empty() ? key : prefix + "." + key;
      if (value.is_object() && !value.empty()) {
        append_pairs(out, path, value, {});
        continue;
      }
      out += ' ';
      append_token(out, path);
      out += '=';
      append_value(out, value);
    }
    return;
  }
  out += ' ';
  append_token(out, prefix);
  out += '=';
  append_value(out, v);
}

// An object's members as pairs; any other value as the single pair `scalar_name=value`.
void append_members(std::string& out, const Json& v, SkipList skip,
                    std::string_view scalar_name) {
  if (v.is_object()) {
    append_pairs(out, {}, v, skip);
  } else {
    append_pairs(out, std::string(scalar_name), v, {});
  }
}

void append_endpoint(std::string& out, const core::IpAddress& ip,
                     const std::optional<core::Port>& port) {
  const std::string addr = ip.empty() ? "-" : ip.to_string();
  if (!port) {
    out += addr;
  } else if (ip.is_v6()) {
    out += fmt::format("[{}]:{}", addr, *port);
  } else {
    out += fmt::format("{}:{}", addr, *port);
  }
}

}  // namespace

std::string_view event_type_name(EventType type) noexcept {
  switch (type) {
    case EventType::alert: return "alert";
    case EventType::decision: return "decision";
    case EventType::anomaly: return "anomaly";
    case EventType::stats: return "stats";
  }
  return "unknown";
}

std::optional<EventType> parse_event_type(std::string_view name) noexcept {
  for (EventType t : {EventType::alert, EventType::decision, EventType::anomaly, EventType::stats}) {
    if (event_type_name(t) == name) return t;
  }
  return std::nullopt;
}

std::string proto_name(uint8_t proto) {
  switch (static_cast<core::IpProto>(proto)) {
    case core::IpProto::icmp: return "ICMP";
    case core::IpProto::tcp: return "TCP";
    case core::IpProto::udp: return "UDP";
    case core::IpProto::icmpv6: return "IPv6-ICMP";
  }
  return std::to_string(proto);
}

std::string to_json_line(const Event& e) {
  std::string out;
  out.reserve(256);
  out += "{\"timestamp\":\"";
  out += core::format_iso8601(e.ts);
  out += "\",\"event_type\":\"";
  out += event_type_name(e.type);
  out += '"';
  if (!e.src_ip.empty()) {
    append_key(out, "src_ip");
    out += fmt::format("\"{}\"", e.src_ip.to_string());
  }
  if (e.src_port) out += fmt::format(",\"src_port\":{}", *e.src_port);
  if (!e.dest_ip.empty()) {
    append_key(out, "dest_ip");
    out += fmt::format("\"{}\"", e.dest_ip.to_string());
  }
  if (e.dest_port) out += fmt::format(",\"dest_port\":{}", *e.dest_port);
  if (e.proto != 0) out += fmt::format(",\"proto\":\"{}\"", proto_name(e.proto));
  append_alert(out, e);
  if (e.type != EventType::alert && !e.body.is_null()) {
    append_key(out, event_type_name(e.type));
    out += dump(e.body);
  }
  if (!e.picket.is_null()) {
    append_key(out, "picket");
    out += dump(e.picket);
  }
  out += '}';
  return out;
}

std::string to_text_line(const Event& e) {
  std::string out;
  out.reserve(160);
  out += core::format_iso8601(e.ts);
  out += ' ';
  out += event_type_name(e.type);
  out += ' ';

  std::string_view detector;
  if (e.picket.is_object()) {
    auto it = e.picket.find("detector");
    if (it != e.picket.end() && it->is_string()) detector = it->get_ref<const std::string&>();
  }
  if (detector.empty()) {
    out += '-';
  } else {
    append_token(out, detector);
  }
  if (e.alert) {
    out += ' ';
    append_string(out, e.alert->signature);  // always quoted: signatures are sentences
  }
  const bool has_src = !e.src_ip.empty() || e.src_port;
  const bool has_dst = !e.dest_ip.empty() || e.dest_port;
  if (has_src || has_dst) {
    out += ' ';
    append_endpoint(out, e.src_ip, e.src_port);
    out += " -> ";
    append_endpoint(out, e.dest_ip, e.dest_port);
  }
  if (e.proto != 0) {
    out += ' ';
    out += proto_name(e.proto);
  }
  if (e.alert) {
    out += fmt::format(" severity={}", e.alert->severity);
    if (!e.alert->action.empty()) {
      out += " action=";
      append_token(out, e.alert->action);
    }
  }
  if (!e.body.is_null()) {
    const bool alert_extras = e.type == EventType::alert && e.alert;
    append_members(out, e.body, alert_extras ? SkipList(kAlertFields) : SkipList{},
                   e.type == EventType::alert ? "data" : event_type_name(e.type));
  }
  if (!e.picket.is_null()) {
    static constexpr std::array<std::string_view, 1> kDetector = {"detector"};
    append_members(out, e.picket, detector.empty() ? SkipList{} : SkipList(kDetector), "picket");
  }
  return out;
}

}  // namespace picket::output

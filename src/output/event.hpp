// Event: one security-relevant record (an alert, a decision, a decode anomaly, a stats snapshot)
// and its two renderings — a JSON line in Suricata's EVE layout, and a one-line text log entry.
//
// Contract:
// - Both renderings are deterministic: the same Event gives byte-identical output (fixed key order,
//   timestamps always UTC "+0000", numbers as nlohmann::json prints them).
// - Both are pure ASCII and one line: non-ASCII is escaped (\uXXXX), invalid UTF-8 is replaced by
//   U+FFFD instead of throwing, so attacker-controlled strings cannot break a line or a terminal.
// - Fields that do not apply are omitted, never written as null or 0 (see Event below).
// - The format is documented for users in docs/events.md; change both together.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/ip_address.hpp"
#include "core/packet_meta.hpp"
#include "core/time.hpp"

namespace picket::output {

enum class EventType : uint8_t { alert, decision, anomaly, stats };

// "alert", "decision", "anomaly", "stats" — the EVE `event_type` value.
std::string_view event_type_name(EventType type) noexcept;
// The inverse, for filters such as `picket events --type alert`; nullopt for an unknown name.
std::optional<EventType> parse_event_type(std::string_view name) noexcept;

// Suricata's spelling of an IP protocol: "TCP", "UDP", "ICMP", "IPv6-ICMP", else the decimal number.
std::string proto_name(uint8_t proto);

struct AlertInfo {
  std::string signature;      // "picket: SYN flood from a single source"
  std::string category;       // "Denial of Service", "Network Scan", "Misc Activity", ...
  int severity = 3;           // 1 high .. 3 low (Suricata convention); written as given
  uint32_t signature_id = 0;  // 0 = omit; else stable per detector + kind
  std::string action;         // "" = omit, else "allowed" / "blocked"
};

struct Event {
  EventType type = EventType::stats;
  core::Timestamp ts;
  core::IpAddress src_ip, dest_ip;  // empty() = omit
  std::optional<core::Port> src_port, dest_port;  // nullopt = omit (ICMP, stats)
  uint8_t proto = 0;                              // IANA number; 0 = omit
  std::optional<AlertInfo> alert;
  // The event-type object, written under the key named after the type ("anomaly": {...},
  // "stats": {...}, "decision": {...}); null = omit. For alert events the members of an object body
  // are appended to the "alert" object after the AlertInfo fields (which win on a name clash), and a
  // non-object body is written as "alert": {..., "data": body}.
  nlohmann::ordered_json body;
  // picket's own fields ("detector", evidence...); null = omit.
  nlohmann::ordered_json picket;
};

// {"timestamp":..,"event_type":..,"src_ip":..,"src_port":..,"dest_ip":..,"dest_port":..,"proto":..,
//  "alert":{"action","signature_id","signature","category","severity"},"<type>":body,"picket":{..}}
// Without the trailing newline.
std::string to_json_line(const Event& event);

// TIMESTAMP TYPE DETECTOR ["SIGNATURE"] [SRC -> DST] [PROTO] [severity=N] [action=A] [key=value...]
// DETECTOR is picket.detector or "-"; key=value pairs are the body's then picket's members, nested
// objects flattened with dots ("anomalies.ipv4_truncated=3"); values with spaces, quotes or '=' are
// JSON-quoted. Without the trailing newline.
std::string to_text_line(const Event& event);

// Where events go. Implementations are in sinks.hpp. emit() must not throw: it runs on the
// packet path, so a sink counts its failures instead.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(const Event& event) = 0;
  virtual void flush() {}
  // Closes and reopens the output path in append mode (log rotation).
  virtual void reopen() {}
};

}  // namespace picket::output

// The alert destinations' configuration: the keys under "alerts." and their checked, typed form.
//
// Contract:
// - declare_config declares every key; every destination is disabled by default, in every profile.
// - parse_settings checks what the schema cannot (URL schemes, mail addresses, the syslog target,
//   header syntax, a readable password file) and returns every problem at once, one line each,
//   each naming its key: "alerts.webhook.url: only http:// and https:// URLs are accepted (got ...)".
// - Settings of a disabled destination are not checked (a half-filled disabled block is not an error).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace picket::alert {

void declare_config(config::Schema& schema);

// What every destination shares: which events, how many, how hard to try.
struct Limits {
  int min_severity = 2;            // 1 high .. 3 low: alerts with severity <= this are sent
  bool include_decisions = false;  // also send decision events (block, unblock, rate limits)
  uint32_t max_per_minute = 10;    // single messages in any 60 s; the rest go into a digest
  core::Duration digest_window = core::Duration::seconds(60);
  core::Duration timeout = core::Duration::seconds(10);  // one delivery attempt
  uint32_t queue = 1000;                                 // events waiting for the worker; beyond that they are dropped
  uint32_t retries = 3;                                  // attempts after the first one
  core::Duration retry_delay = core::Duration::seconds(1);  // first back-off, doubled up to 60 s
  friend bool operator==(const Limits&, const Limits&) = default;
};

enum class WebhookFormat { json, slack };
struct WebhookSettings {
  Limits limits;
  std::string url;
  WebhookFormat format = WebhookFormat::json;
  std::vector<std::string> headers;  // "Name: value", checked for CR/LF
  friend bool operator==(const WebhookSettings&, const WebhookSettings&) = default;
};

enum class SmtpTls { try_starttls, require };
struct EmailSettings {
  Limits limits;
  std::string url;  // smtp://host[:port] or smtps://host[:port]
  std::string from;
  std::vector<std::string> to;
  std::string username, password;  // password from the config or read from password_file
  SmtpTls tls = SmtpTls::try_starttls;
  std::string ca_file;  // "" = the system's CA store
  friend bool operator==(const EmailSettings&, const EmailSettings&) = default;
};

enum class SyslogTransportKind { unix_datagram, udp, tcp };
struct SyslogTarget {
  SyslogTransportKind kind = SyslogTransportKind::unix_datagram;
  std::string path;  // unix
  std::string host;  // udp/tcp: name or address (IPv6 without brackets)
  uint16_t port = 514;
  friend bool operator==(const SyslogTarget&, const SyslogTarget&) = default;
};
struct SyslogSettings {
  Limits limits;
  SyslogTarget target;
  int facility = 4;  // auth
  std::string app_name = "picket";
  friend bool operator==(const SyslogSettings&, const SyslogSettings&) = default;
};

struct Settings {
  std::optional<WebhookSettings> webhook;  // nullopt = disabled
  std::optional<EmailSettings> email;
  std::optional<SyslogSettings> syslog;
  friend bool operator==(const Settings&, const Settings&) = default;
};

core::Result<Settings> parse_settings(const config::Config& cfg);

// "unix:/dev/log", "udp:HOST:PORT", "tcp:HOST:PORT", "udp:[2001:db8::1]:514".
core::Result<SyslogTarget> parse_syslog_target(std::string_view text);
// The facility's number (RFC 5424 table: kern 0 .. local7 23); nullopt for an unknown name.
std::optional<int> parse_facility(std::string_view name);
// A bare addr-spec "local@domain" in printable ASCII without spaces, brackets, quotes or commas.
bool is_plain_mail_address(std::string_view text);
// "high" 1, "medium" 2, "low" 3.
std::optional<int> parse_severity_name(std::string_view name);

}  // namespace picket::alert

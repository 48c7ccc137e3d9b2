#include "alert/settings.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <curl/curl.h>
#include <fmt/format.h>

namespace picket::alert {
namespace {

using core::Duration;

constexpr std::string_view kFacilities[][2] = {
    {"user", "1"},    {"mail", "2"},    {"daemon", "3"},  {"auth", "4"},    {"syslog", "5"},
    {"lpr", "6"},     {"news", "7"},    {"uucp", "8"},    {"cron", "9"},    {"authpriv", "10"},
    {"ftp", "11"},    {"local0", "16"}, {"local1", "17"}, {"local2", "18"}, {"local3", "19"},
    {"local4", "20"}, {"local5", "21"}, {"local6", "22"}, {"local7", "23"},
};

std::vector<std::string> facility_names() {
  std::vector<std::string> out;
  for (const auto& f : kFacilities) out.emplace_back(f[0]);
  return out;
}

void declare_limits(config::SchemaSection& s, std::string_view what, std::string min_severity) {
  s.boolean("enabled", false, fmt::format("Send alerts to {}", what));
  s.choice("min_severity", std::move(min_severity), {"high", "medium", "low"},
           "Send alerts of this severity and above (high = severity 1, medium = 2, low = 3)");
  s.boolean("include_decisions", false, "Also send decision events (blocks, unblocks, rate limits)");
  s.integer("max_per_minute", 10, 1, 10'000,
            "Single messages allowed in any 60 s; further events are summed up into one digest message",
            "seed 002: alerts by email, Slack, webhook");
  s.duration("digest_window", Duration::seconds(60), Duration::seconds(1), Duration::seconds(3600),
             "How long rate-limited events are collected before their digest is sent");
  s.duration("timeout", Duration::seconds(10), Duration::millis(100), Duration::seconds(300),
             "Time allowed for one delivery attempt (connect and transfer)");
  s.integer("queue", 1000, 1, 1'000'000,
            "Events waiting for delivery; when full, new events are dropped and counted (never waited for)");
  s.integer("retries", 3, 0, 10, "Attempts after a failed delivery before the message counts as failed");
  s.duration("retry_delay", Duration::seconds(1), Duration::millis(10), Duration::seconds(60),
             "Back-off before the first retry; it doubles for each further retry, up to 60 s");
}

struct Errors {
  std::vector<std::string> lines;
  void add(std::string_view key, std::string message) { lines.push_back(fmt::format("{}: {}", key, message)); }
};

Limits read_limits(const config::Config& cfg, const std::string& p) {
  Limits l;
  l.min_severity = parse_severity_name(cfg.string(p + ".min_severity")).value_or(2);
  l.include_decisions = cfg.boolean(p + ".include_decisions");
  l.max_per_minute = static_cast<uint32_t>(cfg.integer(p + ".max_per_minute"));
  l.digest_window = cfg.duration(p + ".digest_window");
  l.timeout = cfg.duration(p + ".timeout");
  l.queue = static_cast<uint32_t>(cfg.integer(p + ".queue"));
  l.retries = static_cast<uint32_t>(cfg.integer(p + ".retries"));
  l.retry_delay = cfg.duration(p + ".retry_delay");
  return l;
}

bool has_control_or_space(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c >= 0x7f) return true;
  return false;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 120)) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (s.size() > 120) out += "...";
  return out + "\"";
}

// The scheme (lower case) of a URL that curl's own parser accepts with a host, or an error text.
core::Result<std::string> url_scheme(std::string_view url) {
  if (url.empty()) return core::make_error("is empty");
  if (has_control_or_space(url))
    return core::make_error(fmt::format("contains spaces or control characters: {}", quoted(url)));
  // curl would guess a scheme for "host/path"; the user must say which protocol is meant.
  if (url.find("://") == std::string_view::npos) return core::make_error(fmt::format("no scheme in {}", quoted(url)));
  CURLU* u = curl_url();
  if (u == nullptr) return core::make_error("out of memory");
  std::string text(url);
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, text.c_str(), 0);
  std::string scheme;
  bool has_host = false;
  if (rc == CURLUE_OK) {
    char* part = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK && part != nullptr) scheme = part;
    curl_free(part);
    part = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK && part != nullptr) has_host = part[0] != '\0';
    curl_free(part);
  }
  curl_url_cleanup(u);
  if (rc != CURLUE_OK) return core::make_error(fmt::format("not a URL ({}): {}", curl_url_strerror(rc), quoted(url)));
  if (!has_host) return core::make_error(fmt::format("no host in {}", quoted(url)));
  return scheme;
}

void check_header(Errors& errors, const std::string& key, const std::string& h) {
  size_t colon = h.find(':');
  bool name_ok = colon != std::string::npos && colon > 0;
  for (size_t i = 0; name_ok && i < colon; ++i) {
    char c = h[i];
    name_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  bool value_ok = true;
  for (unsigned char c : h)
    if ((c < 0x20 && c != '\t') || c == 0x7f) value_ok = false;
  if (!name_ok || !value_ok)
    errors.add(key, fmt::format("not a header line \"Name: value\" without control characters: {}", quoted(h)));
}

std::optional<WebhookSettings> read_webhook(const config::Config& cfg, Errors& errors) {
  const std::string p = "alerts.webhook";
  if (!cfg.boolean(p + ".enabled")) return std::nullopt;
  WebhookSettings w;
  w.limits = read_limits(cfg, p);
  w.url = cfg.string(p + ".url");
  auto scheme = url_scheme(w.url);
  if (!scheme)
    errors.add(p + ".url", scheme.error().message);
  else if (*scheme != "http" && *scheme != "https")
    errors.add(p + ".url", fmt::format("only http:// and https:// URLs are accepted (got {})", quoted(w.url)));
  w.format = cfg.string(p + ".format") == "slack" ? WebhookFormat::slack : WebhookFormat::json;
  w.headers = cfg.list(p + ".headers");
  for (const auto& h : w.headers) check_header(errors, p + ".headers", h);
  return w;
}

core::Result<std::string> read_password_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string text;
  std::getline(in, text);  // the first line; a trailing newline is not part of the password
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) return core::make_error(fmt::format("{} is empty", path));
  return text;
}

std::optional<EmailSettings> read_email(const config::Config& cfg, Errors& errors) {
  const std::string p = "alerts.email";
  if (!cfg.boolean(p + ".enabled")) return std::nullopt;
  EmailSettings e;
  e.limits = read_limits(cfg, p);
  e.url = cfg.string(p + ".url");
  auto scheme = url_scheme(e.url);
  if (!scheme)
    errors.add(p + ".url", scheme.error().message);
  else if (*scheme != "smtp" && *scheme != "smtps")
    errors.add(p + ".url", fmt::format("only smtp:// and smtps:// URLs are accepted (got {})", quoted(e.url)));
  e.from = cfg.string(p + ".from");
  if (e.from.empty())
    errors.add(p + ".from", "is empty: set the sender address");
  else if (!is_plain_mail_address(e.from))
    errors.add(p + ".from", fmt::format("not a mail address: {}", quoted(e.from)));
  e.to = cfg.list(p + ".to");
  if (e.to.empty()) errors.add(p + ".to", "is empty: list at least one recipient");
  for (const auto& t : e.to)
    if (!is_plain_mail_address(t)) errors.add(p + ".to", fmt::format("not a mail address: {}", quoted(t)));
  e.username = cfg.string(p + ".username");
  e.password = cfg.string(p + ".password");
  const std::string& pw_file = cfg.string(p + ".password_file");
  bool pw_error = false;
  if (!pw_file.empty()) {
    pw_error = true;
    if (!e.password.empty())
      errors.add(p + ".password_file", "set both password and password_file: keep one");
    else if (auto pw = read_password_file(pw_file); !pw)
      errors.add(p + ".password_file", pw.error().message);
    else {
      pw_error = false;
      e.password = std::move(*pw);
    }
  }
  if (!pw_error && e.username.empty() != e.password.empty())
    errors.add(p + ".username", "username and password (or password_file) go together: set both or neither");
  e.tls = cfg.string(p + ".tls") == "require" ? SmtpTls::require : SmtpTls::try_starttls;
  e.ca_file = cfg.string(p + ".ca_file");
  return e;
}

std::optional<SyslogSettings> read_syslog(const config::Config& cfg, Errors& errors) {
  const std::string p = "alerts.syslog";
  if (!cfg.boolean(p + ".enabled")) return std::nullopt;
  SyslogSettings s;
  s.limits = read_limits(cfg, p);
  auto target = parse_syslog_target(cfg.string(p + ".target"));
  if (!target)
    errors.add(p + ".target", target.error().message);
  else
    s.target = std::move(*target);
  auto facility = parse_facility(cfg.string(p + ".facility"));
  if (!facility)
    errors.add(p + ".facility", fmt::format("unknown facility {}", quoted(cfg.string(p + ".facility"))));
  else
    s.facility = *facility;
  s.app_name = cfg.string(p + ".app_name");
  if (s.app_name.empty() || s.app_name.size() > 48 || has_control_or_space(s.app_name))
    errors.add(p + ".app_name",
               fmt::format("must be 1..48 printable ASCII characters without spaces (got {})", quoted(s.app_name)));
  return s;
}

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection w(schema, "alerts.webhook");
  declare_limits(w, "a webhook (HTTP POST)", "medium");
  w.string("url", "", "http:// or https:// URL to POST to (a Slack incoming-webhook URL with format slack)");
  w.choice(
      "format", "json", {"json", "slack"},
      "json: the EVE event (or a digest object) as the body; slack: a Slack-compatible {\"text\", \"blocks\"} payload");
  w.string_list("headers", {}, 16, "Extra request headers, \"Name: value\" (e.g. an Authorization header)");

  config::SchemaSection e(schema, "alerts.email");
  declare_limits(e, "mail recipients (SMTP)", "high");
  e.string("url", "smtp://localhost:25",
           "Mail server: smtp://host[:port] (STARTTLS per alerts.email.tls) or smtps://host[:port]",
           "seed 004: [alerting] enable_email_alerts");
  e.string("from", "", "Sender address (envelope and From: header), e.g. picket@example.org");
  e.string_list("to", {}, 32, "Recipient addresses", "seed 004: [alerting] email_recipient");
  e.string("username", "", "SMTP AUTH user name (empty = no authentication)");
  e.string("password", "", "SMTP AUTH password (prefer password_file)");
  e.string("password_file", "", "File whose first line is the SMTP AUTH password");
  e.choice("tls", "try", {"try", "require"},
           "smtp:// URLs: try = STARTTLS when the server offers it; require = fail unless STARTTLS succeeds");
  e.string("ca_file", "", "PEM file of CA certificates to verify the server with (empty = the system's store)");

  config::SchemaSection s(schema, "alerts.syslog");
  declare_limits(s, "syslog (RFC 5424)", "medium");
  s.string("target", "unix:/dev/log",
           "unix:/PATH (local datagram socket), udp:HOST:PORT or tcp:HOST:PORT (octet-counted framing)");
  s.choice("facility", "auth", facility_names(), "Syslog facility of the messages");
  s.string("app_name", "picket", "APP-NAME field of the messages");
}

core::Result<Settings> parse_settings(const config::Config& cfg) {
  Errors errors;
  Settings s;
  s.webhook = read_webhook(cfg, errors);
  s.email = read_email(cfg, errors);
  s.syslog = read_syslog(cfg, errors);
  if (!errors.lines.empty()) {
    std::string all;
    for (const auto& l : errors.lines) all += (all.empty() ? "" : "\n") + l;
    return core::make_error(std::move(all));
  }
  return s;
}

core::Result<SyslogTarget> parse_syslog_target(std::string_view text) {
  SyslogTarget t;
  auto bad = [&](std::string_view why) {
    return core::make_error(
        fmt::format("{} (got {}; expected unix:/PATH, udp:HOST:PORT or tcp:HOST:PORT)", why, quoted(text)));
  };
  if (text.starts_with("unix:")) {
    t.kind = SyslogTransportKind::unix_datagram;
    t.path = std::string(text.substr(5));
    if (t.path.empty() || t.path[0] != '/') return bad("the socket path must be absolute");
    if (t.path.size() >= 108) return bad("the socket path is too long");  // sun_path
    if (has_control_or_space(t.path)) return bad("the socket path has spaces or control characters");
    return t;
  }
  std::string_view rest;
  if (text.starts_with("udp:"))
    t.kind = SyslogTransportKind::udp;
  else if (text.starts_with("tcp:"))
    t.kind = SyslogTransportKind::tcp;
  else
    return bad("unknown transport");
  rest = text.substr(4);
  std::string_view host, port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return bad("an IPv6 address is written [ADDR]:PORT");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("an IPv6 address is written [ADDR]:PORT");
  }
  if (host.empty() || has_control_or_space(host)) return bad("no valid host");
  if (port.empty() || port.size() > 5) return bad("no valid port");
  uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("no valid port");
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p == 0 || p > 65535) return bad("port out of range 1..65535");
  t.host = std::string(host);
  t.port = static_cast<uint16_t>(p);
  return t;
}

std::optional<int> parse_facility(std::string_view name) {
  for (const auto& f : kFacilities)
    if (f[0] == name) return std::stoi(std::string(f[1]));
  return std::nullopt;
}

bool is_plain_mail_address(std::string_view text) {
  if (text.size() > 254) return false;
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= text.size()) return false;
  if (text.find('@') != at) return false;
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
    if (c == '<' || c == '>' || c == '"' || c == ',' || c == ';' || c == '(' || c == ')' || c == '\\' || c == '[' ||
        c == ']' || c == ':')
      return false;
  }
  std::string_view domain = text.substr(at + 1);
  return domain.front() != '.' && domain.back() != '.' && domain.find("..") == std::string_view::npos;
}

std::optional<int> parse_severity_name(std::string_view name) {
  if (name == "high") return 1;
  if (name == "medium") return 2;
  if (name == "low") return 3;
  return std::nullopt;
}

}  // namespace picket::alert

#include "alert/render.hpp"

#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

namespace picket::alert {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

// Printable ASCII, for text that ends up in a human message body.
std::string ascii(std::string_view text, size_t max = 2000) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c == '\t' || c == '\r' || c == '\n')
      out += ' ';
    else if (c < 0x20 || c >= 0x7f)
      out += '?';
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string endpoint(const core::IpAddress& ip, const std::optional<core::Port>& port) {
  if (ip.empty()) return "-";
  if (!port) return ip.to_string();
  return ip.is_v6() ? fmt::format("[{}]:{}", ip.to_string(), *port) : fmt::format("{}:{}", ip.to_string(), *port);
}

std::string rfc3339(core::Timestamp t) {
  std::string s = core::format_iso8601(t);  // ...+0000
  if (s.size() > 5 && s.ends_with("+0000")) s.replace(s.size() - 5, 5, "Z");
  return s;
}

const Json* decision_of(const output::Event& e) {
  if (e.type != output::EventType::decision || !e.body.is_object()) return nullptr;
  return &e.body;
}

std::string json_string(const Json* obj, std::string_view key) {
  if (obj == nullptr) return "";
  auto it = obj->find(key);
  if (it == obj->end()) return "";
  return it->is_string() ? it->get<std::string>() : dump(*it);
}

// One short line naming what happened, used by subjects, Slack text and the body's first line.
std::string headline(const output::Event& e) {
  std::string det = detector_of(e);
  if (e.type == output::EventType::decision) {
    const Json* d = decision_of(e);
    std::string action = json_string(d, "action");
    std::string target = json_string(d, "target");
    return fmt::format("decision {} {}{}", action.empty() ? "?" : action,
                       target.empty() ? endpoint(e.src_ip, std::nullopt) : target,
                       det == "-" ? "" : fmt::format(" ({})", det));
  }
  int sev = e.alert ? e.alert->severity : 3;
  std::string out = fmt::format("{}: {}", severity_name(sev), det);
  if (!e.src_ip.empty()) out += " from " + e.src_ip.to_string();
  if (e.alert && !e.alert->signature.empty()) out += " - " + e.alert->signature;
  return out;
}

std::string qp_encode(std::string_view body) {
  // Quoted-printable (RFC 2045): only needed when a line would pass SMTP's 998-octet limit.
  std::string out;
  size_t col = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
      out += "\r\n";
      ++i;
      col = 0;
      continue;
    }
    std::string piece;
    auto uc = static_cast<unsigned char>(c);
    bool at_eol = i + 1 >= body.size() || body[i + 1] == '\r';
    if (c == '=' || uc < 0x20 || uc >= 0x7f || ((c == ' ' || c == '\t') && at_eol))
      piece = fmt::format("={:02X}", uc);
    else
      piece = std::string(1, c);
    if (col + piece.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  }
  return out;
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += "\r\n";
    else if (c != '\r')
      out += c;
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

std::string assemble_mail(const std::string& subject, const std::string& body_text, const MailEnvelope& env,
                          const Origin& origin, core::Timestamp now, std::string_view message_id) {
  std::string body = crlf_lines(body_text);
  bool long_line = false;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\r\n", start);
    if (end == std::string::npos) end = body.size();
    if (end - start > 990) long_line = true;
    start = end + 2;
  }
  std::string to;
  for (const auto& t : env.to) to += (to.empty() ? "" : ", ") + header_safe(t, 254);
  std::string h;
  h += "Date: " + rfc5322_date(now) + "\r\n";
  h += fmt::format("Message-ID: <{}>\r\n", header_safe(message_id, 200));
  h += fmt::format("From: picket on {} <{}>\r\n", header_safe(origin.hostname, 64), header_safe(env.from, 254));
  h += "To: " + to + "\r\n";
  h += "Subject: " + header_safe(subject, 200) + "\r\n";
  h += "MIME-Version: 1.0\r\n";
  h += "Content-Type: text/plain; charset=us-ascii\r\n";
  h += std::string("Content-Transfer-Encoding: ") + (long_line ? "quoted-printable" : "7bit") + "\r\n";
  h += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no vacation replies to an alarm
  h += "X-Mailer: picket\r\n";
  h += "\r\n";
  return h + (long_line ? qp_encode(body) : body);
}

}  // namespace

Origin local_origin() {
  Origin o;
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) == 0 && buf[0] != '\0') {
    std::string h;
    for (unsigned char c : std::string_view(buf)) h += (c > 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    o.hostname = h;
  }
  o.pid = static_cast<int>(::getpid());
  return o;
}

std::string_view severity_name(int severity) noexcept {
  switch (severity) {
    case 1:
      return "high";
    case 2:
      return "medium";
    case 3:
      return "low";
    default:
      return "unknown";
  }
}

// ----- webhook

std::string webhook_json(const output::Event& event) {
  return output::to_json_line(event);
}
std::string webhook_json(const Digest& digest) {
  return dump(digest.to_json());
}

std::string slack_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

Json mrkdwn(std::string text) {
  return Json{{"type", "mrkdwn"}, {"text", std::move(text)}};
}

Json slack(const std::string& fallback, const std::string& title,
           std::vector<std::pair<std::string, std::string>> fields, const std::string& detail,
           const std::string& context) {
  Json blocks = Json::array();
  blocks.push_back({{"type", "section"}, {"text", mrkdwn(slack_escape(ascii(title, 2900)))}});
  if (!fields.empty()) {
    Json f = Json::array();
    for (auto& [k, v] : fields) {
      if (f.size() >= 10) break;  // Slack's limit per section
      f.push_back(mrkdwn(fmt::format("*{}*\n{}", k, slack_escape(ascii(v, 1900)))));
    }
    blocks.push_back({{"type", "section"}, {"fields", std::move(f)}});
  }
  if (!detail.empty())
    blocks.push_back({{"type", "section"}, {"text", mrkdwn("```" + slack_escape(ascii(detail, 2800)) + "```")}});
  blocks.push_back({{"type", "context"}, {"elements", Json::array({mrkdwn(slack_escape(ascii(context, 1900)))})}});
  return Json{{"text", slack_escape(ascii(fallback, 2900))}, {"blocks", std::move(blocks)}};
}

}  // namespace

std::string slack_payload(const output::Event& e, const Origin& origin) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("Detector", detector_of(e));
  if (e.alert) {
    fields.emplace_back("Severity", fmt::format("{} ({})", e.alert->severity, severity_name(e.alert->severity)));
    if (!e.alert->category.empty()) fields.emplace_back("Category", e.alert->category);
    if (!e.alert->action.empty()) fields.emplace_back("Action", e.alert->action);
  }
  if (const Json* d = decision_of(e)) {
    fields.emplace_back("Action", json_string(d, "action"));
    if (std::string dur = json_string(d, "duration"); !dur.empty()) fields.emplace_back("Duration (s)", dur);
  }
  fields.emplace_back("Source", endpoint(e.src_ip, e.src_port));
  fields.emplace_back("Destination", endpoint(e.dest_ip, e.dest_port));
  if (e.proto != 0) fields.emplace_back("Protocol", output::proto_name(e.proto));
  std::string title = fmt::format("*picket {}* - {}", output::event_type_name(e.type), headline(e));
  return dump(slack(fmt::format("picket {}", headline(e)), title, std::move(fields), output::to_text_line(e),
                    fmt::format("{} on {}", core::format_iso8601(e.ts), origin.hostname)));
}

std::string slack_payload(const Digest& g, const Origin& origin) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& d : g.detectors) {
    std::string v = fmt::format("{} alerts", d.alerts);
    if (d.decisions > 0) v += fmt::format(", {} decisions", d.decisions);
    v += fmt::format(", {} sources", d.sources);
    fields.emplace_back(d.detector, std::move(v));
    if (fields.size() >= 9) break;
  }
  std::string tops;
  for (const auto& s : g.top_sources) tops += fmt::format("{} ({})\n", s.address, s.events);
  if (!tops.empty()) fields.emplace_back("Top sources", tops);
  std::string title = "*picket digest* - " + g.summary();
  return dump(slack("picket digest: " + g.summary(), title, std::move(fields), "",
                    fmt::format("{} .. {} on {}", core::format_iso8601(g.first_seen), core::format_iso8601(g.last_seen),
                                origin.hostname)));
}

// ----- email

std::string header_safe(std::string_view text, size_t max) {
  return ascii(text, max);
}

std::string rfc5322_date(core::Timestamp t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = static_cast<std::time_t>(t.seconds());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                     kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string mail_subject(const output::Event& e) {
  return header_safe("[picket] " + headline(e));
}

std::string mail_subject(const Digest& g) {
  std::string head = fmt::format("[picket] digest: {} alerts", g.alerts);
  if (g.decisions > 0) head += fmt::format(", {} decisions", g.decisions);
  head += fmt::format(" in {}", core::format_duration(g.window));
  if (g.highest_severity > 0) head += fmt::format(" (highest {})", severity_name(g.highest_severity));
  if (!g.detectors.empty()) head += ", mostly " + g.detectors.front().detector;
  return header_safe(head);
}

std::string mail_message(const output::Event& e, const MailEnvelope& env, const Origin& origin, core::Timestamp now,
                         std::string_view message_id) {
  std::string b;
  b += fmt::format("picket on {} reports: {}\n\n", origin.hostname, ascii(headline(e)));
  auto line = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) b += fmt::format("{:<13}{}\n", std::string(k) + ":", ascii(v));
  };
  line("Event", std::string(output::event_type_name(e.type)));
  line("Time", core::format_iso8601(e.ts));
  line("Detector", detector_of(e));
  if (e.alert) {
    line("Signature", e.alert->signature);
    line("Category", e.alert->category);
    line("Severity", fmt::format("{} ({})", e.alert->severity, severity_name(e.alert->severity)));
    line("Action", e.alert->action);
  }
  if (const Json* d = decision_of(e)) {
    line("Decision", json_string(d, "action"));
    line("Target", json_string(d, "target"));
    line("Duration", json_string(d, "duration"));
    line("Expires", json_string(d, "expires"));
    line("Reason", json_string(d, "reason"));
  }
  line("Source", endpoint(e.src_ip, e.src_port));
  line("Destination", endpoint(e.dest_ip, e.dest_port));
  if (e.proto != 0) line("Protocol", output::proto_name(e.proto));
  b += "\nLog line:\n" + output::to_text_line(e) + "\n";
  // Pretty-printed so the lines stay short for mail; ASCII because dump escapes the rest.
  Json j = Json::parse(output::to_json_line(e), nullptr, /*allow_exceptions=*/false);
  b += "\nEvent (EVE JSON):\n" + (j.is_discarded() ? output::to_json_line(e) : dump(j, 2)) + "\n";
  return assemble_mail(mail_subject(e), b, env, origin, now, message_id);
}

std::string mail_message(const Digest& g, const MailEnvelope& env, const Origin& origin, core::Timestamp now,
                         std::string_view message_id) {
  std::string b;
  b += fmt::format("picket on {}: {}\n\n", origin.hostname, g.summary());
  b += fmt::format("Between {} and {} (event time), more events came than alerts.*.max_per_minute lets through\n",
                   core::format_iso8601(g.first_seen), core::format_iso8601(g.last_seen));
  b += "one by one, so they are summed up here.\n\nBy detector:\n";
  for (const auto& d : g.detectors)
    b += fmt::format("  {:<20} {:>8} alerts {:>6} decisions {:>6} sources\n", d.detector, d.alerts, d.decisions,
                     d.sources);
  if (!g.top_sources.empty()) {
    b += "\nTop sources:\n";
    for (const auto& s : g.top_sources) b += fmt::format("  {:<40} {:>8} events\n", s.address, s.events);
  }
  b += fmt::format("\nDistinct sources: {}{}\n", g.distinct_sources,
                   g.sources_capped ? " (at least; not all were tracked)" : "");
  b += "\nDigest (JSON):\n" + dump(g.to_json(), 2) + "\n";
  return assemble_mail(mail_subject(g), b, env, origin, now, message_id);
}

// ----- syslog

int syslog_severity(const output::Event& e) noexcept {
  if (e.type != output::EventType::alert) return 5;
  switch (e.alert ? e.alert->severity : 3) {
    case 1:
      return 2;
    case 2:
      return 4;
    default:
      return 5;
  }
}

int syslog_severity(const Digest& g) noexcept {
  switch (g.highest_severity) {
    case 1:
      return 2;
    case 2:
      return 4;
    default:
      return 5;
  }
}

std::string sd_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 256)) {
    if (c == '"' || c == '\\' || c == ']') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace {

// 32473 is the private enterprise number RFC 5612 reserves for documentation; picket has none of its own.
constexpr std::string_view kSdId = "picket@32473";

std::string header_field(std::string_view text, size_t max) {
  std::string out;
  for (unsigned char c : text.substr(0, max)) out += (c > 0x20 && c < 0x7f) ? static_cast<char>(c) : '_';
  return out.empty() ? "-" : out;
}

std::string syslog_head(int pri, core::Timestamp ts, std::string_view msgid, const SyslogFormat& f, const Origin& o) {
  return fmt::format("<{}>1 {} {} {} {} {} ", pri, rfc3339(ts), header_field(o.hostname, 255),
                     header_field(f.app_name, 48), o.pid, header_field(msgid, 32));
}

}  // namespace

std::string syslog_line(const output::Event& e, const SyslogFormat& f, const Origin& o) {
  std::string out = syslog_head(f.facility * 8 + syslog_severity(e), e.ts, output::event_type_name(e.type), f, o);
  std::string sd = fmt::format("[{} event_type=\"{}\" detector=\"{}\"", kSdId, output::event_type_name(e.type),
                               sd_escape(detector_of(e)));
  if (!e.src_ip.empty()) sd += fmt::format(" src=\"{}\"", e.src_ip.to_string());
  if (e.src_port) sd += fmt::format(" src_port=\"{}\"", *e.src_port);
  if (!e.dest_ip.empty()) sd += fmt::format(" dest=\"{}\"", e.dest_ip.to_string());
  if (e.dest_port) sd += fmt::format(" dest_port=\"{}\"", *e.dest_port);
  if (e.proto != 0) sd += fmt::format(" proto=\"{}\"", sd_escape(output::proto_name(e.proto)));
  if (e.alert) {
    sd += fmt::format(" severity=\"{}\"", e.alert->severity);
    if (e.alert->signature_id != 0) sd += fmt::format(" signature_id=\"{}\"", e.alert->signature_id);
    if (!e.alert->action.empty()) sd += fmt::format(" action=\"{}\"", sd_escape(e.alert->action));
  }
  if (const Json* d = decision_of(e)) {
    sd += fmt::format(" action=\"{}\"", sd_escape(json_string(d, "action")));
    if (std::string t = json_string(d, "target"); !t.empty()) sd += fmt::format(" target=\"{}\"", sd_escape(t));
  }
  sd += "]";
  return out + sd + " " + output::to_text_line(e);
}

std::string syslog_line(const Digest& g, const SyslogFormat& f, const Origin& o) {
  std::string out = syslog_head(f.facility * 8 + syslog_severity(g), g.created, "digest", f, o);
  out += fmt::format("[{} event_type=\"digest\" alerts=\"{}\" decisions=\"{}\" sources=\"{}\" window=\"{}\"", kSdId,
                     g.alerts, g.decisions, g.distinct_sources, sd_escape(core::format_duration(g.window)));
  if (g.highest_severity > 0) out += fmt::format(" severity=\"{}\"", g.highest_severity);
  out += "] ";
  return out + ascii(g.summary(), 4000);
}

}  // namespace picket::alert

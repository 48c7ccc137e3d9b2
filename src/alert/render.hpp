// What each destination sends, as bytes: pure functions of an Event (or a Digest) and the
// destination's settings, so the exact payloads are unit-tested without a network.
//
// Contract:
// - Everything returned is ASCII. Attacker-influenced text (signatures, evidence, addresses) never
//   reaches a mail header or a syslog header field with CR, LF or another control character
//   (replaced by a space or '?'), and Slack's markup characters (&, <, >) are escaped.
// - Mail messages are RFC 5322 with CRLF line ends and lines under 998 octets (a body that would
//   need longer lines is sent quoted-printable). Dot-stuffing is libcurl's job.
// - Syslog lines are RFC 5424 without framing (the transport adds RFC 6587 octet counting on TCP).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "alert/digest.hpp"
#include "core/time.hpp"
#include "output/event.hpp"

namespace picket::alert {

// Sensor identity shared by every rendering: which host said it.
struct Origin {
  std::string hostname = "-";  // already sanitised: printable ASCII, no spaces
  int pid = 0;
};
// gethostname(), sanitised; "-" when it is unavailable.
Origin local_origin();

// "high" / "medium" / "low" for 1 / 2 / 3, else "unknown".
std::string_view severity_name(int severity) noexcept;

// ----- webhook
std::string webhook_json(const output::Event& event);  // the EVE line (output::to_json_line)
std::string webhook_json(const Digest& digest);        // Digest::to_json()
// {"text": fallback, "blocks": [...]} — a Slack incoming-webhook payload.
std::string slack_payload(const output::Event& event, const Origin& origin);
std::string slack_payload(const Digest& digest, const Origin& origin);
// Slack's mrkdwn escaping: & < > → &amp; &lt; &gt;.
std::string slack_escape(std::string_view text);

// ----- email
struct MailEnvelope {
  std::string from;
  std::vector<std::string> to;
};
// Header-safe text: printable ASCII only (CR, LF, TAB → space, other bytes → '?'), cut to `max` chars.
std::string header_safe(std::string_view text, size_t max = 200);
// "Thu, 21 Nov 2025 20:21:50 +0000" (RFC 5322 date-time, UTC).
std::string rfc5322_date(core::Timestamp t);
std::string mail_subject(const output::Event& event);
std::string mail_subject(const Digest& digest);
// The whole message: headers (Date, Message-ID, From, To, Subject, MIME, Auto-Submitted), a blank
// line, the body. `now` dates the mail; `message_id` is the part inside the angle brackets.
std::string mail_message(const output::Event& event, const MailEnvelope& env, const Origin& origin, core::Timestamp now,
                         std::string_view message_id);
std::string mail_message(const Digest& digest, const MailEnvelope& env, const Origin& origin, core::Timestamp now,
                         std::string_view message_id);

// ----- syslog
struct SyslogFormat {
  int facility = 4;
  std::string app_name = "picket";
};
// RFC 5424 severity for an event: alert severity 1 → 2 (crit), 2 → 4 (warning), 3 → 5 (notice);
// decisions 5 (notice); a digest takes its highest alert severity.
int syslog_severity(const output::Event& event) noexcept;
int syslog_severity(const Digest& digest) noexcept;
// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [picket@32473 ...] MSG
std::string syslog_line(const output::Event& event, const SyslogFormat& fmt, const Origin& origin);
std::string syslog_line(const Digest& digest, const SyslogFormat& fmt, const Origin& origin);
// RFC 5424 PARAM-VALUE escaping (", \ and ] get a backslash), printable ASCII only.
std::string sd_escape(std::string_view text);

}  // namespace picket::alert

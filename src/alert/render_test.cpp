#include "alert/render.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "alert/test_support.hpp"

namespace picket::alert {
namespace {

using testing::make_alert;
using testing::make_decision;

const Origin kOrigin{"sensor-1", 4242};

std::vector<std::string> split_crlf(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find("\r\n", start);
    if (end == std::string::npos) {
      if (start < text.size()) out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

TEST(AlertRender, SyslogLineIsRfc5424) {
  struct Case {
    output::Event event;
    int facility;
    int pri;
    const char* msgid;
  };
  const Case cases[] = {
      {make_alert("syn_flood", "198.19.0.10", 1), 4, 4 * 8 + 2, "alert"},
      {make_alert("port_scan", "198.19.0.10", 2), 16, 16 * 8 + 4, "alert"},
      {make_alert("port_scan", "2001:db8::1", 3), 10, 10 * 8 + 5, "alert"},
      {make_decision("syn_flood", "198.19.0.10"), 23, 23 * 8 + 5, "decision"},
  };
  // <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG
  const std::regex shape(
      R"(^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) (\S+) (\d+) (\S+) \[picket@32473( [a-z_]+="[^"]*")+\] (.+)$)");
  for (const auto& c : cases) {
    std::string line = syslog_line(c.event, SyslogFormat{c.facility, "picket"}, kOrigin);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, shape)) << line;
    EXPECT_EQ(std::stoi(m[1]), c.pri) << line;
    std::string iso = core::format_iso8601(c.event.ts);
    EXPECT_EQ(m[2].str(), iso.substr(0, iso.size() - 5) + "Z");
    EXPECT_EQ(m[3], "sensor-1");
    EXPECT_EQ(m[4], "picket");
    EXPECT_EQ(m[5], "4242");
    EXPECT_EQ(m[6], c.msgid);
    EXPECT_EQ(m[8], output::to_text_line(c.event));  // MSG is the text log line
    EXPECT_NE(line.find("detector=\"" + detector_of(c.event) + "\""), std::string::npos) << line;
    EXPECT_NE(line.find("src=\"" + c.event.src_ip.to_string() + "\""), std::string::npos) << line;
  }
}

TEST(AlertRender, SyslogEscapesStructuredData) {
  output::Event e = make_alert("evil\"] [x@1 a=\"b\\", "10.0.0.1");
  std::string line = syslog_line(e, SyslogFormat{}, kOrigin);
  EXPECT_NE(line.find(R"(detector="evil\"\] [x@1 a=\"b\\")"), std::string::npos) << line;
  EXPECT_EQ(sd_escape("a\nb\x01"), "a?b?");
  // Header fields never carry spaces: a hostname or app name with one would shift every field.
  std::string l2 = syslog_line(e, SyslogFormat{4, "my app"}, Origin{"bad host", 1});
  EXPECT_NE(l2.find(" bad_host my_app 1 alert "), std::string::npos) << l2;
}

TEST(AlertRender, SyslogDigest) {
  DigestBuilder b(core::Duration::seconds(60));
  for (int i = 0; i < 5; ++i) b.add(make_alert("port_scan", "10.0.0.1", 2), core::Timestamp{});
  Digest g = b.take(core::Timestamp::from_parts(1'764'000'000, 0));
  std::string line = syslog_line(g, SyslogFormat{16, "picket"}, kOrigin);
  EXPECT_TRUE(
      line.starts_with("<132>1 2025-11-24T16:00:00.000000Z sensor-1 picket 4242 digest [picket@32473 "
                       "event_type=\"digest\" alerts=\"5\""))
      << line;
  EXPECT_NE(line.find("] 5 alerts in the last 1m"), std::string::npos) << line;
}

TEST(AlertRender, MailHasRfc5322HeadersAndCrlf) {
  output::Event e = make_alert("syn_flood", "198.19.0.10", 1, "SYN flood\r\nBcc: victim@example.org");
  MailEnvelope env{"picket@example.org", {"ops@example.org", "sec@example.org"}};
  std::string msg = mail_message(e, env, kOrigin, core::Timestamp::from_parts(1'764'000'000, 0), "1.2.3@sensor-1");
  // Every line ends in CRLF: no bare LF or CR anywhere.
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') {
      ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
    }
    if (msg[i] == '\r') {
      ASSERT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  auto lines = split_crlf(msg);
  size_t blank = std::find(lines.begin(), lines.end(), "") - lines.begin();
  ASSERT_LT(blank, lines.size());
  std::vector<std::string> headers(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(blank));
  auto header = [&](const std::string& name) -> std::string {
    for (const auto& h : headers)
      if (h.starts_with(name + ": ")) return h.substr(name.size() + 2);
    return "<missing>";
  };
  EXPECT_EQ(header("Date"), "Mon, 24 Nov 2025 16:00:00 +0000");
  EXPECT_EQ(header("Message-ID"), "<1.2.3@sensor-1>");
  EXPECT_EQ(header("From"), "picket on sensor-1 <picket@example.org>");
  EXPECT_EQ(header("To"), "ops@example.org, sec@example.org");
  EXPECT_EQ(header("Subject"), "[picket] high: syn_flood from 198.19.0.10 - SYN flood  Bcc: victim@example.org");
  EXPECT_EQ(header("Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(header("Bcc"), "<missing>");  // the injected header stayed inside the subject
  for (const auto& h : headers) EXPECT_LE(h.size(), 998u);
  std::string body = msg.substr(msg.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("Severity:    1 (high)"), std::string::npos) << body;
  EXPECT_NE(body.find("Source:      198.19.0.10:40000"), std::string::npos) << body;
  EXPECT_NE(body.find("\"signature_id\": 1001"), std::string::npos) << body;
  EXPECT_NE(body.find(output::to_text_line(e)), std::string::npos) << body;
}

TEST(AlertRender, MailWithVeryLongLineIsQuotedPrintable) {
  output::Event e = make_alert("port_scan", "10.0.0.1");
  e.picket["evidence"]["note"] = std::string(3000, 'x') + "=end";
  std::string msg = mail_message(e, MailEnvelope{"a@b.org", {"c@d.org"}}, kOrigin, core::Timestamp{}, "id@x");
  EXPECT_NE(msg.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  for (const auto& l : split_crlf(msg)) EXPECT_LE(l.size(), 998u);
  EXPECT_NE(msg.find("=3Dend"), std::string::npos);
}

TEST(AlertRender, Subjects) {
  EXPECT_EQ(mail_subject(make_alert("port_scan", "2001:db8::1", 2, "picket: TCP port scan")),
            "[picket] medium: port_scan from 2001:db8::1 - picket: TCP port scan");
  EXPECT_EQ(mail_subject(make_decision("syn_flood", "198.19.0.10")), "[picket] decision block 198.19.0.10 (syn_flood)");
  EXPECT_EQ(header_safe("a\r\nb\tc\x7f\xc3\xa9"), "a  b c???");
  EXPECT_EQ(header_safe(std::string(500, 'y')).size(), 203u);  // 200 + "..."
  DigestBuilder b(core::Duration::seconds(60));
  for (int i = 0; i < 3; ++i) b.add(make_alert("port_scan", "10.0.0.1", 2), core::Timestamp{});
  EXPECT_EQ(mail_subject(b.take(core::Timestamp{})),
            "[picket] digest: 3 alerts in 1m (highest medium), mostly port_scan");
}

TEST(AlertRender, SlackPayloadShape) {
  output::Event e = make_alert("port_scan", "10.0.0.1", 1, "scan <@channel> & more");
  auto j = nlohmann::json::parse(slack_payload(e, kOrigin));
  ASSERT_TRUE(j["text"].is_string());
  EXPECT_NE(j["text"].get<std::string>().find("scan &lt;@channel&gt; &amp; more"), std::string::npos) << j.dump();
  ASSERT_TRUE(j["blocks"].is_array());
  ASSERT_GE(j["blocks"].size(), 3u);
  for (const auto& b : j["blocks"]) EXPECT_TRUE(b["type"].is_string());
  EXPECT_EQ(j["blocks"][0]["type"], "section");
  EXPECT_EQ(j["blocks"][0]["text"]["type"], "mrkdwn");
  EXPECT_LE(j["blocks"][1]["fields"].size(), 10u);
  EXPECT_EQ(j["blocks"].back()["type"], "context");
  // No unescaped markup from the attacker anywhere in the payload.
  EXPECT_EQ(j.dump().find("<@channel>"), std::string::npos);
  EXPECT_EQ(slack_escape("<a&b>"), "&lt;a&amp;b&gt;");
}

TEST(AlertRender, WebhookJsonIsTheEveLine) {
  output::Event e = make_alert("port_scan", "10.0.0.1");
  EXPECT_EQ(webhook_json(e), output::to_json_line(e));
  DigestBuilder b(core::Duration::seconds(60));
  b.add(e, core::Timestamp{});
  auto j = nlohmann::json::parse(webhook_json(b.take(core::Timestamp{})));
  EXPECT_EQ(j["event_type"], "digest");
  EXPECT_EQ(j["digest"]["alerts"], 1);
}

}  // namespace
}  // namespace picket::alert

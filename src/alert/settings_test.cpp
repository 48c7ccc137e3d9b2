#include "alert/settings.hpp"

#include <gtest/gtest.h>

#include "alert/alert_sink.hpp"
#include "alert/test_support.hpp"

namespace picket::alert {
namespace {

using testing::load_yaml;

TEST(AlertSettings, DefaultsDisableEveryDestination) {
  for (config::Profile p : config::kAllProfiles) {
    config::Schema schema = testing::alert_schema();
    config::Config cfg = config::defaults(schema, p);
    auto s = parse_settings(cfg);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_FALSE(s->webhook);
    EXPECT_FALSE(s->email);
    EXPECT_FALSE(s->syslog);
    auto sink = make_alert_sink(cfg);
    ASSERT_TRUE(sink);
    EXPECT_TRUE((*sink)->empty());
    (*sink)->emit(testing::make_alert("port_scan", "198.18.0.1"));  // nothing to do, nothing breaks
  }
}

TEST(AlertSettings, ReadsEveryKey) {
  auto pw = testing::TempDir();
  std::ofstream(pw.path() / "pw") << "s3cret\n";
  auto l = load_yaml(R"(
alerts:
  webhook:
    enabled: true
    url: https://hooks.example.org/services/T000/B000/XXXX
    format: slack
    min_severity: low
    include_decisions: true
    max_per_minute: 3
    digest_window: 30s
    timeout: 2s
    queue: 50
    retries: 5
    retry_delay: 100ms
    headers: ["Authorization: Bearer abc"]
  email:
    enabled: true
    url: smtps://mail.example.org:465
    from: picket@example.org
    to: [ops@example.org, sec@example.org]
    username: picket
    password_file: )" +
                     (pw.path() / "pw").string() + R"(
    tls: require
  syslog:
    enabled: true
    target: "tcp:[2001:db8::1]:6514"
    facility: local3
    app_name: ids
)");
  ASSERT_TRUE(l.config) << l.errors;
  auto s = parse_settings(*l.config);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->webhook);
  EXPECT_EQ(s->webhook->format, WebhookFormat::slack);
  EXPECT_EQ(s->webhook->limits.min_severity, 3);
  EXPECT_TRUE(s->webhook->limits.include_decisions);
  EXPECT_EQ(s->webhook->limits.max_per_minute, 3u);
  EXPECT_EQ(s->webhook->limits.digest_window, core::Duration::seconds(30));
  EXPECT_EQ(s->webhook->limits.timeout, core::Duration::seconds(2));
  EXPECT_EQ(s->webhook->limits.queue, 50u);
  EXPECT_EQ(s->webhook->limits.retries, 5u);
  EXPECT_EQ(s->webhook->limits.retry_delay, core::Duration::millis(100));
  EXPECT_EQ(s->webhook->headers.size(), 1u);
  ASSERT_TRUE(s->email);
  EXPECT_EQ(s->email->to.size(), 2u);
  EXPECT_EQ(s->email->password, "s3cret");
  EXPECT_EQ(s->email->tls, SmtpTls::require);
  EXPECT_EQ(s->email->limits.min_severity, 1);  // email's default: high only
  ASSERT_TRUE(s->syslog);
  EXPECT_EQ(s->syslog->target.kind, SyslogTransportKind::tcp);
  EXPECT_EQ(s->syslog->target.host, "2001:db8::1");
  EXPECT_EQ(s->syslog->target.port, 6514);
  EXPECT_EQ(s->syslog->facility, 19);
  EXPECT_EQ(s->syslog->app_name, "ids");
}

struct BadCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> expected;  // substrings of the one error text, each on its own line
};

TEST(AlertSettings, BadSettingsGiveOneLineEachNamingTheKey) {
  const std::vector<BadCase> cases = {
      {"ftp webhook",
       "alerts: {webhook: {enabled: true, url: 'ftp://example.org/x'}}",
       {"alerts.webhook.url: only http:// and https:// URLs are accepted"}},
      {"empty webhook url", "alerts: {webhook: {enabled: true}}", {"alerts.webhook.url: is empty"}},
      {"no scheme", "alerts: {webhook: {enabled: true, url: 'example.org/hook'}}", {"alerts.webhook.url: no scheme"}},
      {"file url", "alerts: {webhook: {enabled: true, url: 'file:///etc/passwd'}}", {"alerts.webhook.url:"}},
      {"header injection",
       "alerts: {webhook: {enabled: true, url: 'http://h/', headers: [\"X-A: b\\r\\nX-Evil: 1\"]}}",
       {"alerts.webhook.headers: not a header line"}},
      {"header without colon",
       "alerts: {webhook: {enabled: true, url: 'http://h/', headers: ['nocolon']}}",
       {"alerts.webhook.headers: not a header line"}},
      {"email without recipients", "alerts: {email: {enabled: true, from: 'a@b.org'}}", {"alerts.email.to: is empty"}},
      {"email http url",
       "alerts: {email: {enabled: true, url: 'http://mail/', from: 'a@b.org', to: ['c@d.org']}}",
       {"alerts.email.url: only smtp:// and smtps:// URLs are accepted"}},
      {"email bad addresses",
       "alerts: {email: {enabled: true, from: 'not an address', to: ['x@y.org', 'a@b.org\\r\\nBcc: z@z']}}",
       {"alerts.email.from: not a mail address", "alerts.email.to: not a mail address"}},
      {"email user without password",
       "alerts: {email: {enabled: true, from: 'a@b.org', to: ['c@d.org'], username: u}}",
       {"alerts.email.username: username and password"}},
      {"email missing password file",
       "alerts: {email: {enabled: true, from: 'a@b.org', to: ['c@d.org'], username: u, password_file: "
       "/nonexistent/pw}}",
       {"alerts.email.password_file: cannot read /nonexistent/pw"}},
      {"syslog bad target", "alerts: {syslog: {enabled: true, target: 'tcp:host'}}", {"alerts.syslog.target: no port"}},
      {"syslog relative unix",
       "alerts: {syslog: {enabled: true, target: 'unix:dev/log'}}",
       {"alerts.syslog.target: the socket path must be absolute"}},
      {"syslog bad app name", "alerts: {syslog: {enabled: true, app_name: 'two words'}}", {"alerts.syslog.app_name:"}},
      {"three at once",
       "alerts: {webhook: {enabled: true, url: 'gopher://x'}, email: {enabled: true, from: 'a@b.org'}, syslog: "
       "{enabled: true, "
       "target: 'sctp:h:1'}}",
       {"alerts.webhook.url:", "alerts.email.to:", "alerts.syslog.target: unknown transport"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto l = load_yaml(c.yaml);
    ASSERT_TRUE(l.config) << l.errors;
    auto s = parse_settings(*l.config);
    ASSERT_FALSE(s);
    const std::string& msg = s.error().message;
    size_t lines = static_cast<size_t>(std::count(msg.begin(), msg.end(), '\n')) + 1;
    EXPECT_EQ(lines, c.expected.size()) << msg;
    for (const auto& e : c.expected) EXPECT_NE(msg.find(e), std::string::npos) << "missing '" << e << "' in:\n" << msg;
    auto sink = make_alert_sink(*l.config);
    EXPECT_FALSE(sink);
  }
}

TEST(AlertSettings, DisabledDestinationsAreNotChecked) {
  auto l = load_yaml("alerts: {webhook: {enabled: false, url: 'ftp://x'}, email: {enabled: false}}");
  ASSERT_TRUE(l.config) << l.errors;
  EXPECT_TRUE(parse_settings(*l.config));
}

TEST(AlertSettings, SchemaRefusesBadChoices) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"alerts: {syslog: {facility: kernel2}}", "alerts.syslog.facility"},
      {"alerts: {webhook: {format: xml}}", "alerts.webhook.format"},
      {"alerts: {email: {min_severity: critical}}", "alerts.email.min_severity"},
      {"alerts: {webhook: {max_per_minute: 0}}", "alerts.webhook.max_per_minute"},
      {"alerts: {webhook: {queue: -5}}", "alerts.webhook.queue"},
      {"alerts: {pager: {enabled: true}}", "alerts.pager"},
  };
  for (const auto& [yaml, key] : cases) {
    auto l = load_yaml(yaml);
    EXPECT_FALSE(l.config) << yaml;
    EXPECT_NE(l.errors.find(key), std::string::npos) << l.errors;
  }
}

TEST(AlertSettings, SyslogTargets) {
  struct Case {
    const char* text;
    bool ok;
    SyslogTransportKind kind;
    const char* host_or_path;
    uint16_t port;
  };
  const Case cases[] = {
      {"unix:/dev/log", true, SyslogTransportKind::unix_datagram, "/dev/log", 0},
      {"udp:127.0.0.1:514", true, SyslogTransportKind::udp, "127.0.0.1", 514},
      {"tcp:logs.example.org:6514", true, SyslogTransportKind::tcp, "logs.example.org", 6514},
      {"udp:[::1]:5514", true, SyslogTransportKind::udp, "::1", 5514},
      {"udp:::1:514", false, {}, "", 0},
      {"udp:[::1]514", false, {}, "", 0},
      {"udp:host:0", false, {}, "", 0},
      {"udp:host:65536", false, {}, "", 0},
      {"udp:host:51a", false, {}, "", 0},
      {"udp::514", false, {}, "", 0},
      {"unix:", false, {}, "", 0},
      {"syslog", false, {}, "", 0},
      {"", false, {}, "", 0},
  };
  for (const auto& c : cases) {
    auto t = parse_syslog_target(c.text);
    EXPECT_EQ(t.ok(), c.ok) << c.text;
    if (!t || !c.ok) continue;
    EXPECT_EQ(t->kind, c.kind) << c.text;
    if (c.kind == SyslogTransportKind::unix_datagram) {
      EXPECT_EQ(t->path, c.host_or_path);
    } else {
      EXPECT_EQ(t->host, c.host_or_path);
      EXPECT_EQ(t->port, c.port);
    }
  }
}

TEST(AlertSettings, MailAddressesAndFacilities) {
  const std::pair<const char*, bool> addresses[] = {
      {"ops@example.org", true},
      {"a.b+tag@mail.example.org", true},
      {"root@localhost", true},
      {"no-at-sign", false},
      {"@example.org", false},
      {"ops@", false},
      {"a@b@c", false},
      {"Ops <ops@example.org>", false},
      {"ops@example.org\r\nBcc: x@y", false},
      {"ops@exa mple.org", false},
      {"ops@.example.org", false},
      {"ops@example..org", false},
      {"a,b@example.org", false},
  };
  for (const auto& [text, ok] : addresses) EXPECT_EQ(is_plain_mail_address(text), ok) << text;
  EXPECT_EQ(parse_facility("auth"), 4);
  EXPECT_EQ(parse_facility("authpriv"), 10);
  EXPECT_EQ(parse_facility("local0"), 16);
  EXPECT_EQ(parse_facility("local7"), 23);
  EXPECT_FALSE(parse_facility("kern"));
  EXPECT_FALSE(parse_facility("LOCAL0"));
}

}  // namespace
}  // namespace picket::alert

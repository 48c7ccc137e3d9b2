#include "app/init_wizard.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "app/commands.hpp"
#include "config/config.hpp"

namespace picket::app {
namespace {

using config::Profile;

const std::vector<HostInterface> kHost = {{"lo", true, true}, {"eth0", true, false}, {"eth1", false, false}};

// The full schema, plus alert destination keys when this build's schema has none yet (the same
// names and types as src/alert declares), so the alert questions are exercised either way.
const config::Schema& schema_with_alerts() {
  static const config::Schema s = [] {
    config::Schema copy = full_schema();
    if (copy.find("alerts.webhook.url") == nullptr) {
      config::SchemaSection w(copy, "alerts.webhook");
      w.boolean("enabled", false, "Send alerts to a webhook");
      w.string("url", "", "http:// or https:// URL");
      w.choice("format", "json", {"json", "slack"}, "Payload");
      config::SchemaSection e(copy, "alerts.email");
      e.boolean("enabled", false, "Send alerts by mail");
      e.string("url", "smtp://localhost:25", "Mail server");
      e.string("from", "", "Sender");
      e.string_list("to", {}, 32, "Recipients");
      config::SchemaSection sl(copy, "alerts.syslog");
      sl.boolean("enabled", false, "Send alerts to syslog");
      sl.string("target", "unix:/dev/log", "Target");
    }
    return copy;
  }();
  return s;
}

struct WizardRun {
  core::Result<InitAnswers> answers = core::make_error("not run");
  std::string prompts;
};

WizardRun run(const config::Schema& schema, const std::string& script) {
  InitWizard w(schema, kHost, "host.example");
  std::istringstream in(script);
  std::ostringstream out;
  WizardRun r;
  r.answers = w.ask(in, out);
  r.prompts = out.str();
  return r;
}

// Renders, writes to a file and loads it back the way `picket check-config` does.
config::Config load_rendered(const config::Schema& schema, const InitAnswers& a) {
  InitWizard w(schema, kHost, "host.example");
  auto text = w.render(a);
  EXPECT_TRUE(text) << (text ? "" : text.error().message);
  if (!text) return config::defaults(schema, Profile::normal);
  char path[] = "/tmp/picket-init-test-XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << *text;
  auto res = config::load_file(schema, path);
  ::unlink(path);
  for (const auto& e : res.errors) ADD_FAILURE() << e.to_string() << "\n" << *text;
  if (!res.config) return config::defaults(schema, Profile::normal);
  return std::move(*res.config);
}

// Answers for the nine questions every build asks, then blank lines that take the defaults of any
// later ones (the alert destinations).
std::string script(std::vector<std::string> answers) {
  std::string s;
  for (const auto& a : answers) s += a + "\n";
  return s + std::string(12, '\n');
}

TEST(InitWizard, DefaultsLoadAndHoldTheSchemaDefaults) {
  const auto& schema = full_schema();
  InitWizard w(schema, kHost, "h");
  const InitAnswers a = w.defaults();
  const config::Config cfg = load_rendered(schema, a);
  EXPECT_EQ(cfg.profile(), Profile::normal);
  EXPECT_TRUE(cfg.list("capture.interfaces").empty());
  EXPECT_EQ(cfg.string("output.events_file"), kDefaultEventsFile);
  EXPECT_EQ(cfg.string("output.log_file"), kDefaultLogFile);
  const auto* limit = schema.find("detect.conn_rate.limit");
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(cfg.integer("detect.conn_rate.limit"), std::get<int64_t>(limit->default_value));
  EXPECT_TRUE(cfg.is_set_in_file("detect.conn_rate.limit"));
  EXPECT_TRUE(cfg.is_set_in_file("policy.conn_rate.duration"));
  EXPECT_EQ(cfg.list("policy.allowlist"),
            std::get<std::vector<std::string>>(schema.find("policy.allowlist")->default_value));
}

TEST(InitWizard, RenderedFileCommentsEveryKeyWithItsHelp) {
  const auto& schema = full_schema();
  InitWizard w(schema, kHost, "h");
  auto text = w.render(w.defaults());
  ASSERT_TRUE(text);
  for (const char* path : {"policy.mode", "detect.conn_rate.limit", "output.events_file"}) {
    const auto* d = schema.find(path);
    ASSERT_NE(d, nullptr);
    // The help's first words appear in a comment line.
    const std::string first = d->help.substr(0, std::min<size_t>(30, d->help.find(' ', 20)));
    EXPECT_NE(text->find("# " + first), std::string::npos) << path << "\n" << *text;
  }
}

TEST(InitWizard, AnswersBecomeValues) {
  const auto& schema = full_schema();
  WizardRun r = run(schema, script({"eth0, eth1", "aggressive", "10.0.0.0/8 2001:db8::/32", "ids", "40", "2m", "15m",
                                    "/tmp/picket-x/ev.json", "none"}));
  ASSERT_TRUE(r.answers) << r.answers.error().message << r.prompts;
  EXPECT_EQ(r.prompts.find("invalid"), std::string::npos) << r.prompts;
  const config::Config cfg = load_rendered(schema, *r.answers);
  EXPECT_EQ(cfg.profile(), Profile::aggressive);
  EXPECT_EQ(cfg.list("capture.interfaces"), (std::vector<std::string>{"eth0", "eth1"}));
  const auto& allow = cfg.list("policy.allowlist");
  for (const char* want : {"127.0.0.0/8", "::1", "10.0.0.0/8", "2001:db8::/32"})
    EXPECT_NE(std::find(allow.begin(), allow.end(), want), allow.end()) << want;
  EXPECT_EQ(cfg.string("policy.mode"), "ids");
  EXPECT_EQ(cfg.integer("detect.conn_rate.limit"), 40);
  EXPECT_EQ(cfg.duration("detect.conn_rate.interval"), core::Duration::seconds(120));
  // Every detector that blocks under this profile got the one ban duration.
  int blocking = 0;
  for (const auto& p : schema.params()) {
    if (p.path.rfind("policy.", 0) != 0 || !p.path.ends_with(".action")) continue;
    const std::string base = p.path.substr(0, p.path.size() - 7);
    if (std::get<std::string>(p.profile_default(Profile::aggressive)) != "block") {
      EXPECT_FALSE(cfg.is_set_in_file(base + ".duration")) << base;
      continue;
    }
    ++blocking;
    EXPECT_EQ(cfg.duration(base + ".duration"), core::Duration::minutes(15)) << base;
  }
  EXPECT_GT(blocking, 0);
  EXPECT_EQ(cfg.string("output.events_file"), "/tmp/picket-x/ev.json");
  EXPECT_EQ(cfg.string("output.log_file"), "");
}

TEST(InitWizard, BlankAnswersTakeTheChosenProfilesDefaults) {
  const auto& schema = full_schema();
  WizardRun r = run(schema, script({"", "paranoid"}));
  ASSERT_TRUE(r.answers) << r.answers.error().message;
  const config::Config cfg = load_rendered(schema, *r.answers);
  EXPECT_EQ(cfg.profile(), Profile::paranoid);
  const auto* limit = schema.find("detect.conn_rate.limit");
  EXPECT_EQ(cfg.integer("detect.conn_rate.limit"), std::get<int64_t>(limit->profile_default(Profile::paranoid)));
  // The prompt showed that default, not normal's.
  EXPECT_NE(r.prompts.find(fmt::format("[{}]", std::get<int64_t>(limit->profile_default(Profile::paranoid)))),
            std::string::npos);
  const auto* d = schema.find("policy.port_scan.duration");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(cfg.duration("policy.port_scan.duration"), std::get<core::Duration>(d->profile_default(Profile::paranoid)));
}

// One bad answer at question `index`, then a good one: the reason is shown and the good one kept.
struct BadCase {
  size_t index;
  std::string bad;
  std::string reason;  // part of the message shown
};

TEST(InitWizard, BadAnswersAreReaskedWithTheReason) {
  const std::vector<std::string> good = {"eth0", "normal", "10.1.0.0/16",   "ips",         "25",
                                         "30s",  "20m",    "/tmp/p/e.json", "/tmp/p/t.log"};
  const std::vector<BadCase> cases = {
      {0, "nosuch0", "no interface"},
      {0, "eth0/x", "not an interface name"},
      {0, "averyveryverylongname0", "not an interface name"},
      {1, "extreme", "normal, aggressive or paranoid"},
      {2, "10.1.2.3/16", ""},
      {2, "300.1.1.1", ""},
      {2, "10.0.0.0/33", ""},
      {2, "fe80::1/200", ""},
      {3, "block", "ips"},
      {4, "0", ""},
      {4, "lots", ""},
      {4, "-5", ""},
      {4, "99999999999", ""},
      {5, "5x", ""},
      {5, "0s", ""},
      {6, "forever", ""},
      {6, "-1m", ""},
      {7, "relative/e.json", "absolute"},
      {7, "/tmp/", "absolute"},
      {7, "/tmp", "directory"},
      {8, "/tmp/p/e.json", "event file"},
      {8, "-", "absolute"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> answers = good;
    answers.insert(answers.begin() + static_cast<long>(c.index), c.bad);
    WizardRun r = run(full_schema(), script(answers));
    ASSERT_TRUE(r.answers) << c.bad << ": " << r.answers.error().message;
    EXPECT_NE(r.prompts.find("invalid: "), std::string::npos) << c.bad << "\n" << r.prompts;
    if (!c.reason.empty()) {
      EXPECT_NE(r.prompts.find(c.reason), std::string::npos) << c.bad << "\n" << r.prompts;
    }
    const config::Config cfg = load_rendered(full_schema(), *r.answers);
    EXPECT_EQ(cfg.list("capture.interfaces"), std::vector<std::string>{"eth0"}) << c.bad;
    EXPECT_EQ(cfg.integer("detect.conn_rate.limit"), 25) << c.bad;
    EXPECT_EQ(cfg.duration("policy.conn_rate.duration"), core::Duration::minutes(20)) << c.bad;
    EXPECT_EQ(cfg.string("output.log_file"), "/tmp/p/t.log") << c.bad;
  }
}

TEST(InitWizard, QuestionMarkExplainsAndAsksAgain) {
  WizardRun r = run(full_schema(), script({"?", "eth0", "?", "paranoid", "?", "none"}));
  ASSERT_TRUE(r.answers);
  EXPECT_NE(r.prompts.find("capture.interfaces: " + full_schema().find("capture.interfaces")->help), std::string::npos);
  EXPECT_NE(r.prompts.find("profile: the built-in thresholds"), std::string::npos);
  EXPECT_NE(r.prompts.find("policy.allowlist: "), std::string::npos);
  EXPECT_EQ(r.prompts.find("invalid"), std::string::npos) << r.prompts;
  EXPECT_EQ(r.answers->profile, Profile::paranoid);
}

TEST(InitWizard, OverlongAnswerIsReasked) {
  WizardRun r = run(full_schema(), script({std::string(kMaxAnswerBytes + 10, 'x'), "eth0"}));
  ASSERT_TRUE(r.answers);
  EXPECT_NE(r.prompts.find("too long"), std::string::npos);
  EXPECT_EQ(std::get<std::vector<std::string>>(*r.answers->find("capture.interfaces")),
            std::vector<std::string>{"eth0"});
}

TEST(InitWizard, EndOfInputAbortsAtEveryQuestion) {
  const std::vector<std::string> good = {"eth0", "normal", "none", "ips", "25", "30s", "keep", "-", "none"};
  for (size_t n = 0; n < good.size(); ++n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += good[i] + "\n";
    WizardRun r = run(full_schema(), s);
    ASSERT_FALSE(r.answers) << "after " << n << " answers";
    EXPECT_NE(r.answers.error().message.find("end of input"), std::string::npos);
  }
  // Bad answers until the end: still an abort, never a loop.
  WizardRun r = run(full_schema(), "nosuch0\nnosuch1\n");
  EXPECT_FALSE(r.answers);
}

TEST(InitWizard, AlertDestinations) {
  const auto& schema = schema_with_alerts();
  WizardRun r = run(schema, script({"",
                                    "",
                                    "",
                                    "",
                                    "",
                                    "",
                                    "",
                                    "",
                                    "",  //
                                    "ftp://x",
                                    "https://hooks.slack.com/services/T/B/x",
                                    "",  // webhook, format
                                    "ops@example.org, not-an-address",
                                    "ops@example.org, sec@example.org",  // mail to
                                    "http://mail",
                                    "smtp://mail.example.org:587",
                                    "",  // server, sender
                                    "maybe",
                                    "yes",
                                    "udp:logs",
                                    "udp:logs.example.org:514"}));
  ASSERT_TRUE(r.answers) << r.answers.error().message << r.prompts;
  EXPECT_NE(r.prompts.find("expected a URL starting with http:// or https://"), std::string::npos) << r.prompts;
  EXPECT_NE(r.prompts.find("not a mail address"), std::string::npos);
  EXPECT_NE(r.prompts.find("smtp://"), std::string::npos);
  EXPECT_NE(r.prompts.find("answer yes or no"), std::string::npos);
  EXPECT_NE(r.prompts.find("HOST:PORT"), std::string::npos);
  const config::Config cfg = load_rendered(schema, *r.answers);
  EXPECT_TRUE(cfg.boolean("alerts.webhook.enabled"));
  EXPECT_EQ(cfg.string("alerts.webhook.url"), "https://hooks.slack.com/services/T/B/x");
  EXPECT_EQ(cfg.string("alerts.webhook.format"), "slack");
  EXPECT_TRUE(cfg.boolean("alerts.email.enabled"));
  EXPECT_EQ(cfg.list("alerts.email.to"), (std::vector<std::string>{"ops@example.org", "sec@example.org"}));
  EXPECT_EQ(cfg.string("alerts.email.url"), "smtp://mail.example.org:587");
  EXPECT_EQ(cfg.string("alerts.email.from"), "picket@host.example");
  EXPECT_TRUE(cfg.boolean("alerts.syslog.enabled"));
  EXPECT_EQ(cfg.string("alerts.syslog.target"), "udp:logs.example.org:514");
}

TEST(InitWizard, NoAlertDestinationsByDefault) {
  const auto& schema = schema_with_alerts();
  InitWizard w(schema, kHost, "h");
  const config::Config cfg = load_rendered(schema, w.defaults());
  for (const char* k : {"alerts.webhook.enabled", "alerts.email.enabled", "alerts.syslog.enabled"}) {
    EXPECT_FALSE(cfg.boolean(k)) << k;
    EXPECT_FALSE(cfg.is_set_in_file(k)) << k;
  }
}

TEST(InitWizard, KeysTheSchemaLacksAreNeitherAskedNorWritten) {
  config::Schema small;
  config::SchemaSection(small, "policy").choice("mode", "ips", {"ips", "ids"}, "Mode");
  WizardRun r = run(small, "eth0\nparanoid\nids\n");  // the interface question needs capture.interfaces
  ASSERT_TRUE(r.answers) << r.answers.error().message;
  EXPECT_EQ(r.prompts.find("Capture interfaces"), std::string::npos);
  EXPECT_EQ(r.prompts.find("Webhook"), std::string::npos);
  ASSERT_EQ(r.answers->values.size(), 1u);  // "eth0" was the profile's bad answer, re-asked
  const config::Config cfg = load_rendered(small, *r.answers);
  EXPECT_EQ(cfg.profile(), Profile::paranoid);
  EXPECT_EQ(cfg.string("policy.mode"), "ids");
}

TEST(InitWizard, HostInterfacesIncludeLoopback) {
  const auto list = host_interfaces();
  EXPECT_TRUE(std::any_of(list.begin(), list.end(), [](const HostInterface& h) { return h.loopback; }));
}

}  // namespace
}  // namespace picket::app

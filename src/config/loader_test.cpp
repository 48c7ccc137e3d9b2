#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/test_schema.hpp"
#include "config/value.hpp"

namespace picket::config {
namespace {

using core::Duration;
using Strings = std::vector<std::string>;

const Schema& schema() {
  static const Schema s = testing::make_test_schema();
  return s;
}

LoadResult load(std::string_view yaml) { return load_string(schema(), yaml, "test.yaml"); }

std::string all_errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

TEST(Load, EmptyOrCommentOnlyFilesGiveTheNormalDefaults) {
  for (const char* yaml : {"", "\n\n", "# only a comment\n", "---\n", "~\n", "detect:\n  # all commented out\n"}) {
    const LoadResult r = load(yaml);
    ASSERT_TRUE(r.errors.empty()) << yaml << all_errors(r);
    ASSERT_TRUE(r.config);
    EXPECT_EQ(r.config->profile(), Profile::normal);
    EXPECT_EQ(r.config->source(), "test.yaml");
    for (const auto& d : schema().params()) {
      EXPECT_EQ(testing::value_of(*r.config, d), d.default_value) << d.path;
      EXPECT_FALSE(r.config->is_set_in_file(d.path));
    }
  }
}

TEST(Load, AcceptsValidValuesOfEveryType) {
  struct Case {
    const char* yaml;
    const char* path;
    Value want;
  };
  const Case cases[] = {
      {"interface: wlan0", "interface", std::string("wlan0")},
      {"interface: \"\"", "interface", std::string("")},
      {"interface: 123", "interface", std::string("123")},
      {"interface: 'a # b'", "interface", std::string("a # b")},
      {"detect: {conn_rate: {enabled: yes}}", "detect.conn_rate.enabled", true},
      {"detect: {conn_rate: {enabled: no}}", "detect.conn_rate.enabled", false},
      {"detect: {conn_rate: {enabled: False}}", "detect.conn_rate.enabled", false},
      {"detect: {conn_rate: {enabled: TRUE}}", "detect.conn_rate.enabled", true},
      {"detect: {conn_rate: {limit: 1}}", "detect.conn_rate.limit", int64_t{1}},
      {"detect: {conn_rate: {limit: 1000000}}", "detect.conn_rate.limit", int64_t{1'000'000}},
      {"detect: {conn_rate: {limit: +7}}", "detect.conn_rate.limit", int64_t{7}},
      {"detect: {conn_rate: {limit: 0050}}", "detect.conn_rate.limit", int64_t{50}},
      {"detect: {conn_rate: {window: 300s}}", "detect.conn_rate.window", Duration::seconds(300)},
      {"detect: {conn_rate: {window: 10m}}", "detect.conn_rate.window", Duration::minutes(10)},
      {"detect: {conn_rate: {window: 45}}", "detect.conn_rate.window", Duration::seconds(45)},
      {"detect: {conn_rate: {window: 1500ms}}", "detect.conn_rate.window", Duration::millis(1500)},
      {"detect: {conn_rate: {window: \"1h\"}}", "detect.conn_rate.window", Duration::minutes(60)},
      {"detect: {conn_rate: {burst_factor: 2}}", "detect.conn_rate.burst_factor", 2.0},
      {"detect: {conn_rate: {burst_factor: 2.5}}", "detect.conn_rate.burst_factor", 2.5},
      {"detect: {conn_rate: {burst_factor: 1e1}}", "detect.conn_rate.burst_factor", 10.0},
      {"detect: {port_scan: {mode: connect}}", "detect.port_scan.mode", std::string("connect")},
      {"detect: {port_scan: {watched_ports: [22, \"8080\", 1000-2000, 5-5, 007, 0, 65535]}}",
       "detect.port_scan.watched_ports", Strings{"22", "8080", "1000-2000", "5", "7", "0", "65535"}},
      {"detect:\n  port_scan:\n    watched_ports:\n      - 22\n      - 0-1023\n", "detect.port_scan.watched_ports",
       Strings{"22", "0-1023"}},
      {"policy: {trusted: [10.0.0.0/8, 192.0.2.1, \"2001:db8::/32\", \"2001:DB8::1\", 0.0.0.0/0]}", "policy.trusted",
       Strings{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "2001:db8::1", "0.0.0.0/0"}},
      {"policy: {trusted: []}", "policy.trusted", Strings{}},
      {"policy:\n  notify:\n    - log\n    - \"web hook\"\n", "policy.notify", Strings{"log", "web hook"}},
      {"policy: {ban: {duration: 2d}}", "policy.ban.duration", Duration::seconds(2 * 86400)},
  };
  for (const auto& c : cases) {
    const LoadResult r = load(c.yaml);
    ASSERT_TRUE(r.errors.empty()) << c.yaml << "\n" << all_errors(r);
    const ParamDecl* d = schema().find(c.path);
    ASSERT_NE(d, nullptr) << c.path;
    const Value got = testing::value_of(*r.config, *d);
    EXPECT_EQ(got, c.want) << c.yaml << " gave " << detail::format_yaml(got);
    EXPECT_TRUE(r.config->is_set_in_file(c.path)) << c.yaml;
  }
}

struct BadCase {
  const char* yaml;
  const char* path;
  int line, column;
  const char* message;  // a part of the message
};

void expect_one_error(const BadCase& c) {
  const LoadResult r = load(c.yaml);
  EXPECT_FALSE(r.config) << c.yaml;
  ASSERT_EQ(r.errors.size(), 1u) << c.yaml << "\n" << all_errors(r);
  const ConfigError& e = r.errors[0];
  EXPECT_EQ(e.file, "test.yaml");
  EXPECT_EQ(e.path, c.path) << c.yaml;
  EXPECT_EQ(e.line, c.line) << c.yaml << "\n" << e.to_string();
  EXPECT_EQ(e.column, c.column) << c.yaml << "\n" << e.to_string();
  EXPECT_NE(e.message.find(c.message), std::string::npos) << c.yaml << "\n" << e.to_string();
}

TEST(Load, RejectsInvalidValuesOfEveryTypeWithTheirPosition) {
  const BadCase cases[] = {
      {"interface: [a]", "interface", 1, 12, "expected a string, got a list"},
      {"interface: {a: 1}", "interface", 1, 12, "got a mapping"},
      {"interface:", "interface", 1, 1, "has no value"},
      {"detect:\n  conn_rate:\n    enabled: maybe\n", "detect.conn_rate.enabled", 3, 14, "expected a boolean"},
      {"detect:\n  conn_rate:\n    enabled: \"true\"\n", "detect.conn_rate.enabled", 3, 14, "quoted string"},
      {"detect:\n  conn_rate:\n    enabled: 1\n", "detect.conn_rate.enabled", 3, 14, "expected a boolean"},
      {"detect:\n  conn_rate:\n    limit: 12abc\n", "detect.conn_rate.limit", 3, 12, "expected an integer, got '12abc'"},
      {"detect:\n  conn_rate:\n    limit: 1.5\n", "detect.conn_rate.limit", 3, 12, "expected an integer"},
      {"detect:\n  conn_rate:\n    limit: \"50\"\n", "detect.conn_rate.limit", 3, 12, "quoted string"},
      {"detect:\n  conn_rate:\n    limit: 0x10\n", "detect.conn_rate.limit", 3, 12, "expected an integer"},
      {"detect:\n  conn_rate:\n    limit: 5-\n", "detect.conn_rate.limit", 3, 12, "expected an integer"},
      {"detect:\n  conn_rate:\n    limit: 99999999999999999999\n", "detect.conn_rate.limit", 3, 12, "out of range"},
      {"detect:\n  conn_rate:\n    limit:\n", "detect.conn_rate.limit", 3, 5, "has no value"},
      {"detect:\n  conn_rate:\n    limit: [1]\n", "detect.conn_rate.limit", 3, 12, "expected an integer, got a list"},
      {"detect:\n  conn_rate:\n    window: 5 parsecs\n", "detect.conn_rate.window", 3, 13, "expected a duration"},
      {"detect:\n  conn_rate:\n    window: -5s\n", "detect.conn_rate.window", 3, 13, "expected a duration"},
      {"detect:\n  conn_rate:\n    window: 1.5s\n", "detect.conn_rate.window", 3, 13, "expected a duration"},
      {"detect:\n  conn_rate:\n    burst_factor: abc\n", "detect.conn_rate.burst_factor", 3, 19, "expected a number"},
      {"detect:\n  conn_rate:\n    burst_factor: .inf\n", "detect.conn_rate.burst_factor", 3, 19, "expected a number"},
      {"detect:\n  conn_rate:\n    burst_factor: nan\n", "detect.conn_rate.burst_factor", 3, 19, "expected a number"},
      {"detect:\n  conn_rate:\n    burst_factor: 1,5\n", "detect.conn_rate.burst_factor", 3, 19, "expected a number"},
      {"detect:\n  port_scan:\n    mode: udp\n", "detect.port_scan.mode", 3, 11, "must be one of syn, connect, both (got 'udp')"},
      {"detect:\n  port_scan:\n    watched_ports: 22\n", "detect.port_scan.watched_ports", 3, 20, "expected a port list"},
      {"detect:\n  port_scan:\n    watched_ports: [22, 70000]\n", "detect.port_scan.watched_ports[1]", 3, 25,
       "expected a port (0-65535)"},
      {"detect:\n  port_scan:\n    watched_ports: [2000-1000]\n", "detect.port_scan.watched_ports[0]", 3, 21, "got '2000-1000'"},
      {"detect:\n  port_scan:\n    watched_ports: [-1]\n", "detect.port_scan.watched_ports[0]", 3, 21, "expected a port"},
      {"detect:\n  port_scan:\n    watched_ports: [1-2-3]\n", "detect.port_scan.watched_ports[0]", 3, 21, "expected a port"},
      {"detect:\n  port_scan:\n    watched_ports: [[1, 2]]\n", "detect.port_scan.watched_ports[0]", 3, 21,
       "must be a single value, got a list"},
      {"policy:\n  trusted:\n    - 10.0.0.1/8\n", "policy.trusted[0]", 3, 7, "did you mean 10.0.0.0/8?"},
      {"policy:\n  trusted:\n    - 300.1.1.1\n", "policy.trusted[0]", 3, 7, "not an IP address or CIDR prefix"},
      {"policy:\n  trusted:\n    - 10.0.0.0/33\n", "policy.trusted[0]", 3, 7, "not an IP address"},
      {"policy:\n  trusted:\n    - \"10.0.0.1 \"\n", "policy.trusted[0]", 3, 7, "not an IP address"},
      {"policy:\n  trusted:\n    - \"10.0.0.1\\0junk\"\n", "policy.trusted[0]", 3, 7, "not an IP address"},
      {"policy:\n  trusted:\n    - \"\"\n", "policy.trusted[0]", 3, 7, "not an IP address"},
      {"policy:\n  trusted:\n    -\n", "policy.trusted[0]", 3, 5, "got nothing"},
      {"policy:\n  notify: log\n", "policy.notify", 2, 11, "expected a string list"},
      {"policy:\n  notify:\n", "policy.notify", 2, 3, "write [] for an empty list"},
      {"policy: 5\n", "policy", 1, 9, "expected a section"},
      {"detect: [1, 2]\n", "detect", 1, 9, "expected a section"},
      {"profile: strict\n", "profile", 1, 10, "unknown profile 'strict'"},
      {"profile: Aggressive\n", "profile", 1, 10, "unknown profile"},
      {"profile: [normal]\n", "profile", 1, 10, "expected a profile name"},
      {"profile:\n", "profile", 1, 1, "expected a profile name"},
  };
  for (const auto& c : cases) expect_one_error(c);
}

TEST(Load, ChecksRangesAtAndAroundTheirBounds) {
  struct Case {
    const char* value;
    const char* key;  // under detect.conn_rate
    const char* error;  // "" when valid
  };
  const Case cases[] = {
      {"0", "limit", "must be at least 1 (got 0)"},
      {"-5", "limit", "must be at least 1 (got -5)"},
      {"1", "limit", ""},
      {"1000000", "limit", ""},
      {"1000001", "limit", "must be at most 1000000 (got 1000001)"},
      {"0s", "window", "must be at least 1s (got 0s)"},
      {"999ms", "window", "must be at least 1s (got 999ms)"},
      {"1s", "window", ""},
      {"60m", "window", ""},
      {"3601", "window", "must be at most 1h (got 3601s)"},
      {"0.99", "burst_factor", "must be at least 1 (got 0.99)"},
      {"1", "burst_factor", ""},
      {"10.0", "burst_factor", ""},
      {"10.01", "burst_factor", "must be at most 10 (got 10.01)"},
  };
  for (const auto& c : cases) {
    const std::string yaml = std::string("detect:\n  conn_rate:\n    ") + c.key + ": " + c.value + "\n";
    const LoadResult r = load(yaml);
    if (*c.error == '\0') {
      EXPECT_TRUE(r.errors.empty()) << yaml << all_errors(r);
      continue;
    }
    ASSERT_EQ(r.errors.size(), 1u) << yaml << all_errors(r);
    EXPECT_EQ(r.errors[0].message, c.error) << yaml;
    EXPECT_EQ(r.errors[0].line, 3);
  }
}

TEST(Load, ChecksTheNumberOfListEntries) {
  auto addresses = [](int n) {
    std::string yaml = "policy:\n  trusted: [";
    for (int i = 0; i < n; ++i) yaml += (i ? ", 10.0.0." : "10.0.0.") + std::to_string(i);
    return yaml + "]\n";
  };
  EXPECT_TRUE(load(addresses(16)).errors.empty());
  const LoadResult r = load(addresses(17));
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].message, "must have at most 16 entries (got 17)");
  EXPECT_EQ(r.errors[0].path, "policy.trusted");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[0].column, 12);
}

TEST(Load, ReportsUnknownKeysWithPositionAndSuggestion) {
  const LoadResult r = load(
      "detect:\n"
      "  conn_rate:\n"
      "    limt: 5\n"
      "  bogus: 1\n"
      "extra: true\n"
      "detect.conn_rate.limit: 5\n"
      "? [a, b]\n"
      ": 1\n");
  ASSERT_EQ(r.errors.size(), 5u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "test.yaml:3:5: detect.conn_rate.limt: unknown key (did you mean 'limit'?)");
  EXPECT_EQ(r.errors[1].to_string(), "test.yaml:4:3: detect.bogus: unknown key");
  EXPECT_EQ(r.errors[2].to_string(), "test.yaml:5:1: extra: unknown key");
  EXPECT_EQ(r.errors[3].line, 6);
  EXPECT_NE(r.errors[3].message.find("dotted keys are not read"), std::string::npos);
  EXPECT_EQ(r.errors[4].line, 7);
  EXPECT_NE(r.errors[4].message.find("a key must be a plain name"), std::string::npos);
}

TEST(Load, ReportsEveryErrorAtOnceInFileOrder) {
  const LoadResult r = load(
      "profile: loud\n"
      "interface: [eth0]\n"
      "detect:\n"
      "  conn_rate:\n"
      "    limit: 5000000\n"
      "    window: soon\n"
      "    typo: 1\n"
      "  port_scan:\n"
      "    watched_ports: [22, 99999, x]\n"
      "policy:\n"
      "  trusted: [10.0.0.1/24]\n");
  EXPECT_FALSE(r.config);
  const std::vector<std::string> want{
      "test.yaml:1:10: profile: unknown profile 'loud' (normal, aggressive, paranoid)",
      "test.yaml:2:12: interface: expected a string, got a list",
      "test.yaml:5:12: detect.conn_rate.limit: must be at most 1000000 (got 5000000)",
      "test.yaml:6:13: detect.conn_rate.window: expected a duration such as 300s, 10m, 250ms or a number of seconds, "
      "got 'soon'",
      "test.yaml:7:5: detect.conn_rate.typo: unknown key",
      "test.yaml:9:25: detect.port_scan.watched_ports[1]: expected a port (0-65535) or a range such as 1000-2000, got "
      "'99999'",
      "test.yaml:9:32: detect.port_scan.watched_ports[2]: expected a port (0-65535) or a range such as 1000-2000, got "
      "'x'",
      "test.yaml:11:13: policy.trusted[0]: '10.0.0.1/24' has bits set past the prefix length (did you mean "
      "10.0.0.0/24?)",
  };
  std::vector<std::string> got;
  for (const auto& e : r.errors) got.push_back(e.to_string());
  EXPECT_EQ(got, want);
}

TEST(Load, ReportsRepeatedKeys) {
  const LoadResult r = load("interface: a\ndetect:\n  conn_rate: {limit: 5, limit: 6}\ninterface: b\n");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].path, "detect.conn_rate.limit");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 25);
  EXPECT_EQ(r.errors[0].message, "key given twice (first on line 3)");
  EXPECT_EQ(r.errors[1].to_string(), "test.yaml:4:1: interface: key given twice (first on line 1)");
}

TEST(Load, ProfileSelectionAndPrecedence) {
  {
    const LoadResult r = load("profile: aggressive\n");
    ASSERT_TRUE(r.config) << all_errors(r);
    EXPECT_EQ(r.config->profile(), Profile::aggressive);
    EXPECT_EQ(r.config->integer("detect.conn_rate.limit"), 20);                        // profile value
    EXPECT_EQ(r.config->duration("detect.conn_rate.window"), Duration::seconds(10));  // normal default
    EXPECT_EQ(r.config->number("detect.conn_rate.burst_factor"), 1.2);
    EXPECT_EQ(r.config->list("policy.notify"), Strings{"log"});
    EXPECT_FALSE(r.config->is_set_in_file("detect.conn_rate.limit"));
  }
  {
    // The profile key may come after the keys it affects; the file still wins.
    const LoadResult r = load("detect:\n  conn_rate:\n    limit: 30\npolicy: {notify: []}\nprofile: paranoid\n");
    ASSERT_TRUE(r.config) << all_errors(r);
    EXPECT_EQ(r.config->profile(), Profile::paranoid);
    EXPECT_EQ(r.config->integer("detect.conn_rate.limit"), 30);
    EXPECT_TRUE(r.config->is_set_in_file("detect.conn_rate.limit"));
    EXPECT_EQ(r.config->list("policy.notify"), Strings{});
    EXPECT_EQ(r.config->duration("detect.conn_rate.window"), Duration::seconds(30));
    EXPECT_EQ(r.config->string("detect.port_scan.mode"), "both");
    EXPECT_FALSE(r.config->is_set_in_file("detect.port_scan.mode"));
  }
  {
    const LoadResult r = load("profile: normal\n");
    ASSERT_TRUE(r.config) << all_errors(r);
    EXPECT_EQ(r.config->integer("detect.conn_rate.limit"), 50);
  }
}

TEST(Load, MalformedYamlIsOneErrorWithItsPosition) {
  const char* cases[] = {
      "detect: [1, 2\n",
      "interface: \"bad \\q escape\"\n",
      "a: b: c\n",
      "interface: eth0\n  limit: 5\n bad\n",
      "{a: 1\n",
      "interface: *nowhere\n",
      "? \n? \n: :\n[",
      "\t\tinterface: x\n",
      // Inputs that made yaml-cpp loop forever (LoadAll) or that are known to trip its scanner.
      ",\n",
      "[:",
      "{:",
      "{# ke\ny{:",
      "- !+(.,.)",
  };
  for (const char* yaml : cases) {
    const LoadResult r = load(yaml);
    EXPECT_FALSE(r.config) << yaml;
    ASSERT_EQ(r.errors.size(), 1u) << yaml << "\n" << all_errors(r);
    EXPECT_NE(r.errors[0].message.find("malformed YAML"), std::string::npos) << r.errors[0].to_string();
    EXPECT_GT(r.errors[0].line, 0) << yaml << "\n" << r.errors[0].to_string();
  }
}

TEST(Load, DocumentMarkersAroundOneDocumentAreFine) {
  for (const char* yaml : {"---\ninterface: a\n", "interface: a\n...\n", "---\ninterface: a\n...\n# end\n",
                           "%YAML 1.2\n---\ninterface: a\n", "\xef\xbb\xbfinterface: a\n"}) {
    const LoadResult r = load(yaml);
    ASSERT_TRUE(r.config) << yaml << all_errors(r);
    EXPECT_EQ(r.config->string("interface"), "a");
  }
}

TEST(Load, RejectsControlCharactersWithTheirPosition) {
  const BadCase cases[] = {
      {"interface: a\n  \x01x: 1\n", "", 2, 3, "control character 0x01"},
      {"interface: a\n  \x7f", "", 2, 3, "control character 0x7f"},
  };
  for (const auto& c : cases) expect_one_error(c);
  // NUL bytes, which string literals cannot hold.
  const LoadResult r = load(std::string_view("interface: a\0b\n", 15));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), "test.yaml:1:13: control character 0x00 in the file (it must be UTF-8 text)");
  // Tabs and CRLF line ends are text.
  EXPECT_TRUE(load("interface: \"a\tb\"\r\nprofile: normal\r\n").errors.empty());
}

TEST(Load, RejectsDocumentsThatAreNotOneMapping) {
  const BadCase cases[] = {
      {"- a\n- b\n", "", 1, 1, "expected a mapping of keys at the top level, got a list"},
      {"just text\n", "", 1, 1, "got a single value"},
      {"interface: a\n---\ninterface: b\n", "", 2, 1, "more than one YAML document"},
      {"interface: a\n...\n---\n", "", 3, 1, "more than one YAML document"},
  };
  for (const auto& c : cases) expect_one_error(c);
}

TEST(Load, ErrorsComeInFileOrder) {
  // yaml-cpp reads this as two documents; the second is found first, but is listed second.
  const LoadResult r = load("- a\nb: c\n");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "test.yaml:1:1: expected a mapping of keys at the top level, got a list");
  EXPECT_EQ(r.errors[1].line, 2);
}

TEST(Load, DeepOrHugeInputNeitherCrashesNorHangs) {
  // Nesting far past any sane file: yaml-cpp's depth guard or our walk must stop it.
  const std::string deep_flow(100'000, '[');
  EXPECT_FALSE(load(deep_flow).errors.empty());
  std::string deep_block = "detect:\n";
  for (int i = 0; i < 3000; ++i) deep_block += std::string(static_cast<size_t>(2 + i), ' ') + "k" + ":\n";
  EXPECT_FALSE(load(deep_block).errors.empty());
  // A mapping where a scalar belongs is reported, not walked.
  const LoadResult r = load("detect:\n  conn_rate:\n    limit:\n      a:\n        b: {c: {d: [1]}}\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].message, "expected an integer, got a mapping");
  // Oversized input is refused before parsing.
  const std::string huge(kMaxInputBytes + 1, '#');
  const LoadResult h = load(huge);
  ASSERT_EQ(h.errors.size(), 1u);
  EXPECT_NE(h.errors[0].message.find("larger than"), std::string::npos);
  // Aliases share nodes, so an alias bomb stays small; entries are still checked one by one.
  const LoadResult a = load(
      "x0: &a [1, 1, 1, 1, 1, 1, 1, 1]\n"
      "x1: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
      "x2: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
      "policy: {notify: *c}\n");
  EXPECT_FALSE(a.config);
  EXPECT_LE(a.errors.size(), 8u);
}

TEST(Load, StopsAfterTooManyErrors) {
  std::string yaml;
  for (int i = 0; i < 5000; ++i) yaml += "unknown" + std::to_string(i) + ": 1\n";
  const LoadResult r = load(yaml);
  ASSERT_EQ(r.errors.size(), kMaxErrors);
  EXPECT_EQ(r.errors.back().message, "too many errors; stopped after " + std::to_string(kMaxErrors - 1));
  EXPECT_EQ(r.errors.front().path, "unknown0");
}

TEST(Load, OddKeysAreQuotedInPaths) {
  const LoadResult r = load("\"a\\nb\": 1\n\"\": 2\n");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].path, "'a\\x0ab'");
  EXPECT_EQ(r.errors[1].path, "''");
}

class LoadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "picket_config_test_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(LoadFile, ReadsAFileAndNamesItInErrorsAndSource) {
  const std::string good = write("good.yaml", "profile: paranoid\ndetect:\n  conn_rate:\n    limit: 7\n");
  const LoadResult r = load_file(schema(), good);
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->source(), good);
  EXPECT_EQ(r.config->integer("detect.conn_rate.limit"), 7);

  const std::string bad = write("bad.yaml", "detect:\n  conn_rate:\n    limit: 0\n");
  const LoadResult b = load_file(schema(), bad);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].to_string(), bad + ":3:12: detect.conn_rate.limit: must be at least 1 (got 0)");
}

TEST_F(LoadFile, MissingOrUnreadableFileIsOneError) {
  const std::string missing = dir_ + "/missing.yaml";
  const LoadResult r = load_file(schema(), missing);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), missing + ": cannot open: No such file or directory");

  const LoadResult d = load_file(schema(), dir_);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].file, dir_);
  EXPECT_NE(d.errors[0].message.find("directory"), std::string::npos);

  const std::string huge = write("huge.yaml", std::string(kMaxInputBytes + 10, '#'));
  const LoadResult h = load_file(schema(), huge);
  ASSERT_EQ(h.errors.size(), 1u);
  EXPECT_NE(h.errors[0].message.find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace picket::config

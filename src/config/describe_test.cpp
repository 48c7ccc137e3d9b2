#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config/test_schema.hpp"
#include "config/value.hpp"

namespace picket::config {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Describe, ListsEveryKeyWithTypeRangeDefaultsSeedAndHelp) {
  const Schema s = testing::make_test_schema();
  const std::string text = s.describe();
  for (const auto& d : s.params()) {
    EXPECT_TRUE(contains(text, "  " + d.path + " (" + std::string(param_type_name(d.type)))) << d.path;
    EXPECT_TRUE(contains(text, d.help)) << d.path;
    if (!d.seed_note.empty()) {
      EXPECT_TRUE(contains(text, d.seed_note)) << d.path;
    }
    const bool same = d.profile_default(Profile::normal) == d.profile_default(Profile::aggressive) &&
                      d.profile_default(Profile::normal) == d.profile_default(Profile::paranoid);
    if (same) {
      EXPECT_TRUE(contains(text, "default: " + detail::format_yaml(d.default_value) + " (every profile)")) << d.path;
      continue;
    }
    for (Profile p : kAllProfiles) {
      EXPECT_TRUE(contains(text, std::string(profile_name(p)) + " " + detail::format_yaml(d.profile_default(p))))
          << d.path << " " << profile_name(p);
    }
  }
  EXPECT_TRUE(contains(text, "[detect.conn_rate]"));
  EXPECT_TRUE(contains(text, "[top level]"));
  EXPECT_TRUE(contains(text, "detect.conn_rate.limit (integer, 1 .. 1000000)"));
  EXPECT_TRUE(contains(text, "default: normal 50, aggressive 20, paranoid 10"));
  EXPECT_TRUE(contains(text, "detect.conn_rate.window (duration, 1s .. 1h)"));
  EXPECT_TRUE(contains(text, "detect.port_scan.mode (choice, one of: syn, connect, both)"));
  EXPECT_TRUE(contains(text, "policy.trusted (address list, at most 16 entries)"));
  EXPECT_TRUE(contains(text, "picket configuration: 10 keys."));
}

TEST(Describe, PrintsExtremeIntegerBounds) {
  Schema s;
  SchemaSection(s, "t").integer("any", 0, INT64_MIN, INT64_MAX, "h");
  EXPECT_TRUE(contains(s.describe(), "t.any (integer, -9223372036854775808 .. 9223372036854775807)")) << s.describe();
  const LoadResult r = load_string(s, "t: {any: 9223372036854775807}", "x");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->integer("t.any"), INT64_MAX);
}

TEST(Describe, WrapsLongHelpAtSpaces) {
  std::string help;
  for (int i = 0; i < 60; ++i) help += "word" + std::to_string(i) + " ";
  help += std::string(150, 'x');  // one word longer than a line stays whole
  Schema s;
  SchemaSection(s, "t").boolean("flag", true, help);
  for (const std::string& text : {s.describe(), s.example_yaml(Profile::normal)}) {
    size_t start = 0;
    while (start < text.size()) {
      const size_t nl = text.find('\n', start);
      const std::string line = text.substr(start, nl - start);
      if (line.find("xxxx") == std::string::npos) {
        EXPECT_LE(line.size(), 100u) << line;
      }
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    EXPECT_TRUE(contains(text, "word0 word1 word2")) << text;
    EXPECT_TRUE(contains(text, "word59")) << text;
    EXPECT_TRUE(contains(text, std::string(150, 'x'))) << text;
  }
  EXPECT_TRUE(load_string(s, s.example_yaml(Profile::normal), "x").config);
}

TEST(Describe, GroupsKeysOfASectionTogether) {
  Schema s;
  SchemaSection a(s, "a");
  SchemaSection b(s, "b");
  a.boolean("one", true, "first of a");
  b.boolean("two", true, "only of b");
  a.boolean("three", true, "second of a");
  const std::string text = s.describe();
  const auto pa = text.find("[a]"), p1 = text.find("a.one"), p3 = text.find("a.three"), pb = text.find("[b]");
  ASSERT_NE(pb, std::string::npos);
  EXPECT_LT(pa, p1);
  EXPECT_LT(p1, p3);
  EXPECT_LT(p3, pb);  // a.three is listed under [a], before [b]
}

void expect_example_loads_back(const Schema& s, Profile p) {
  const std::string yaml = s.example_yaml(p);
  const LoadResult r = load_string(s, yaml, "example.yaml");
  std::string errors;
  for (const auto& e : r.errors) errors += e.to_string() + "\n";
  ASSERT_TRUE(r.config) << errors << yaml;
  EXPECT_EQ(r.config->profile(), p);
  const Config want = defaults(s, p);
  for (const auto& d : s.params()) {
    EXPECT_EQ(testing::value_of(*r.config, d), testing::value_of(want, d)) << d.path << "\n" << yaml;
    EXPECT_TRUE(r.config->is_set_in_file(d.path)) << d.path;
  }
}

TEST(ExampleYaml, EachProfileLoadsBackToItsDefaults) {
  const Schema s = testing::make_test_schema();
  for (Profile p : kAllProfiles) expect_example_loads_back(s, p);
  const std::string yaml = s.example_yaml(Profile::aggressive);
  EXPECT_TRUE(contains(yaml, "profile: aggressive\n"));
  EXPECT_TRUE(contains(yaml, "detect:\n  conn_rate:\n"));
  EXPECT_TRUE(contains(yaml, "    # New connections allowed per window\n"));
  EXPECT_TRUE(contains(yaml, "    limit: 20\n"));
  EXPECT_TRUE(contains(yaml, "seed 001: RATE_LIMIT 50"));
}

TEST(ExampleYaml, AwkwardValuesSurviveTheRoundTrip) {
  Schema s;
  SchemaSection t(s, "t");
  t.string("quotes", "say \"hi\" \\ there", "h");
  t.string("hash", "a # not a comment", "help\nover two lines\r\nand a stray return");
  t.string("looks_like_bool", "yes", "h");
  t.string("looks_like_number", "012", "h");
  t.string("empty", "", "h");
  t.string("spaces", "  padded  ", "h");
  t.string("control", std::string("tab\there\x01"), "h");
  t.string("utf8", "caf\xc3\xa9", "h");
  t.string_list("list", {"a, b", "[c]", "{d: e}", "- f", ""}, 10, "h");
  t.number("tiny", 1e-300, 0, 1, "h");
  t.number("huge", 1e300, 0, 1e308, "h");
  t.number("third", 1.0 / 3.0, 0, 1, "h");
  t.integer("neg", -9'000'000'000'000'000'000, INT64_MIN, 0, "h");
  t.duration("odd", core::Duration::millis(1001), core::Duration{}, core::Duration::seconds(5), "h");
  t.duration("zero", core::Duration{}, core::Duration{}, core::Duration::seconds(5), "h");
  t.address_list("none", {}, 4, "h");
  t.port_list("all", {"0-65535"}, 4, "h");
  for (Profile p : kAllProfiles) expect_example_loads_back(s, p);
}

TEST(ExampleYaml, EmptySchemaGivesAValidFile) {
  const Schema s;
  const LoadResult r = load_string(s, s.example_yaml(Profile::paranoid), "x");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->profile(), Profile::paranoid);
}

}  // namespace
}  // namespace picket::config

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <stdexcept>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "config/test_schema.hpp"
#include "config/value.hpp"

namespace picket::config {
namespace {

using core::Duration;

TEST(Profile, NamesRoundTripAndUnknownNamesAreRejected) {
  for (Profile p : kAllProfiles) {
    auto back = parse_profile(profile_name(p));
    ASSERT_TRUE(back) << profile_name(p);
    EXPECT_EQ(*back, p);
  }
  EXPECT_EQ(parse_profile("aggressive"), Profile::aggressive);
  for (const char* bad : {"", "Normal", "PARANOID", "normal ", "strict", "aggressive\n"}) {
    EXPECT_FALSE(parse_profile(bad)) << bad;
  }
}

TEST(Schema, TestSchemaDeclaresEveryType) {
  const Schema s = testing::make_test_schema();
  std::set<ParamType> seen;
  for (const auto& d : s.params()) seen.insert(d.type);
  EXPECT_EQ(seen.size(), 9u);
  ASSERT_NE(s.find("detect.conn_rate.limit"), nullptr);
  EXPECT_EQ(s.find("detect.conn_rate.limit")->seed_note, "seed 001: RATE_LIMIT 50");
  EXPECT_EQ(s.find("detect.conn_rate"), nullptr);  // a section, not a key
  EXPECT_EQ(s.find("nope"), nullptr);
  EXPECT_EQ(s.params().front().path, "interface");  // declaration order kept
}

TEST(Schema, RejectsMalformedOrConflictingPaths) {
  for (const char* bad : {"", "a..b", ".a", "a.", "A.b", "a-b", "a b", "profile", "profile.x", "x.Y"}) {
    Schema s;
    SchemaSection top(s, "");
    EXPECT_THROW(top.boolean(bad, true, "h"), std::logic_error) << bad;
  }
  Schema s;
  SchemaSection top(s, "");
  top.integer("a.b", 1, 0, 10, "h");
  EXPECT_THROW(top.integer("a.b", 1, 0, 10, "h"), std::logic_error);    // declared twice
  EXPECT_THROW(top.integer("a.b.c", 1, 0, 10, "h"), std::logic_error);  // a.b is a key
  EXPECT_THROW(top.integer("a", 1, 0, 10, "h"), std::logic_error);      // a is a section
  EXPECT_NO_THROW(top.integer("a.bc", 1, 0, 10, "h"));                   // only a shared prefix
  EXPECT_NO_THROW(top.integer("x.profile", 1, 0, 10, "h"));  // reserved only at the top
}

TEST(Schema, RejectsDefaultsThatFailTheirOwnValidation) {
  struct Case {
    const char* what;
    std::function<void(SchemaSection&)> declare;
  };
  const Case cases[] = {
      {"integer below min", [](SchemaSection& s) { s.integer("x", 0, 1, 10, "h"); }},
      {"integer above max", [](SchemaSection& s) { s.integer("x", 11, 1, 10, "h"); }},
      {"min > max", [](SchemaSection& s) { s.integer("x", 5, 10, 1, "h"); }},
      {"number above max", [](SchemaSection& s) { s.number("x", 10.5, 1, 10, "h"); }},
      {"number not finite", [](SchemaSection& s) { s.number("x", 1.0 / 0.0, 0, 1e300, "h"); }},
      {"duration below min", [](SchemaSection& s) { s.duration("x", Duration::millis(10), Duration::seconds(1), Duration::seconds(5), "h"); }},
      {"duration in ns", [](SchemaSection& s) { s.duration("x", Duration::nanos(1500), Duration{}, Duration::seconds(5), "h"); }},
      {"choice not listed", [](SchemaSection& s) { s.choice("x", "udp", {"tcp", "sctp"}, "h"); }},
      {"choice without choices", [](SchemaSection& s) { s.choice("x", "", {}, "h"); }},
      {"address with host bits", [](SchemaSection& s) { s.address_list("x", {"10.0.0.1/8"}, 4, "h"); }},
      {"address garbage", [](SchemaSection& s) { s.address_list("x", {"ten"}, 4, "h"); }},
      {"too many addresses", [](SchemaSection& s) { s.address_list("x", {"10.0.0.0/8", "::1"}, 1, "h"); }},
      {"port out of range", [](SchemaSection& s) { s.port_list("x", {"65536"}, 4, "h"); }},
      {"port range reversed", [](SchemaSection& s) { s.port_list("x", {"20-10"}, 4, "h"); }},
      {"too many strings", [](SchemaSection& s) { s.string_list("x", {"a", "b"}, 1, "h"); }},
      {"override above max", [](SchemaSection& s) { s.integer("x", 5, 1, 10, "h").aggressive(11); }},
      {"override of wrong type", [](SchemaSection& s) { s.integer("x", 5, 1, 10, "h").paranoid("ten"); }},
      {"override bool for integer", [](SchemaSection& s) { s.integer("x", 5, 1, 10, "h").paranoid(true); }},
      {"override list for string", [](SchemaSection& s) { s.string("x", "a", "h").aggressive({"a", "b"}); }},
      {"override choice not listed", [](SchemaSection& s) { s.choice("x", "tcp", {"tcp"}, "h").paranoid("udp"); }},
      {"raw decl of wrong type",
       [](SchemaSection&) {
         Schema raw;
         raw.add(ParamDecl{"x", ParamType::duration, "h", Value{int64_t{5}}, {}, {}, {}, {}, {}, ""});
       }},
  };
  for (const auto& c : cases) {
    Schema s;
    SchemaSection sec(s, "t");
    EXPECT_THROW(c.declare(sec), std::logic_error) << c.what;
  }
}

TEST(Schema, NormalisesDeclaredValues) {
  Schema s;
  SchemaSection sec(s, "t");
  sec.number("ratio", 2, 0, 10, "h").aggressive(3);  // integers become doubles
  sec.port_list("ports", {"0022", "80-80", "1000-2000"}, 8, "h");
  sec.address_list("nets", {"10.0.0.0/8", "2001:DB8::1"}, 8, "h");
  EXPECT_EQ(std::get<double>(s.find("t.ratio")->default_value), 2.0);
  EXPECT_EQ(std::get<double>(*s.find("t.ratio")->aggressive), 3.0);
  EXPECT_EQ(std::get<std::vector<std::string>>(s.find("t.ports")->default_value),
            (std::vector<std::string>{"22", "80", "1000-2000"}));
  EXPECT_EQ(std::get<std::vector<std::string>>(s.find("t.nets")->default_value),
            (std::vector<std::string>{"10.0.0.0/8", "2001:db8::1"}));
}

TEST(Schema, HandleStaysValidWhileTheSchemaGrows) {
  Schema s;
  SchemaSection sec(s, "t");
  ParamHandle first = sec.integer("first", 5, 1, 100, "h");
  for (int i = 0; i < 200; ++i) sec.integer("k" + std::to_string(i), 1, 0, 10, "h");
  first.aggressive(7).paranoid(9);
  EXPECT_EQ(std::get<int64_t>(s.find("t.first")->profile_default(Profile::normal)), 5);
  EXPECT_EQ(std::get<int64_t>(s.find("t.first")->profile_default(Profile::aggressive)), 7);
  EXPECT_EQ(std::get<int64_t>(s.find("t.first")->profile_default(Profile::paranoid)), 9);
  // A failed override leaves the earlier value in place.
  EXPECT_THROW(first.paranoid(1000), std::logic_error);
  EXPECT_EQ(std::get<int64_t>(s.find("t.first")->profile_default(Profile::paranoid)), 9);
}

TEST(Schema, NestedSectionsJoinPaths) {
  Schema s;
  SchemaSection detect(s, "detect");
  detect.section("syn_flood").integer("limit", 100, 1, 1000, "h");
  SchemaSection top(s, "");
  top.boolean("dry_run", false, "h");
  EXPECT_NE(s.find("detect.syn_flood.limit"), nullptr);
  EXPECT_NE(s.find("dry_run"), nullptr);
}

TEST(Defaults, EachProfileGivesItsValuesAndNamesItsSource) {
  const Schema s = testing::make_test_schema();
  for (Profile p : kAllProfiles) {
    const Config c = defaults(s, p);
    EXPECT_EQ(c.profile(), p);
    EXPECT_EQ(c.source(), "built-in profile " + std::string(profile_name(p)));
    for (const auto& d : s.params()) {
      EXPECT_EQ(testing::value_of(c, d), d.profile_default(p)) << d.path << " " << profile_name(p);
      EXPECT_FALSE(c.is_set_in_file(d.path));
    }
  }
  EXPECT_EQ(defaults(s, Profile::normal).integer("detect.conn_rate.limit"), 50);
  EXPECT_EQ(defaults(s, Profile::aggressive).integer("detect.conn_rate.limit"), 20);
  EXPECT_EQ(defaults(s, Profile::paranoid).integer("detect.conn_rate.limit"), 10);
  // No aggressive override: the normal default.
  EXPECT_EQ(defaults(s, Profile::aggressive).duration("detect.conn_rate.window"), Duration::seconds(10));
  EXPECT_EQ(defaults(s, Profile::paranoid).duration("detect.conn_rate.window"), Duration::seconds(30));
}

TEST(Config, GettersCheckPathAndType) {
  const Config c = defaults(testing::make_test_schema(), Profile::normal);
  EXPECT_THROW((void)c.integer("detect.conn_rate.nope"), std::logic_error);
  EXPECT_THROW((void)c.integer("detect.conn_rate"), std::logic_error);
  EXPECT_THROW((void)c.string("detect.conn_rate.limit"), std::logic_error);
  EXPECT_THROW((void)c.boolean("interface"), std::logic_error);
  EXPECT_THROW((void)c.duration("detect.conn_rate.limit"), std::logic_error);
  EXPECT_THROW((void)c.prefixes("detect.port_scan.watched_ports"), std::logic_error);
  EXPECT_THROW((void)c.ports("policy.trusted"), std::logic_error);
  EXPECT_THROW((void)c.list("interface"), std::logic_error);
  EXPECT_THROW((void)c.is_set_in_file("nope"), std::logic_error);
  EXPECT_EQ(c.number("detect.conn_rate.limit"), 50.0);  // an integer reads as a number
  EXPECT_EQ(c.number("detect.conn_rate.burst_factor"), 1.5);
  EXPECT_EQ(c.string("detect.port_scan.mode"), "syn");  // choice reads as a string
  EXPECT_TRUE(c.boolean("detect.conn_rate.enabled"));
}

TEST(Config, PrefixesAndPortsAreParsed) {
  const Config c = defaults(testing::make_test_schema(), Profile::normal);
  const auto nets = c.prefixes("policy.trusted");
  ASSERT_EQ(nets.size(), 2u);
  EXPECT_EQ(nets[0].to_string(), "127.0.0.0/8");
  EXPECT_TRUE(nets[1].is_host());
  EXPECT_TRUE(nets[1].address().is_v6());
  const auto ports = c.ports("detect.port_scan.watched_ports");
  const std::vector<std::pair<uint16_t, uint16_t>> want{{22, 22}, {80, 80}, {443, 443}, {1000, 2000}};
  EXPECT_EQ(ports, want);
  EXPECT_EQ(defaults(testing::make_test_schema(), Profile::paranoid).ports("detect.port_scan.watched_ports"),
            (std::vector<std::pair<uint16_t, uint16_t>>{{1, 65535}}));
}

TEST(ConfigError, FormatsPositionAndPathWhenKnown) {
  EXPECT_EQ((ConfigError{"f.yaml", 3, 12, "detect.conn_rate.limit", "must be at most 1000000 (got 5000000)"}.to_string()),
            "f.yaml:3:12: detect.conn_rate.limit: must be at most 1000000 (got 5000000)");
  EXPECT_EQ((ConfigError{"f.yaml", 0, 0, "", "cannot open: No such file or directory"}.to_string()),
            "f.yaml: cannot open: No such file or directory");
  EXPECT_EQ((ConfigError{"f.yaml", 2, 0, "", "x"}.to_string()), "f.yaml:2: x");
}

TEST(Value, QuoteForMessageEscapesAndCuts) {
  EXPECT_EQ(detail::quote_for_message("abc"), "'abc'");
  EXPECT_EQ(detail::quote_for_message(std::string_view("a\nb\0", 4)), "'a\\x0ab\\x00'");
  const std::string longer(200, 'x');
  EXPECT_EQ(detail::quote_for_message(longer), "'" + std::string(60, 'x') + "...'");
}

}  // namespace
}  // namespace picket::config

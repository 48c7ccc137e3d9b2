#include "enforce/exec/command_template.hpp"

#include <gtest/gtest.h>

namespace picket::enforce::exec {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::Prefix;

Decision block(const char* target) {
  Decision d;
  d.action = DecisionAction::block;
  d.target = *Prefix::parse(target);
  d.duration = Duration::seconds(600);
  d.detector = "port_scan";
  d.reason = "scanned 120 ports";
  d.offence = 2;
  return d;
}

CommandTemplate tmpl(std::vector<std::string> args) {
  auto t = CommandTemplate::parse("enforce.exec.block", args);
  EXPECT_TRUE(t) << t.error().message;
  return t ? std::move(t).value() : CommandTemplate{};
}

TEST(CommandTemplate, SubstitutesEveryPlaceholderInsideOneArgument) {
  struct Case {
    const char* target;
    std::vector<std::string> args;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"192.0.2.7",
       {"netsh", "advfirewall", "firewall", "add", "rule", "name=picket {address}", "dir=in", "action=block",
        "remoteip={address}"},
       {"netsh", "advfirewall", "firewall", "add", "rule", "name=picket 192.0.2.7", "dir=in", "action=block",
        "remoteip=192.0.2.7"}},
      {"198.18.0.0/24", {"fw", "{address}", "{ip}", "{prefix}", "{length}", "{family}"},
       {"fw", "198.18.0.0/24", "198.18.0.0", "198.18.0.0/24", "24", "ipv4"}},
      {"2001:db8::1", {"fw", "{address}", "{prefix}", "{family}", "--ttl={duration}s"},
       {"fw", "2001:db8::1", "2001:db8::1/128", "ipv6", "--ttl=600s"}},
      {"192.0.2.7", {"fw", "{detector}", "n={offence}", "why={reason}", "{{literal}}"},
       {"fw", "port_scan", "n=2", "why=scanned 120 ports", "{literal}"}},
  };
  for (const auto& c : cases) {
    auto argv = tmpl(c.args).render(block(c.target));
    ASSERT_TRUE(argv) << argv.error().message;
    EXPECT_EQ(*argv, c.want) << c.target;
  }
}

TEST(CommandTemplate, RateLimitPlaceholders) {
  Decision d = block("192.0.2.7");
  d.action = DecisionAction::rate_limit;
  d.port = 443;
  d.proto = 17;
  d.rate_per_second = 50;
  auto argv = tmpl({"fw", "{port}/{proto}", "{rate}"}).render(d);
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ(*argv, (std::vector<std::string>{"fw", "443/udp", "50"}));
}

TEST(CommandTemplate, RejectsMalformedTemplates) {
  const std::vector<std::vector<std::string>> bad = {
      {"fw", "{adress}"},        // unknown placeholder
      {"fw", "{address"},        // unclosed
      {"fw", "address}"},        // unmatched
      {"{address}", "x"},        // the program cannot be a placeholder
      {"", "x"},                 // empty program
      {"fw", std::string("a\0b", 3)},
  };
  for (const auto& args : bad) {
    EXPECT_FALSE(CommandTemplate::parse("enforce.exec.block", args)) << args.back();
  }
  auto empty = CommandTemplate::parse("enforce.exec.flush", {});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(empty->render(block("192.0.2.7")));
}

TEST(CommandTemplate, OtherFieldsStayInertOrAreRefused) {
  const CommandTemplate t = tmpl({"fw", "why={reason}", "d={detector}"});
  // Shell syntax in the reason is one inert argument; control characters become spaces.
  Decision d = block("192.0.2.7");
  d.reason = std::string("a; touch /tmp/x $(id) `id`\nnext\0line", 36);
  auto argv = t.render(d);
  ASSERT_TRUE(argv) << argv.error().message;
  EXPECT_EQ((*argv)[1], "why=a; touch /tmp/x $(id) `id` next line");
  EXPECT_EQ(argv->size(), 3u);
  // A long reason is cut.
  d.reason = std::string(5000, 'r');
  argv = t.render(d);
  ASSERT_TRUE(argv);
  EXPECT_EQ((*argv)[1].size(), 4u + 200u);
  // Detector names outside [A-Za-z0-9_.-] or starting with '-' are refused.
  for (const char* det : {"-rf", "--help", "a b", "x;y", "$(id)", "a\nb", ""}) {
    d.detector = det;
    EXPECT_FALSE(t.render(d)) << det;
  }
  // A detector is not checked when the template does not use it.
  d.detector = "-rf";
  EXPECT_TRUE(tmpl({"fw", "{address}"}).render(d));
}

TEST(CommandTemplate, NoValueBecomesAnOption) {
  Decision d = block("192.0.2.7");
  d.reason = "--help";
  EXPECT_FALSE(tmpl({"fw", "{reason}"}).render(d));
  EXPECT_TRUE(tmpl({"fw", "--why={reason}"}).render(d));  // the template itself is the option
  EXPECT_TRUE(tmpl({"fw", "why={reason}"}).render(d));
  d.reason = "-rf";
  EXPECT_FALSE(tmpl({"fw", "{reason}{address}"}).render(d));
}

TEST(ParseTarget, AcceptsAddressesAndPrefixes) {
  const std::pair<const char*, const char*> good[] = {
      {"192.0.2.7", "192.0.2.7/32"}, {"198.18.0.0/15", "198.18.0.0/15"}, {"2001:db8::1", "2001:db8::1/128"},
      {"2001:db8::/32", "2001:db8::/32"}, {"0.0.0.0/0", "0.0.0.0/0"},
  };
  for (const auto& [in, want] : good) {
    auto p = parse_target(in);
    ASSERT_TRUE(p) << in << ": " << p.error().message;
    EXPECT_EQ(p->to_string(), want);
  }
}

TEST(ParseTarget, RejectsInjectionAttempts) {
  const std::string bad[] = {
      "1.2.3.4; touch /tmp/x",
      "1.2.3.4\ntouch /tmp/x",
      "1.2.3.4\n",
      "$(touch /tmp/x)",
      "1.2.3.4`touch /tmp/x`",
      "`id`",
      "-rf",
      "--help",
      "1.2.3.4 5.6.7.8",
      " 1.2.3.4",
      std::string("1.2.3.4\0; rm", 12),
      std::string(100000, '1'),
      "1.2.3.4/24",  // host bits
      "1.2.3.4/33",
      "1.2.3",
      "",
      "1.2.3.4|id",
      "1.2.3.4&&id",
      "::ffff:1.2.3.4;id",
  };
  for (const auto& s : bad) {
    auto p = parse_target(s);
    EXPECT_FALSE(p) << "accepted: " << s;
    if (!p) {
      EXPECT_LT(p.error().message.size(), 300u);  // the echo of the input is bounded
    }
  }
}

TEST(CanonicalPrefixText, RefusesAnEmptyPrefix) {
  EXPECT_FALSE(canonical_prefix_text(Prefix{}));
  EXPECT_EQ(*canonical_prefix_text(*Prefix::parse("2001:DB8::1")), "2001:db8::1/128");
}

}  // namespace
}  // namespace picket::enforce::exec

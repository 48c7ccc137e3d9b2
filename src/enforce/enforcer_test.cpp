#include "enforce/enforcer.hpp"

#include <gtest/gtest.h>

namespace picket::enforce {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;

Decision make(DecisionAction a, const char* target, Duration d) {
  Decision x;
  x.action = a;
  x.target = *core::Prefix::parse(target);
  x.duration = d;
  return x;
}

Decision rate(const char* target, uint16_t port, uint8_t proto, uint32_t r) {
  Decision x = make(DecisionAction::rate_limit, target, Duration::seconds(30));
  x.port = port;
  x.proto = proto;
  x.rate_per_second = r;
  return x;
}

struct Case {
  const char* name;
  Decision d;
  const char* error;  // nullptr = valid
};

TEST(ValidateDecision, AcceptsGoodAndNamesWhatIsWrong) {
  Decision no_target;
  no_target.duration = Duration::seconds(1);
  Decision unrate = rate("198.18.0.1", 443, 6, 0);
  unrate.action = DecisionAction::unrate_limit;
  Decision bad_action = make(DecisionAction::block, "198.18.0.1", Duration::seconds(1));
  bad_action.action = static_cast<DecisionAction>(9);
  const Case cases[] = {
      {"host block", make(DecisionAction::block, "198.18.0.1", Duration::minutes(10)), nullptr},
      {"prefix block", make(DecisionAction::block, "2001:db8::/48", Duration::seconds(5)), nullptr},
      {"no timeout", make(DecisionAction::block, "198.18.0.1", Duration{}), nullptr},
      {"unblock", make(DecisionAction::unblock, "198.18.0.0/24", Duration{}), nullptr},
      {"max duration", make(DecisionAction::block, "198.18.0.1", kMaxBanDuration), nullptr},
      {"rate tcp", rate("198.18.0.1", 80, 6, 100), nullptr},
      {"rate udp v6", rate("2001:db8::1", 53, 17, 1), nullptr},
      {"unrate without rate", unrate, nullptr},
      {"no target", no_target, "no address"},
      {"negative", make(DecisionAction::block, "198.18.0.1", Duration::seconds(-5)), "negative duration"},
      {"too long", make(DecisionAction::block, "198.18.0.1", kMaxBanDuration + Duration::seconds(1)), "10 years"},
      {"rate icmp", rate("198.18.0.1", 80, 1, 10), "proto 1 is not TCP (6) or UDP (17)"},
      {"rate port 0", rate("198.18.0.1", 0, 6, 10), "port 0"},
      {"rate 0", rate("198.18.0.1", 80, 6, 0), "rate 0 per second"},
      {"rate prefix", rate("198.18.0.0/24", 80, 6, 10), "one address"},
      {"unknown action", bad_action, "unknown action 9"},
  };
  for (const auto& c : cases) {
    auto r = validate_decision(c.d);
    if (c.error == nullptr) {
      EXPECT_TRUE(r) << c.name << ": " << r.error().message;
    } else {
      ASSERT_FALSE(r) << c.name;
      EXPECT_NE(r.error().message.find(c.error), std::string::npos) << c.name << ": " << r.error().message;
    }
  }
}

TEST(DescribeDecision, ReadsLikeASentence) {
  EXPECT_EQ(describe_decision(make(DecisionAction::block, "198.18.0.0/24", Duration::minutes(10))),
            "block 198.18.0.0/24 for 10m");
  EXPECT_EQ(describe_decision(make(DecisionAction::block, "198.18.0.1", Duration{})),
            "block 198.18.0.1/32 without timeout");
  EXPECT_EQ(describe_decision(make(DecisionAction::unblock, "2001:db8::1", Duration{})), "unblock 2001:db8::1/128");
  EXPECT_EQ(describe_decision(rate("198.18.0.1", 80, 6, 100)), "rate_limit 198.18.0.1/32 port 80 proto 6 at 100/s for 30s");
  EXPECT_EQ(describe_decision(Decision{}), "block <no address> without timeout");
}

}  // namespace
}  // namespace picket::enforce

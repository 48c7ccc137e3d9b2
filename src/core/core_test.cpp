#include <gtest/gtest.h>

#include <cstring>

#include "core/bytes.hpp"
#include "core/ip_address.hpp"
#include "core/time.hpp"

namespace picket::core {
namespace {

TEST(IpAddress, ParsesAndFormatsBothFamilies) {
  struct Case { const char* in; const char* out; Family fam; };
  const Case cases[] = {
      {"198.18.0.1", "198.18.0.1", Family::v4},
      {"2001:db8::1", "2001:db8::1", Family::v6},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", Family::v6},
      {"::ffff:198.18.0.1", "::ffff:198.18.0.1", Family::v6},
  };
  for (const auto& c : cases) {
    auto a = IpAddress::parse(c.in);
    ASSERT_TRUE(a) << c.in;
    EXPECT_EQ(a->to_string(), c.out);
    EXPECT_EQ(a->family(), c.fam);
  }
}

TEST(IpAddress, RejectsGarbage) {
  for (const char* bad : {"", "198.18.0", "198.18.0.256", "1.2.3.4 ", "2001:db8:::1", "x", "1.2.3.4/8",
                          "2001:db8::1::2"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
  EXPECT_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0junk", 12)));
  EXPECT_FALSE(Prefix::parse(std::string_view("1.2.3.0/24\0", 11)));
}

TEST(IpAddress, HashV4IsTheHashOfTheAddressFromTheSameBytes) {
  uint32_t x = 0x9E3779B9u;
  for (int i = 0; i < 1000; ++i) {
    x = x * 1664525u + 1013904223u;
    uint8_t b[4];
    std::memcpy(b, &x, 4);
    ASSERT_EQ(IpAddress::hash_v4(x), IpAddress::v4_bytes(b).hash()) << i;
  }
}

TEST(IpAddress, V4HostOrderRoundTrip) {
  auto a = IpAddress::v4(0xC6120001);
  EXPECT_EQ(a.to_string(), "198.18.0.1");
  EXPECT_EQ(a.v4_host_order(), 0xC6120001u);
  EXPECT_NE(a.hash(), IpAddress::v4(0xC6120002).hash());
}

TEST(Prefix, ParseMaskContains) {
  auto p = Prefix::parse("198.18.0.0/15");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*IpAddress::parse("198.19.255.255")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("198.20.0.0")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("2001:db8::1")));
  EXPECT_FALSE(Prefix::parse("198.18.0.1/15"));  // host bits set
  EXPECT_EQ(Prefix::parse("198.18.0.1/15", true)->to_string(), "198.18.0.0/15");
  EXPECT_EQ(Prefix::parse("2001:db8:1::/48")->to_string(), "2001:db8:1::/48");
  EXPECT_TRUE(Prefix::parse("2001:db8::7")->is_host());
  EXPECT_FALSE(Prefix::parse("198.18.0.0/33"));
  EXPECT_FALSE(Prefix::parse("198.18.0.0/"));
  EXPECT_FALSE(Prefix::parse("198.18.0.0/-1"));
  auto v6 = Prefix::parse("2001:db8:abcd:12::/63");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddress::parse("2001:db8:abcd:13::5")));
  EXPECT_FALSE(v6->contains(*IpAddress::parse("2001:db8:abcd:14::5")));
}

TEST(Time, Iso8601HasMicrosecondsAndOffset) {
  EXPECT_EQ(format_iso8601(Timestamp::from_parts(1'700'000'000, 123'456'789)),
            "2023-11-14T22:13:20.123456+0000");
  EXPECT_EQ(format_iso8601(Timestamp{0}), "1970-01-01T00:00:00.000000+0000");
}

TEST(Time, DurationParseAndFormat) {
  EXPECT_EQ(parse_duration("300")->ns, Duration::seconds(300).ns);
  EXPECT_EQ(parse_duration("10m")->ns, Duration::minutes(10).ns);
  EXPECT_EQ(parse_duration("250ms")->ns, Duration::millis(250).ns);
  EXPECT_EQ(parse_duration("2h")->ns, Duration::seconds(7200).ns);
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("5 minutes"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("99999999999999999999d"));
  EXPECT_EQ(format_duration(Duration::seconds(300)), "5m");
  EXPECT_EQ(format_duration(Duration::millis(1500)), "1500ms");
  EXPECT_EQ(format_duration(Duration::seconds(0)), "0s");
}

TEST(Bytes, LoadsStayInBounds) {
  const uint8_t raw[] = {0x12, 0x34, 0x56};
  Bytes b(raw);
  EXPECT_EQ(load_be16(b, 0), 0x1234);
  EXPECT_EQ(load_be16(b, 2), 0);  // would read past the end
  EXPECT_EQ(load_be32(b, 0), 0u);
  EXPECT_TRUE(fits(b, 3, 0));
  EXPECT_FALSE(fits(b, 4, 0));
  EXPECT_FALSE(fits(b, 1, SIZE_MAX));
}

}  // namespace
}  // namespace picket::core

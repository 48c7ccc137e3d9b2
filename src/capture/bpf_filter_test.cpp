#include "capture/bpf_filter.hpp"

#include "capture/packet_source.hpp"
#include "capture/test_util.hpp"

namespace picket::capture {
namespace {

using testing::ipv4_frame;

core::RawPacket packet_of(const std::vector<uint8_t>& bytes, uint32_t wire_len = 0) {
  core::RawPacket p;
  p.data = bytes.data();
  p.cap_len = static_cast<uint32_t>(bytes.size());
  p.wire_len = wire_len ? wire_len : p.cap_len;
  return p;
}

TEST(BpfFilter, MatchesTcpdumpExpressions) {
  const auto tcp80 = ipv4_frame(6, 40000, 80);
  const auto udp53 = ipv4_frame(17, 53, 33000);
  const auto tcp22 = ipv4_frame(6, 22, 50000);
  struct Case {
    const char* expr;
    bool tcp80, udp53, tcp22;
  };
  const Case cases[] = {
      {"tcp port 80", true, false, false},
      {"udp", false, true, false},
      {"tcp", true, false, true},
      {"port 53 or port 22", false, true, true},
      {"src host 198.18.0.1", true, true, true},
      {"dst host 198.18.0.1", false, false, false},
      {"not tcp", false, true, false},
      {"ip6", false, false, false},
      {"greater 1000", false, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expr);
    auto f = BpfFilter::compile(c.expr, core::link_type::kEthernet, 65535);
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->expression(), c.expr);
    EXPECT_EQ(f->matches(packet_of(tcp80)), c.tcp80);
    EXPECT_EQ(f->matches(packet_of(udp53)), c.udp53);
    EXPECT_EQ(f->matches(packet_of(tcp22)), c.tcp22);
  }
}

TEST(BpfFilter, UsesTheWireLengthForLengthTests) {
  const auto tcp80 = ipv4_frame(6, 40000, 80);
  auto f = BpfFilter::compile("greater 1000", core::link_type::kEthernet, 96);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->matches(packet_of(tcp80)));
  EXPECT_TRUE(f->matches(packet_of(tcp80, 1400)));  // captured 54 bytes of a 1400-byte frame
}

TEST(BpfFilter, RawIpLinkTypes) {
  const auto eth = ipv4_frame(6, 40000, 80);
  const std::vector<uint8_t> ip(eth.begin() + 14, eth.end());
  for (int lt : {core::link_type::kRaw, core::link_type::kRawDlt12, core::link_type::kIpv4}) {
    SCOPED_TRACE(lt);
    auto f = BpfFilter::compile("tcp dst port 80", lt, 65535);
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_TRUE(f->matches(packet_of(ip)));
    auto g = BpfFilter::compile("udp", lt, 65535);
    ASSERT_TRUE(g);
    EXPECT_FALSE(g->matches(packet_of(ip)));
  }
}

TEST(BpfFilter, InvalidExpressionNamesTheFilterAndLibpcapsReason) {
  for (const char* bad : {"tcp prot 80", "port 99999", "host", "(("}) {
    auto f = BpfFilter::compile(bad, core::link_type::kEthernet, 65535);
    ASSERT_FALSE(f) << bad;
    const std::string& msg = f.error().message;
    EXPECT_EQ(msg.rfind(std::string("invalid filter '") + bad + "': ", 0), 0u) << msg;
    EXPECT_GT(msg.size(), std::string("invalid filter '").size() + std::string(bad).size() + 3) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(BpfFilter, MoveKeepsTheProgram) {
  auto f = BpfFilter::compile("udp", core::link_type::kEthernet, 65535);
  ASSERT_TRUE(f);
  BpfFilter moved = std::move(f).value();
  EXPECT_TRUE(moved.matches(packet_of(ipv4_frame(17, 1, 2))));
  EXPECT_FALSE(moved.matches(packet_of(ipv4_frame(6, 1, 2))));
  auto g = BpfFilter::compile("tcp", core::link_type::kEthernet, 65535);
  ASSERT_TRUE(g);
  moved = std::move(g).value();
  EXPECT_TRUE(moved.matches(packet_of(ipv4_frame(6, 1, 2))));
}

TEST(BpfFilter, AppliesToClassicFilesAndCountsRejects) {
  testing::TempDir dir;
  std::vector<testing::TestPacket> packets;
  for (uint32_t i = 0; i < 30; ++i) {
    packets.push_back({1000 + i, i, ipv4_frame(i % 3 == 0 ? 6 : 17, 1234, i % 3 == 0 ? 80 : 53), 0});
  }
  for (bool big : {false, true}) {
    const std::string path = dir.file("f.pcap");
    testing::write_file(path, testing::classic_pcap(big, false, 65535, 1, packets));
    for (size_t batch : {size_t{1}, size_t{4}, size_t{100}}) {
      auto src = open_capture_file(path, "tcp port 80");
      ASSERT_TRUE(src) << src.error().message;
      auto r = testing::read_all(**src, batch);
      ASSERT_EQ(r.packets.size(), 10u);
      for (size_t k = 0; k < r.packets.size(); ++k) {
        EXPECT_EQ(r.packets[k].ts.seconds(), 1000 + 3 * static_cast<int64_t>(k));
        EXPECT_EQ(r.data[k], packets[3 * k].data);
      }
      EXPECT_EQ((*src)->filtered_out(), 20u);
      EXPECT_FALSE((*src)->error());
    }
  }
}

TEST(BpfFilter, InvalidFilterOnOpenNamesFileAndFilter) {
  testing::TempDir dir;
  const std::string path = dir.file("f.pcap");
  testing::write_file(path, testing::classic_pcap(false, false, 65535, 1, {}));
  auto src = open_capture_file(path, "tcp prot 80");
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error().message.rfind(path + ": invalid filter 'tcp prot 80': ", 0), 0u) << src.error().message;
}

}  // namespace
}  // namespace picket::capture

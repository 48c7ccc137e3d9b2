// pcapng files built block by block, read through open_capture_file (the libpcap path).
#include "capture/packet_source.hpp"
#include "capture/test_util.hpp"

namespace picket::capture {
namespace {

using testing::ByteWriter;
using testing::frame;
using testing::read_all;
using testing::TempDir;
using testing::write_file;

// Builds a pcapng section: SHB, one IDB (optionally with if_tsresol), then EPBs.
class PcapngBuilder {
 public:
  explicit PcapngBuilder(bool big_endian) : big_(big_endian), w_(big_endian) {
    block(0x0a0d0d0a, [](ByteWriter& b) {
      b.u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff);  // section length unknown
    });
  }
  PcapngBuilder& interface(uint16_t link_type, uint32_t snaplen, int tsresol = -1) {
    block(1, [&](ByteWriter& b) {
      b.u16(link_type).u16(0).u32(snaplen);
      if (tsresol >= 0) {
        b.u16(9).u16(1).u8(static_cast<uint8_t>(tsresol)).pad4();  // if_tsresol
        b.u16(0).u16(0);                                          // opt_endofopt
      }
    });
    return *this;
  }
  // `ticks` in the interface's resolution units since the epoch.
  PcapngBuilder& packet(uint64_t ticks, const std::vector<uint8_t>& data, uint32_t orig_len = 0) {
    block(6, [&](ByteWriter& b) {
      b.u32(0).u32(static_cast<uint32_t>(ticks >> 32)).u32(static_cast<uint32_t>(ticks));
      b.u32(static_cast<uint32_t>(data.size())).u32(orig_len ? orig_len : static_cast<uint32_t>(data.size()));
      b.raw(data).pad4();
    });
    return *this;
  }
  std::vector<uint8_t>& bytes() { return w_.bytes(); }
  size_t size() const { return w_.size(); }

 private:
  template <typename Body>
  void block(uint32_t type, Body body) {
    ByteWriter b(big_);
    body(b);
    const auto total = static_cast<uint32_t>(12 + b.size());
    w_.u32(type).u32(total).raw(b.bytes()).u32(total);
  }
  bool big_;
  ByteWriter w_;
};

TEST(Pcapng, ReadsMicroAndNanosecondInterfacesInBothByteOrders) {
  TempDir dir;
  struct Case {
    const char* name;
    bool big_endian;
    int tsresol;            // -1: default (microseconds)
    int64_t ns_per_tick;
  };
  const Case cases[] = {
      {"le-default", false, -1, 1000},
      {"be-default", true, -1, 1000},
      {"le-ns", false, 9, 1},
      {"be-ns", true, 9, 1},
      {"le-ms", false, 3, 1'000'000},
  };
  const uint64_t base = 1'700'000'000;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const int64_t ticks_per_sec = 1'000'000'000 / c.ns_per_tick;
    const std::vector<uint64_t> ticks = {base * ticks_per_sec, base * ticks_per_sec + 1,
                                         (base + 5) * ticks_per_sec + ticks_per_sec - 1};
    PcapngBuilder b(c.big_endian);
    b.interface(1, 65535, c.tsresol);
    for (size_t i = 0; i < ticks.size(); ++i) b.packet(ticks[i], frame(61 + i, static_cast<uint8_t>(i)), i == 1 ? 900 : 0);
    const std::string path = dir.file(std::string(c.name) + ".pcapng");
    write_file(path, b.bytes());
    for (size_t batch : {size_t{1}, size_t{2}, size_t{100}}) {
      auto src = open_capture_file(path, "");
      ASSERT_TRUE(src) << src.error().message;
      EXPECT_EQ((*src)->link_type(), 1);
      EXPECT_EQ((*src)->snaplen(), 65535u);
      auto r = read_all(**src, batch);
      ASSERT_EQ(r.packets.size(), ticks.size());
      for (size_t i = 0; i < ticks.size(); ++i) {
        EXPECT_EQ(r.packets[i].ts.ns, static_cast<int64_t>(ticks[i]) * c.ns_per_tick) << i;
        EXPECT_EQ(r.packets[i].cap_len, 61 + i);
        EXPECT_EQ(r.packets[i].wire_len, i == 1 ? 900u : 61 + i);
        EXPECT_EQ(r.data[i], frame(61 + i, static_cast<uint8_t>(i)));
      }
      EXPECT_FALSE((*src)->error());
      EXPECT_DOUBLE_EQ((*src)->progress(), 1.0);
    }
  }
}

TEST(Pcapng, BatchPointersAreDistinctAndIntact) {
  TempDir dir;
  PcapngBuilder b(false);
  b.interface(1, 65535);
  for (uint8_t i = 0; i < 10; ++i) b.packet(1'000'000u * i, frame(100 + i, i));
  const std::string path = dir.file("ptr.pcapng");
  write_file(path, b.bytes());
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src);
  std::vector<core::RawPacket> batch(10);
  ASSERT_EQ((*src)->read_batch(batch), 10u);
  // Every packet of the batch is still readable after libpcap moved on to the next one.
  for (uint8_t i = 0; i < 10; ++i) {
    EXPECT_EQ(std::vector<uint8_t>(batch[i].data, batch[i].data + batch[i].cap_len), frame(100 + i, i)) << int{i};
  }
}

TEST(Pcapng, RawIpLinkTypeIsReportedAsLinktypeRaw) {
  TempDir dir;
  PcapngBuilder b(false);
  b.interface(101, 1500);
  b.packet(1, frame(40, 1));
  const std::string path = dir.file("raw.pcapng");
  write_file(path, b.bytes());
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src) << src.error().message;
  EXPECT_EQ((*src)->link_type(), core::link_type::kRaw);
  EXPECT_EQ((*src)->snaplen(), 1500u);
}

TEST(Pcapng, TruncatedBlockDeliversCompletePacketsThenReports) {
  TempDir dir;
  PcapngBuilder b(false);
  b.interface(1, 65535);
  b.packet(1, frame(80, 1));
  b.packet(2, frame(80, 2));
  const size_t two = b.size();
  b.packet(3, frame(80, 3));
  for (size_t cut : {two + 4, two + 40, b.size() - 1}) {
    SCOPED_TRACE(cut);
    const std::string path = dir.file("cut.pcapng");
    write_file(path, std::vector<uint8_t>(b.bytes().begin(), b.bytes().begin() + static_cast<ptrdiff_t>(cut)));
    auto src = open_capture_file(path, "");
    ASSERT_TRUE(src) << src.error().message;
    auto r = read_all(**src, 16);
    ASSERT_EQ(r.packets.size(), 2u);
    EXPECT_EQ(r.data[1], frame(80, 2));
    ASSERT_TRUE((*src)->error());
    const std::string& msg = (*src)->error()->message;
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("after 2 packets"), std::string::npos) << msg;
  }
}

TEST(Pcapng, DamagedSectionHeaderIsAnOpenError) {
  TempDir dir;
  PcapngBuilder b(false);
  b.interface(1, 65535);
  auto bytes = b.bytes();
  const std::string path = dir.file("bad.pcapng");
  write_file(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + 10));
  auto src = open_capture_file(path, "");
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error().message.rfind(path + ": ", 0), 0u) << src.error().message;
  bytes[8] = 0x00;  // byte-order magic broken
  write_file(path, bytes);
  src = open_capture_file(path, "");
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error().message.rfind(path + ": ", 0), 0u) << src.error().message;
}

TEST(Pcapng, FilterAppliesOnTheLibpcapPath) {
  TempDir dir;
  PcapngBuilder b(false);
  b.interface(1, 65535, 9);
  b.packet(1, testing::ipv4_frame(6, 40000, 80));
  b.packet(2, testing::ipv4_frame(17, 53, 5353));
  b.packet(3, testing::ipv4_frame(6, 80, 40000));
  const std::string path = dir.file("filter.pcapng");
  write_file(path, b.bytes());
  auto src = open_capture_file(path, "tcp port 80");
  ASSERT_TRUE(src) << src.error().message;
  auto r = read_all(**src, 1);
  ASSERT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.packets[0].ts.ns, 1);
  EXPECT_EQ(r.packets[1].ts.ns, 3);
  EXPECT_EQ((*src)->filtered_out(), 1u);
}

}  // namespace
}  // namespace picket::capture

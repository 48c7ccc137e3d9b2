// The classic pcap reader (fast path) against files written byte by byte in every variant, and
// against every kind of damage a file can have.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "capture/packet_source.hpp"
#include "capture/test_util.hpp"

namespace picket::capture {
namespace {

using testing::classic_pcap;
using testing::frame;
using testing::read_all;
using testing::TempDir;
using testing::TestPacket;
using testing::write_file;

struct Variant {
  const char* name;
  bool big_endian;
  bool nanosecond;
};
constexpr Variant kVariants[] = {
    {"le-us", false, false},
    {"be-us", true, false},
    {"le-ns", false, true},
    {"be-ns", true, true},
};

std::vector<TestPacket> sample_packets(bool nanosecond) {
  const uint32_t frac_max = nanosecond ? 999'999'999 : 999'999;
  return {
      {1'700'000'000, 0, frame(60, 1), 0},
      {1'700'000'000, frac_max, frame(1514, 2), 0},
      {1'700'000'001, 123, frame(96, 3), 1500},  // truncated by the capturer: wire > cap
      {4'000'000'000, 7, frame(0, 4), 0},        // past 2038: seconds are unsigned
      {0, 1, frame(1, 5), 0},
  };
}

int64_t expected_ns(const TestPacket& p, bool nanosecond) {
  return static_cast<int64_t>(p.sec) * 1'000'000'000 + static_cast<int64_t>(p.frac) * (nanosecond ? 1 : 1000);
}

TEST(ClassicPcap, ReadsEveryVariantWithEveryBatchSize) {
  TempDir dir;
  for (const auto& v : kVariants) {
    const auto packets = sample_packets(v.nanosecond);
    const std::string path = dir.file(std::string(v.name) + ".pcap");
    write_file(path, classic_pcap(v.big_endian, v.nanosecond, 65535, 1, packets));
    for (size_t batch : {size_t{1}, size_t{2}, size_t{3}, size_t{1000}}) {
      SCOPED_TRACE(std::string(v.name) + " batch " + std::to_string(batch));
      auto src = open_capture_file(path, "");
      ASSERT_TRUE(src) << src.error().message;
      EXPECT_EQ((*src)->link_type(), 1);
      EXPECT_EQ((*src)->snaplen(), 65535u);
      EXPECT_EQ((*src)->name(), path);
      EXPECT_DOUBLE_EQ((*src)->progress(), 24.0 / static_cast<double>(std::filesystem::file_size(path)));
      auto r = read_all(**src, batch);
      ASSERT_EQ(r.packets.size(), packets.size());
      for (size_t i = 0; i < packets.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(r.packets[i].ts.ns, expected_ns(packets[i], v.nanosecond));
        EXPECT_EQ(r.packets[i].cap_len, packets[i].data.size());
        EXPECT_EQ(r.packets[i].wire_len, packets[i].wire_len ? packets[i].wire_len : packets[i].data.size());
        EXPECT_EQ(r.data[i], packets[i].data);
      }
      EXPECT_FALSE((*src)->error());
      EXPECT_EQ((*src)->filtered_out(), 0u);
      EXPECT_DOUBLE_EQ((*src)->progress(), 1.0);
      // End of input stays the end.
      std::vector<core::RawPacket> more(4);
      EXPECT_EQ((*src)->read_batch(more), 0u);
      // Batches come out full until the last one.
      EXPECT_EQ(r.calls, (packets.size() + batch - 1) / batch + 1);
    }
  }
}

TEST(ClassicPcap, PointersIntoTheFileStayValidUntilTheNextCall) {
  TempDir dir;
  const auto packets = sample_packets(false);
  const std::string path = dir.file("p.pcap");
  write_file(path, classic_pcap(false, false, 65535, 1, packets));
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src);
  std::vector<core::RawPacket> batch(2);
  ASSERT_EQ((*src)->read_batch(batch), 2u);
  // Both packets of one batch are readable together (no shared scratch buffer).
  EXPECT_EQ(std::vector<uint8_t>(batch[0].data, batch[0].data + batch[0].cap_len), packets[0].data);
  EXPECT_EQ(std::vector<uint8_t>(batch[1].data, batch[1].data + batch[1].cap_len), packets[1].data);
  EXPECT_NE(batch[0].data, batch[1].data);
}

TEST(ClassicPcap, HeaderOnlyFileIsEmptyNotAnError) {
  TempDir dir;
  const std::string path = dir.file("empty-capture.pcap");
  write_file(path, classic_pcap(false, true, 262144, 101, {}));
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src) << src.error().message;
  EXPECT_EQ((*src)->link_type(), 101);
  std::vector<core::RawPacket> batch(8);
  EXPECT_EQ((*src)->read_batch(batch), 0u);
  EXPECT_FALSE((*src)->error());
}

TEST(ClassicPcap, LinkTypeIgnoresFcsBits) {
  TempDir dir;
  const std::string path = dir.file("fcs.pcap");
  // LT_FCS_LENGTH_PRESENT (bit 26) with a 4-byte FCS length in the top bits, on Ethernet.
  write_file(path, classic_pcap(true, false, 65535, 0x04000000u | (2u << 28) | 1u, {{1, 2, frame(60, 1), 0}}));
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src) << src.error().message;
  EXPECT_EQ((*src)->link_type(), 1);
}

TEST(ClassicPcap, WireLengthBelowCaptureLengthIsRaised) {
  TempDir dir;
  const std::string path = dir.file("wire.pcap");
  write_file(path, classic_pcap(false, false, 65535, 1, {{1, 2, frame(100, 1), 40}}));
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src);
  auto r = read_all(**src, 4);
  ASSERT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.packets[0].cap_len, 100u);
  EXPECT_EQ(r.packets[0].wire_len, 100u);
}

// Cut a good file at a point and check what is delivered and what is said.
TEST(ClassicPcap, TruncationDeliversCompletePacketsThenReportsWhere) {
  TempDir dir;
  const auto packets = sample_packets(false);
  for (const auto& v : kVariants) {
    const auto full = classic_pcap(v.big_endian, v.nanosecond, 65535, 1, packets);
    // Offsets of each record in the good file.
    std::vector<size_t> rec_off;
    size_t off = 24;
    for (const auto& p : packets) {
      rec_off.push_back(off);
      off += 16 + p.data.size();
    }
    struct Cut {
      size_t len;
      size_t delivered;
      const char* says;  // empty: opening fails
    };
    const Cut cuts[] = {
        {4, 0, ""},
        {23, 0, ""},
        {rec_off[1] + 1, 1, "truncated record header after 1 packets (1 of 16 bytes"},
        {rec_off[2] + 15, 2, "truncated record header after 2 packets (15 of 16 bytes"},
        {rec_off[1] + 16, 1, "truncated record data after 1 packets (0 of 1514 bytes"},
        {rec_off[1] + 16 + 1513, 1, "truncated record data after 1 packets (1513 of 1514 bytes"},
        {rec_off[2] + 16 + 50, 2, "truncated record data after 2 packets (50 of 96 bytes"},
    };
    for (const auto& c : cuts) {
      SCOPED_TRACE(std::string(v.name) + " cut at " + std::to_string(c.len));
      const std::string path = dir.file(std::string("cut-") + v.name + ".pcap");
      write_file(path, std::vector<uint8_t>(full.begin(), full.begin() + static_cast<ptrdiff_t>(c.len)));
      auto src = open_capture_file(path, "");
      if (std::string(c.says).empty()) {
        ASSERT_FALSE(src);
        EXPECT_EQ(src.error().message,
                  path + ": truncated file header (" + std::to_string(c.len) + " of 24 bytes)");
        continue;
      }
      ASSERT_TRUE(src) << src.error().message;
      for (size_t batch : {size_t{1}, size_t{64}}) {
        auto again = open_capture_file(path, "");
        ASSERT_TRUE(again);
        auto r = read_all(**again, batch);
        ASSERT_EQ(r.packets.size(), c.delivered);
        for (size_t i = 0; i < c.delivered; ++i) EXPECT_EQ(r.data[i], packets[i].data);
        ASSERT_TRUE((*again)->error());
        const std::string& msg = (*again)->error()->message;
        EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
        EXPECT_NE(msg.find(c.says), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos);
        std::vector<core::RawPacket> more(4);
        EXPECT_EQ((*again)->read_batch(more), 0u);  // stays stopped
      }
    }
  }
}

TEST(ClassicPcap, CorruptCaplenStopsWithAnError) {
  TempDir dir;
  struct Case {
    uint32_t snaplen;
    uint32_t bad_caplen;
    const char* says;
  };
  const Case cases[] = {
      {1500, 1501, "caplen 1501 exceeds the snaplen limit 1500"},
      {0, 262145, "caplen 262145 exceeds the maximum limit 262144"},
      {0x7fffffff, 0x10000000, "caplen 268435456 exceeds the maximum limit 262144"},
      {65535, 0xffffffff, "caplen 4294967295 exceeds the snaplen limit 65535"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.says);
    testing::ByteWriter w(false);
    w.raw(classic_pcap(false, false, c.snaplen, 1, {{1, 1, frame(60, 1), 0}}));
    w.u32(2).u32(0).u32(c.bad_caplen).u32(c.bad_caplen).raw(frame(100, 2));
    const std::string path = dir.file("corrupt.pcap");
    write_file(path, w.bytes());
    auto src = open_capture_file(path, "");
    ASSERT_TRUE(src) << src.error().message;
    auto r = read_all(**src, 16);
    EXPECT_EQ(r.packets.size(), 1u);
    ASSERT_TRUE((*src)->error());
    EXPECT_NE((*src)->error()->message.find(path + ": corrupt record after 1 packets: " + c.says),
              std::string::npos)
        << (*src)->error()->message;
  }
}

TEST(OpenCaptureFile, BadFilesAreOneLineErrorsNamingTheFile) {
  TempDir dir;
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* says;
  };
  auto bad_version = classic_pcap(false, false, 65535, 1, {});
  bad_version[4] = 3;
  const Case cases[] = {
      {"empty.pcap", {}, ": empty file"},
      {"short.pcap", {0xd4, 0xc3}, ": truncated file header (2 of 24 bytes)"},
      {"text.pcap", {'h', 'e', 'l', 'l', 'o', '\n'}, ": not a pcap or pcapng file (starts with 68 65 6c 6c)"},
      {"version.pcap", bad_version, ": unsupported pcap version 3.4"},
  };
  for (const auto& c : cases) {
    const std::string path = dir.file(c.name);
    write_file(path, c.bytes);
    auto src = open_capture_file(path, "");
    ASSERT_FALSE(src) << c.name;
    EXPECT_EQ(src.error().message, path + c.says);
  }
  const std::string missing = dir.file("missing.pcap");
  auto src = open_capture_file(missing, "");
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error().message, missing + ": cannot open: No such file or directory");

  auto d = open_capture_file(dir.file(""), "");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find(": is a directory"), std::string::npos) << d.error().message;

  auto e = open_capture_file("", "");
  ASSERT_FALSE(e);
  EXPECT_FALSE(e.error().message.empty());
}

TEST(OpenCaptureFile, FifoIsReadThroughLibpcap) {
  TempDir dir;
  const std::string path = dir.file("pipe");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const auto packets = sample_packets(false);
  const auto bytes = classic_pcap(true, false, 65535, 1, packets);
  std::thread writer([&] { write_file(path, bytes); });
  // If the test stops early, a reader opened here lets the blocked writer finish so join returns.
  struct Joiner {
    std::thread& t;
    const std::string& fifo;
    ~Joiner() {
      if (!t.joinable()) return;
      const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
      t.join();
      if (fd >= 0) ::close(fd);
    }
  } joiner{writer, path};
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src) << src.error().message;
  auto r = read_all(**src, 2);
  writer.join();
  ASSERT_EQ(r.packets.size(), packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(r.packets[i].ts.ns, expected_ns(packets[i], false));
    EXPECT_EQ(r.data[i], packets[i].data);
  }
  EXPECT_FALSE((*src)->error());
  EXPECT_EQ((*src)->progress(), 1.0);
}

TEST(OpenCaptureFile, ModifiedPcapFormatIsReadThroughLibpcap) {
  TempDir dir;
  // Kuznetzov's format: 24-byte record headers (ifindex, protocol, pkt_type, pad after the usual 16).
  testing::ByteWriter w(false);
  w.u32(0xa1b2cd34).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1);
  const auto f = frame(70, 9);
  w.u32(1'600'000'000).u32(250'000).u32(70).u32(70).u32(3).u16(0x0800).u8(0).u8(0).raw(f);
  const std::string path = dir.file("modified.pcap");
  write_file(path, w.bytes());
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src) << src.error().message;
  auto r = read_all(**src, 8);
  ASSERT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.packets[0].ts.ns, 1'600'000'000'250'000'000);
  EXPECT_EQ(r.data[0], f);
  EXPECT_FALSE((*src)->error());
}

}  // namespace
}  // namespace picket::capture

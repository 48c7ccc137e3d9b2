#include "capture/pcap_writer.hpp"

#include <pcap/pcap.h>

#include <fstream>
#include <iterator>

#include "capture/packet_source.hpp"
#include "capture/test_util.hpp"

namespace picket::capture {
namespace {

using testing::frame;
using testing::read_all;
using testing::TempDir;

struct Written {
  core::Timestamp ts;
  std::vector<uint8_t> data;
  uint32_t wire_len;
};

std::vector<Written> sample() {
  return {
      {core::Timestamp::from_parts(1'700'000'000, 123'456'789), frame(60, 1), 60},
      {core::Timestamp::from_parts(1'700'000'000, 999'999'999), frame(1514, 2), 1514},
      {core::Timestamp::from_parts(1'700'000'001, 0), frame(200, 3), 9000},
      {core::Timestamp::from_parts(4'000'000'000, 1), frame(0, 4), 0},
  };
}

TEST(PcapWriter, RoundTripsThroughTheReaderInBothResolutions) {
  TempDir dir;
  for (bool ns : {false, true}) {
    SCOPED_TRACE(ns ? "ns" : "us");
    const std::string path = dir.file("rt.pcap");
    const auto packets = sample();
    {
      auto w = PcapWriter::create(path, core::link_type::kEthernet, 65535, ns);
      ASSERT_TRUE(w) << w.error().message;
      for (const auto& p : packets) w->write(p.ts, p.data, p.wire_len);
      EXPECT_EQ(w->packets_written(), packets.size());
      ASSERT_TRUE(w->close());
    }
    auto src = open_capture_file(path, "");
    ASSERT_TRUE(src) << src.error().message;
    EXPECT_EQ((*src)->link_type(), core::link_type::kEthernet);
    EXPECT_EQ((*src)->snaplen(), 65535u);
    auto r = read_all(**src, 3);
    ASSERT_EQ(r.packets.size(), packets.size());
    for (size_t i = 0; i < packets.size(); ++i) {
      const int64_t want = ns ? packets[i].ts.ns : packets[i].ts.ns / 1000 * 1000;  // us files drop the ns
      EXPECT_EQ(r.packets[i].ts.ns, want) << i;
      EXPECT_EQ(r.packets[i].wire_len, std::max<uint32_t>(packets[i].wire_len, packets[i].data.size())) << i;
      EXPECT_EQ(r.data[i], packets[i].data) << i;
    }
    EXPECT_FALSE((*src)->error());
  }
}

TEST(PcapWriter, LibpcapReadsWhatItWrites) {
  TempDir dir;
  const std::string path = dir.file("lib.pcap");
  auto packets = sample();
  // libpcap reads the seconds field as signed 32-bit (picket reads it unsigned, as the format
  // specification says), so the cross-check stays before 2038.
  packets.pop_back();
  {
    auto w = PcapWriter::create(path, core::link_type::kRaw, 4096, true);
    ASSERT_TRUE(w);
    for (const auto& p : packets) w->write(p.ts, p.data, p.wire_len);
  }  // destructor closes
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(p, nullptr) << err;
  EXPECT_EQ(pcap_datalink(p), DLT_RAW);
  EXPECT_EQ(pcap_snapshot(p), 4096);
  pcap_pkthdr* h;
  const u_char* d;
  size_t i = 0;
  while (pcap_next_ex(p, &h, &d) == 1) {
    ASSERT_LT(i, packets.size());
    EXPECT_EQ(h->ts.tv_sec * 1'000'000'000LL + h->ts.tv_usec, packets[i].ts.ns);
    EXPECT_EQ(h->caplen, packets[i].data.size());
    EXPECT_EQ(std::vector<uint8_t>(d, d + h->caplen), packets[i].data);
    ++i;
  }
  EXPECT_EQ(i, packets.size());
  pcap_close(p);
}

TEST(PcapWriter, CutsRecordsAtTheSnaplenAndKeepsTheWireLength) {
  TempDir dir;
  const std::string path = dir.file("snap.pcap");
  const auto big = frame(1514, 7);
  {
    auto w = PcapWriter::create(path, core::link_type::kEthernet, 96, false);
    ASSERT_TRUE(w);
    w->write(core::Timestamp{1'000'000'000}, big);
    w->write(core::Timestamp{2'000'000'000}, frame(96, 8));
    ASSERT_TRUE(w->close());
  }
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src);
  auto r = read_all(**src, 8);
  ASSERT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.packets[0].cap_len, 96u);
  EXPECT_EQ(r.packets[0].wire_len, 1514u);
  EXPECT_EQ(r.data[0], std::vector<uint8_t>(big.begin(), big.begin() + 96));
  EXPECT_EQ(r.packets[1].cap_len, 96u);
  EXPECT_EQ(r.packets[1].wire_len, 96u);
}

TEST(PcapWriter, ManyPacketsCrossBufferBoundariesIntact) {
  TempDir dir;
  const std::string path = dir.file("many.pcap");
  constexpr uint32_t kCount = 20'000;  // ~20 MB: many 1 MiB flushes, records split nowhere
  {
    auto w = PcapWriter::create(path, core::link_type::kEthernet, 262144, true);
    ASSERT_TRUE(w);
    for (uint32_t i = 0; i < kCount; ++i) {
      w->write(core::Timestamp{int64_t{i} * 1'000}, frame(64 + (i * 37) % 1900, static_cast<uint8_t>(i)));
    }
    w->write(core::Timestamp{int64_t{kCount} * 1'000}, frame(262144, 1));  // one maximum-size record
    EXPECT_EQ(w->packets_written(), kCount + 1);
    ASSERT_TRUE(w->close());
  }
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src);
  std::vector<core::RawPacket> batch(256);
  uint32_t i = 0;
  while (size_t n = (*src)->read_batch(batch)) {
    for (size_t k = 0; k < n; ++k, ++i) {
      const auto& p = batch[k];
      ASSERT_EQ(p.ts.ns, int64_t{i} * 1'000);
      const auto want = i < kCount ? frame(64 + (i * 37) % 1900, static_cast<uint8_t>(i)) : frame(262144, 1);
      ASSERT_EQ(std::vector<uint8_t>(p.data, p.data + p.cap_len), want) << i;
    }
  }
  EXPECT_EQ(i, kCount + 1);
  EXPECT_FALSE((*src)->error());
}

TEST(PcapWriter, NegativeTimestampsBecomeTheEpoch) {
  TempDir dir;
  const std::string path = dir.file("neg.pcap");
  {
    auto w = PcapWriter::create(path, core::link_type::kEthernet, 100, true);
    ASSERT_TRUE(w);
    w->write(core::Timestamp{-5}, frame(10, 1));
  }
  auto src = open_capture_file(path, "");
  ASSERT_TRUE(src);
  auto r = read_all(**src, 2);
  ASSERT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.packets[0].ts.ns, 0);
}

TEST(PcapWriter, ReportsCreateAndWriteErrorsWithTheFileName) {
  TempDir dir;
  const std::string nodir = dir.file("no/such/dir.pcap");
  auto w = PcapWriter::create(nodir, 1, 65535, false);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().message, nodir + ": cannot create: No such file or directory");

  for (uint32_t bad : {0u, 262145u}) {
    auto b = PcapWriter::create(dir.file("x.pcap"), 1, bad, false);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("snaplen"), std::string::npos);
  }

  // /dev/full accepts open and fails every write with ENOSPC: the disk-full case.
  auto full = PcapWriter::create("/dev/full", 1, 65535, false);
  ASSERT_TRUE(full) << full.error().message;
  for (int i = 0; i < 3000; ++i) full->write(core::Timestamp{i}, frame(1000, 1));  // forces flushes
  auto closed = full->close();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().message, "/dev/full: write failed: No space left on device");
  auto again = full->close();
  EXPECT_FALSE(again);  // the error stays
}

TEST(PcapWriter, MoveTransfersTheOpenFile) {
  TempDir dir;
  const std::string a = dir.file("a.pcap");
  const std::string b = dir.file("b.pcap");
  auto w1 = PcapWriter::create(a, 1, 65535, false);
  ASSERT_TRUE(w1);
  w1->write(core::Timestamp{1'000'000'000}, frame(60, 1));
  PcapWriter moved = std::move(w1).value();
  moved.write(core::Timestamp{2'000'000'000}, frame(60, 2));
  EXPECT_EQ(moved.packets_written(), 2u);
  auto w2 = PcapWriter::create(b, 1, 65535, false);
  ASSERT_TRUE(w2);
  w2->write(core::Timestamp{3'000'000'000}, frame(60, 3));
  moved = std::move(w2).value();  // closes a.pcap with its two packets
  ASSERT_TRUE(moved.close());
  for (const auto& [path, count] : {std::pair{a, 2u}, std::pair{b, 1u}}) {
    auto src = open_capture_file(path, "");
    ASSERT_TRUE(src) << src.error().message;
    EXPECT_EQ(read_all(**src, 8).packets.size(), count) << path;
    EXPECT_FALSE((*src)->error());
  }
}

}  // namespace
}  // namespace picket::capture

// Helpers for the capture tests: a temp dir removed at the end, and byte-level builders for
// classic pcap and pcapng files written by hand (independent of PcapWriter, so the reader is
// checked against the format, not against our own writer).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "capture/packet_source.hpp"

namespace picket::capture::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "picket-capture-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// Appends integers in a chosen byte order.
class ByteWriter {
 public:
  explicit ByteWriter(bool big_endian) : big_(big_endian) {}
  ByteWriter& u8(uint8_t v) {
    bytes_.push_back(v);
    return *this;
  }
  ByteWriter& u16(uint16_t v) {
    for (int i = 0; i < 2; ++i) u8(static_cast<uint8_t>(v >> (big_ ? 8 * (1 - i) : 8 * i)));
    return *this;
  }
  ByteWriter& u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (big_ ? 8 * (3 - i) : 8 * i)));
    return *this;
  }
  ByteWriter& raw(const std::vector<uint8_t>& b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  ByteWriter& pad4() {
    while (bytes_.size() % 4 != 0) u8(0);
    return *this;
  }
  std::vector<uint8_t>& bytes() { return bytes_; }
  size_t size() const { return bytes_.size(); }

 private:
  bool big_;
  std::vector<uint8_t> bytes_;
};

struct TestPacket {
  uint32_t sec;
  uint32_t frac;  // microseconds or nanoseconds, as the file says
  std::vector<uint8_t> data;
  uint32_t wire_len;  // 0 = data.size()
};

// A classic pcap file, byte by byte.
inline std::vector<uint8_t> classic_pcap(bool big_endian, bool nanosecond, uint32_t snaplen, uint32_t link_type,
                                         const std::vector<TestPacket>& packets) {
  ByteWriter w(big_endian);
  w.u32(nanosecond ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(link_type);
  for (const auto& p : packets) {
    w.u32(p.sec).u32(p.frac).u32(static_cast<uint32_t>(p.data.size()));
    w.u32(p.wire_len != 0 ? p.wire_len : static_cast<uint32_t>(p.data.size()));
    w.raw(p.data);
  }
  return w.bytes();
}

// Deterministic frame bytes that differ per packet, so a wrong pointer shows.
inline std::vector<uint8_t> frame(size_t len, uint8_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return v;
}

// A minimal Ethernet/IPv4/TCP or UDP frame for the BPF tests (checksums zero: BPF does not care).
inline std::vector<uint8_t> ipv4_frame(uint8_t proto, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> f(14 + 20 + 20, 0);
  f[12] = 0x08;  // ethertype IPv4
  f[14] = 0x45;
  f[16] = 0;
  f[17] = 40;
  f[22] = 64;
  f[23] = proto;
  f[26] = 198; f[27] = 18; f[28] = 0; f[29] = 1;   // src
  f[30] = 198; f[31] = 18; f[32] = 0; f[33] = 2;   // dst
  f[34] = static_cast<uint8_t>(sport >> 8);
  f[35] = static_cast<uint8_t>(sport);
  f[36] = static_cast<uint8_t>(dport >> 8);
  f[37] = static_cast<uint8_t>(dport);
  return f;
}

// Reads a source to the end with batches of `batch` packets, copying every packet out.
struct ReadBack {
  std::vector<core::RawPacket> packets;
  std::vector<std::vector<uint8_t>> data;
  size_t calls = 0;
};
inline ReadBack read_all(PacketSource& src, size_t batch) {
  ReadBack r;
  std::vector<core::RawPacket> buf(batch);
  for (size_t guard = 0; guard < 1'000'000; ++guard) {
    const size_t n = src.read_batch(buf);
    ++r.calls;
    if (n == 0) break;
    EXPECT_LE(n, batch);
    for (size_t i = 0; i < n; ++i) {
      r.packets.push_back(buf[i]);
      r.data.emplace_back(buf[i].data, buf[i].data + buf[i].cap_len);
    }
  }
  return r;
}

}  // namespace picket::capture::testing

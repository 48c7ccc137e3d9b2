// Malformed and truncated frames: every Anomaly is produced by at least one row, its counter moves,
// and the fields decoded before it stay valid (the partial-decode contract). Then every frame cut
// at every length.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "decode/decode_test_util.hpp"
#include "decode/decoder.hpp"

namespace picket::decode::testing {
namespace {

namespace mf = core::meta_flag;
namespace lt = core::link_type;
using core::tcp_flag::kAck;
using core::tcp_flag::kFin;
using core::tcp_flag::kRst;
using core::tcp_flag::kSyn;

constexpr uint16_t kSport = 40000;
constexpr uint16_t kDport = 8080;

std::vector<uint8_t> quote_v4(bool tcp, size_t len = SIZE_MAX) {
  PacketBuilder b;
  b.raw_ip().ipv4(kDst4, kSrc4);
  if (tcp) b.tcp(kSport, kDport, kSyn); else b.udp(kSport, kDport);
  auto q = b.build();
  if (len < q.size()) q.resize(len);
  return q;
}
std::vector<uint8_t> quote_v6(size_t len = SIZE_MAX) {
  auto q = PacketBuilder().raw_ip().ipv6(kDst6, kSrc6).udp(kSport, kDport).build();
  if (len < q.size()) q.resize(len);
  return q;
}

struct Row {
  const char* name;
  int link_type;
  std::function<PacketBuilder()> make;
  // Edits the built frame; may resize it. nullptr: none.
  std::function<void(std::vector<uint8_t>&, const FrameLayout&)> edit;
  Anomaly want;
  uint16_t want_flags;  // exactly these flags after decoding
  size_t cap = SIZE_MAX;  // capture cut (wire length stays the frame's size)
};

PacketBuilder eth4() { PacketBuilder b; b.ipv4(kSrc4, kDst4); return b; }
PacketBuilder eth6() { PacketBuilder b; b.ipv6(kSrc6, kDst6); return b; }
PacketBuilder tcp4() { return eth4().tcp(kSport, kDport, kSyn).payload_size(12); }
PacketBuilder udp4() { return eth4().udp(kSport, kDport).payload_size(12); }
PacketBuilder udp6() { return eth6().udp(kSport, kDport).payload_size(12); }
PacketBuilder tcp6() { return eth6().tcp(kSport, kDport, kSyn).payload_size(12); }
auto cut_to(size_t n) {
  return [n](std::vector<uint8_t>& f, const FrameLayout&) { f.resize(n); };
}
auto cut_at_transport(size_t plus) {
  return [plus](std::vector<uint8_t>& f, const FrameLayout& l) { f.resize(l.transport + plus); };
}
auto set_byte(size_t layer_off, uint8_t v, int layer /*0 abs, 1 network, 2 transport*/) {
  return [=](std::vector<uint8_t>& f, const FrameLayout& l) {
    const size_t base = layer == 0 ? 0 : layer == 1 ? l.network : l.transport;
    f.at(base + layer_off) = v;
  };
}
auto set_word(size_t layer_off, uint16_t v, int layer) {
  return [=](std::vector<uint8_t>& f, const FrameLayout& l) {
    const size_t base = layer == 0 ? 0 : layer == 1 ? l.network : l.transport;
    set16(f, base + layer_off, v);
  };
}
// Inserts `n` 802.1Q tags after the MAC addresses.
auto add_tags(int n) {
  return [n](std::vector<uint8_t>& f, const FrameLayout&) {
    const uint8_t tag[] = {0x81, 0x00, 0x00, 0x0A};
    for (int i = 0; i < n; ++i) f.insert(f.begin() + 12, tag, tag + 4);
  };
}

constexpr uint16_t kIp = mf::kHasIp;
constexpr uint16_t kIpPorts = mf::kHasIp | mf::kHasPorts;
constexpr uint16_t kIcmp = mf::kHasIp | mf::kHasIcmp;
constexpr uint16_t kInner = mf::kHasIp | mf::kHasIcmp | mf::kHasInner;

std::vector<Row> rows() {
  return {
      {"unsupported link type", 105, tcp4, nullptr, Anomaly::link_unsupported, 0},
      {"ethernet 13 bytes", lt::kEthernet, tcp4, cut_to(13), Anomaly::eth_truncated, 0},
      {"ethernet empty", lt::kEthernet, tcp4, cut_to(0), Anomaly::eth_truncated, 0},
      {"vlan tag cut", lt::kEthernet, [] { return tcp4().vlan(10); }, cut_to(16), Anomaly::vlan_truncated, 0},
      {"qinq inner tag cut", lt::kEthernet, [] { return tcp4().vlan(100).vlan(200); }, cut_to(20),
       Anomaly::vlan_truncated, mf::kVlan},
      {"five vlan tags", lt::kEthernet, tcp4, add_tags(5), Anomaly::vlan_too_deep, mf::kVlan},
      {"sll 15 bytes", lt::kLinuxSll, [] { return tcp4().linux_sll(); }, cut_to(15), Anomaly::sll_truncated, 0},
      {"sll2 19 bytes", lt::kLinuxSll2, [] { return tcp4().linux_sll2(); }, cut_to(19), Anomaly::sll2_truncated, 0},
      {"null 3 bytes", lt::kNull, [] { return tcp4().null_loopback(); }, cut_to(3), Anomaly::null_truncated, 0},
      {"raw empty", lt::kRaw, [] { return tcp4().raw_ip(); }, cut_to(0), Anomaly::raw_truncated, 0},
      {"ethertype ipv4, version 6", lt::kEthernet, tcp4, set_byte(0, 0x65, 1), Anomaly::ip_bad_version, 0},
      {"ethertype ipv6, version 4", lt::kEthernet, udp6, set_byte(0, 0x40, 1), Anomaly::ip_bad_version, 0},
      {"raw, version 5", lt::kRaw, [] { return tcp4().raw_ip(); }, set_byte(0, 0x55, 1), Anomaly::ip_bad_version,
       0},
      {"linktype ipv4 carrying ipv6", lt::kIpv4, [] { return udp6().raw_ip(); }, nullptr, Anomaly::ip_bad_version,
       0},
      {"linktype ipv6 carrying ipv4", lt::kIpv6, [] { return udp4().raw_ip(); }, nullptr, Anomaly::ip_bad_version,
       0},
      {"null AF_INET carrying ipv6", lt::kNull, [] { return udp6().null_loopback(); }, set_byte(0, 2, 0),
       Anomaly::ip_bad_version, 0},
      {"ipv4 19 bytes", lt::kEthernet, tcp4, cut_to(14 + 19), Anomaly::ipv4_truncated, 0},
      {"ipv4 options cut", lt::kEthernet,
       [] {
         static const uint8_t opts[8] = {1, 1, 1, 1, 1, 1, 1, 0};
         return tcp4().ipv4_options(opts);
       },
       nullptr, Anomaly::ipv4_truncated, kIp, 14 + 22},
      {"ipv4 ihl 4", lt::kEthernet, tcp4, set_byte(0, 0x44, 1), Anomaly::ipv4_bad_ihl, kIp},
      {"ipv4 ihl 0", lt::kEthernet, udp4, set_byte(0, 0x40, 1), Anomaly::ipv4_bad_ihl, kIp},
      {"ipv4 total length 19", lt::kEthernet, tcp4, set_word(2, 19, 1), Anomaly::ipv4_bad_total_length, kIp},
      {"ipv4 total length past the frame", lt::kEthernet, tcp4, set_word(2, 20 + 20 + 12 + 1, 1),
       Anomaly::ipv4_bad_total_length, kIp},
      {"ipv4 total length 0 (offload)", lt::kEthernet, tcp4, set_word(2, 0, 1), Anomaly::ipv4_bad_total_length,
       kIp},
      {"ipv4 fragment past 65535", lt::kEthernet,
       [] { return eth4().ipv4_fragment(65528, false).udp(kSport, kDport).payload_size(100); }, nullptr,
       Anomaly::ipv4_frag_offset_too_large, kIp | mf::kFragment | mf::kLaterFragment},
      {"ipv6 39 bytes", lt::kEthernet, udp6, cut_to(14 + 39), Anomaly::ipv6_truncated, 0},
      {"ipv6 payload length past the frame", lt::kEthernet, udp6, set_word(4, 8 + 12 + 1, 1),
       Anomaly::ipv6_bad_payload_length, kIp},
      {"ipv6 extension header cut by capture", lt::kEthernet, [] { return eth6().ipv6_extension(0, 30).udp(1, 2); },
       nullptr, Anomaly::ipv6_ext_truncated, kIp, 14 + 40 + 20},
      {"ipv6 extension length past payload", lt::kEthernet, [] { return eth6().ipv6_extension(60).udp(1, 2); },
       set_byte(40 + 1, 200, 1), Anomaly::ipv6_ext_truncated, kIp},
      {"ipv6 fragment header cut", lt::kEthernet,
       [] { return eth6().ipv6_extension(0).ipv6_fragment(0, true).udp(1, 2); }, nullptr,
       Anomaly::ipv6_ext_truncated, kIp | mf::kIpOptions, 14 + 40 + 8 + 6},
      {"nine extension headers", lt::kEthernet,
       [] {
         PacketBuilder b = eth6();
         for (int i = 0; i < 9; ++i) b.ipv6_extension(60);
         return b.udp(1, 2);
       },
       nullptr, Anomaly::ipv6_too_many_ext, kIp | mf::kIpOptions},
      {"ipv6 fragment past 65535", lt::kEthernet,
       [] { return eth6().ipv6_fragment(65528, false).udp(1, 2).payload_size(100); }, nullptr,
       Anomaly::ipv6_frag_offset_too_large, kIp | mf::kIpOptions | mf::kFragment | mf::kLaterFragment},
      {"tcp cut by capture", lt::kEthernet, tcp4, cut_at_transport(19), Anomaly::tcp_truncated, kIp},
      {"tcp cut by ipv4 total length", lt::kEthernet, tcp4, set_word(2, 20 + 12, 1), Anomaly::tcp_truncated, kIp},
      {"tcp in a tiny first fragment", lt::kEthernet,
       [] { return eth4().ipv4_fragment(0, true).tcp(kSport, kDport, kSyn); },
       [](std::vector<uint8_t>& f, const FrameLayout& l) {
         f.resize(l.transport + 8);
         set16(f, l.network + 2, 28);
       },
       Anomaly::tcp_truncated, kIp | mf::kFragment},
      {"tcp over ipv6 cut", lt::kEthernet, tcp6, cut_at_transport(10), Anomaly::tcp_truncated, kIp},
      {"tcp data offset 4", lt::kEthernet, tcp4, set_byte(12, 0x40, 2), Anomaly::tcp_bad_data_offset, kIpPorts},
      {"tcp data offset past ip length", lt::kEthernet, tcp4, set_byte(12, 0xF0, 2), Anomaly::tcp_bad_data_offset,
       kIpPorts},
      {"tcp syn+fin", lt::kEthernet, [] { return eth4().tcp(kSport, kDport, kSyn | kFin).payload_size(12); },
       nullptr, Anomaly::tcp_flags_invalid, kIpPorts},
      {"tcp syn+rst over ipv6", lt::kEthernet,
       [] { return eth6().tcp(kSport, kDport, kSyn | kRst | kAck).payload_size(12); }, nullptr,
       Anomaly::tcp_flags_invalid, kIpPorts},
      {"udp cut by capture", lt::kEthernet, udp4, cut_at_transport(7), Anomaly::udp_truncated, kIp},
      {"udp over ipv6 cut", lt::kEthernet, udp6, cut_at_transport(3), Anomaly::udp_truncated, kIp},
      {"udp length 7", lt::kEthernet, udp4, set_word(4, 7, 2), Anomaly::udp_bad_length, kIpPorts},
      {"udp length past ip payload", lt::kEthernet, udp4, set_word(4, 8 + 12 + 1, 2), Anomaly::udp_bad_length,
       kIpPorts},
      {"udp length short of ip payload", lt::kEthernet, udp6, set_word(4, 8 + 12 - 1, 2), Anomaly::udp_bad_length,
       kIpPorts},
      {"udp length short of a first fragment", lt::kEthernet,
       [] { return eth4().ipv4_fragment(0, true).udp(kSport, kDport).payload_size(12); }, set_word(4, 8 + 11, 2),
       Anomaly::udp_bad_length, kIpPorts | mf::kFragment},
      {"icmp cut", lt::kEthernet, [] { return eth4().icmp(8, 0); }, cut_at_transport(7), Anomaly::icmp_truncated,
       kIp},
      {"icmp cut by total length", lt::kEthernet, [] { return eth4().icmp(8, 0); }, set_word(2, 24, 1),
       Anomaly::icmp_truncated, kIp},
      {"icmpv6 cut", lt::kEthernet, [] { return eth6().icmp(128, 0); }, cut_at_transport(4),
       Anomaly::icmpv6_truncated, kIp},
      {"icmp error without quote", lt::kEthernet, [] { return eth4().icmp(3, 3); }, nullptr,
       Anomaly::icmp_inner_truncated, kIcmp},
      {"icmp quote of 10 bytes", lt::kEthernet, [] { return eth4().icmp(3, 3).quote(quote_v4(false, 10)); }, nullptr,
       Anomaly::icmp_inner_truncated, kIcmp},
      {"icmp quote without ports", lt::kEthernet, [] { return eth4().icmp(3, 3).quote(quote_v4(true, 22)); },
       nullptr, Anomaly::icmp_inner_truncated, kInner},
      {"icmp quote cut by snaplen", lt::kEthernet, [] { return eth4().icmp(3, 3).quote(quote_v4(false)); }, nullptr,
       Anomaly::icmp_inner_truncated, kInner, 14 + 20 + 8 + 20 + 2},
      {"icmpv6 quote of 30 bytes", lt::kEthernet, [] { return eth6().icmp(1, 4).quote(quote_v6(30)); }, nullptr,
       Anomaly::icmp_inner_truncated, kIcmp},
      {"icmpv6 quote with cut extension header", lt::kEthernet,
       [] {
         auto q = PacketBuilder().raw_ip().ipv6(kDst6, kSrc6).ipv6_extension(0, 30).udp(1, 2).build();
         q.resize(50);
         return eth6().icmp(1, 4).quote(q);
       },
       nullptr, Anomaly::icmp_inner_truncated, kInner},
      {"icmp quote version 5", lt::kEthernet, [] { return eth4().icmp(3, 3).quote(quote_v4(false)); },
       set_byte(8, 0x55, 2), Anomaly::icmp_inner_malformed, kIcmp},
      {"icmp quote ihl 3", lt::kEthernet, [] { return eth4().icmp(11, 0).quote(quote_v4(true)); },
       set_byte(8, 0x43, 2), Anomaly::icmp_inner_malformed, kIcmp},
      {"icmpv6 quote with nine extension headers", lt::kEthernet,
       [] {
         PacketBuilder in;
         in.raw_ip().ipv6(kDst6, kSrc6);
         for (int i = 0; i < 9; ++i) in.ipv6_extension(60);
         return eth6().icmp(1, 4).quote(in.udp(1, 2).build());
       },
       nullptr, Anomaly::icmp_inner_malformed, kInner},
  };
}

// The partial-decode contract: a flag that is set vouches for its fields, a clear flag leaves
// its fields zero.
void expect_fields_match_flags(const PacketMeta& m, bool v6) {
  if (m.has(mf::kHasIp)) {
    EXPECT_EQ(m.src, v6 ? kSrc6 : kSrc4);
    EXPECT_EQ(m.dst, v6 ? kDst6 : kDst4);
    EXPECT_EQ(m.ttl, 64);
  } else {
    EXPECT_TRUE(m.src.empty());
    EXPECT_TRUE(m.dst.empty());
    EXPECT_EQ(m.ip_proto, 0);
  }
  if (m.has(mf::kHasPorts)) {
    EXPECT_TRUE(m.has(mf::kHasIp));
    EXPECT_EQ(m.src_port, kSport);
    EXPECT_EQ(m.dst_port, kDport);
  } else {
    EXPECT_EQ(m.src_port, 0);
    EXPECT_EQ(m.dst_port, 0);
    EXPECT_EQ(m.tcp_flags, 0);
  }
  if (!m.has(mf::kHasIcmp)) {
    EXPECT_EQ(m.icmp_type, 0);
  }
  if (m.has(mf::kHasInner)) {
    EXPECT_EQ(m.inner_src, v6 ? kDst6 : kDst4);
    EXPECT_EQ(m.inner_dst, v6 ? kSrc6 : kSrc4);
  } else {
    EXPECT_TRUE(m.inner_src.empty());
    EXPECT_EQ(m.inner_proto, 0);
  }
  if (!m.has(mf::kInnerPorts)) {
    EXPECT_EQ(m.inner_src_port, 0);
  }
  if (!m.has(mf::kVlan)) {
    EXPECT_EQ(m.vlan_id, 0);
  }
}

TEST(DecoderAnomalies, EveryRowReportsItsAnomalyAndKeepsThePartialMeta) {
  std::set<Anomaly> seen;
  for (const Row& row : rows()) {
    SCOPED_TRACE(row.name);
    const PacketBuilder b = row.make();
    Frame f = build(b);
    // Cuts act like a snap length: the wire carried the whole frame.
    const size_t wire = f.bytes.size();
    if (row.edit) row.edit(f.bytes, f.layout);
    const bool v6 = f.layout.network != FrameLayout::npos && f.layout.network < f.bytes.size() &&
                    (f.bytes[f.layout.network] >> 4) == 6;
    Decoder dec(row.link_type);
    PacketMeta m;
    const Anomaly got = run(dec, f.bytes, m, row.cap, std::max(wire, f.bytes.size()));
    EXPECT_EQ(got, row.want) << anomaly_name(got) << " instead of " << anomaly_name(row.want);
    EXPECT_EQ(m.flags, row.want_flags) << std::hex << "flags 0x" << m.flags << " want 0x" << row.want_flags;
    expect_fields_match_flags(m, v6);
    EXPECT_EQ(m.ts, kTs);
    EXPECT_EQ(m.ifindex, kIfindex);
    EXPECT_EQ(m.cap_len, std::min(row.cap, f.bytes.size()));
    // The counter of that anomaly, and only that one, moved.
    for (size_t i = 0; i < kAnomalyCount; ++i) {
      EXPECT_EQ(dec.anomaly_counts()[i], i == static_cast<size_t>(row.want) ? 1u : 0u) << anomaly_name(Anomaly(i));
    }
    EXPECT_EQ(dec.anomaly_count(row.want), 1u);
    EXPECT_EQ(dec.packets(), 1u);
    EXPECT_EQ(dec.non_ip(), 0u);
    seen.insert(got);
  }
  for (size_t i = 1; i < kAnomalyCount; ++i) {
    EXPECT_TRUE(seen.count(static_cast<Anomaly>(i))) << "no row produces " << anomaly_name(Anomaly(i));
  }
}

TEST(DecoderAnomalies, CountersAccumulateAcrossPackets) {
  Decoder dec(lt::kEthernet);
  PacketMeta m;
  std::vector<uint8_t> good = tcp4().build();
  std::vector<uint8_t> bad = good;
  bad.resize(20);
  for (int i = 0; i < 3; ++i) run(dec, bad, m);
  for (int i = 0; i < 2; ++i) run(dec, good, m);
  EXPECT_EQ(dec.anomaly_count(Anomaly::ipv4_truncated), 3u);
  EXPECT_EQ(dec.anomaly_count(Anomaly::none), 0u);
  EXPECT_EQ(dec.packets(), 5u);
}

// ---- every frame cut at every length

struct CutCase {
  const char* name;
  int link_type;
  PacketBuilder builder;
  size_t transport_fixed;      // the transport header the decoder needs (20 TCP, 8 otherwise)
  size_t quote_needed;         // ICMP errors: quoted IP header + 4 bytes of ports
  std::string_view transport_layer;
};

// The layer whose anomaly a snap length of `len` must produce.
std::string_view layer_of_cut(size_t len, const FrameLayout& l, const CutCase& c, bool v6) {
  const bool raw = c.link_type == lt::kRaw || c.link_type == lt::kRawDlt12 || c.link_type == lt::kRawDlt14;
  if (len < l.network || (raw && len == 0)) return "link";
  if (len < l.transport) return v6 ? "ipv6" : "ipv4";
  if (len < l.transport + c.transport_fixed) return c.transport_layer;
  return "icmp";  // the quote
}

TEST(DecoderAnomalies, EveryTruncationIsNamedNeverACrash) {
  const uint8_t opts[] = {0x94, 0x04, 0, 0};
  const std::vector<uint8_t> q4 = quote_v4(false);
  const std::vector<uint8_t> q6 = quote_v6();
  const CutCase cases[] = {
      {"eth ipv4 options tcp", lt::kEthernet, eth4().ipv4_options(opts).tcp(kSport, kDport, kSyn).payload_size(9),
       20, 0, "tcp"},
      {"qinq ipv6 ext udp", lt::kEthernet,
       eth6().vlan(1).vlan(2).ipv6_extension(0).ipv6_extension(43, 10).udp(kSport, kDport).payload_size(5), 8, 0,
       "udp"},
      {"sll ipv4 icmp error", lt::kLinuxSll, eth4().linux_sll().icmp(3, 3).quote(q4), 8, 20 + 4, "icmp"},
      {"sll2 ipv6 icmpv6 error", lt::kLinuxSll2, eth6().linux_sll2().icmp(1, 4).quote(q6), 8, 40 + 4, "icmpv6"},
      {"null ipv6 fragment tcp", lt::kNull,
       eth6().null_loopback().ipv6_fragment(0, true).tcp(kSport, kDport, kAck), 20, 0, "tcp"},
      {"raw ipv4 udp", lt::kRaw, eth4().raw_ip().udp(kSport, kDport).payload_size(3), 8, 0, "udp"},
      {"dlt12 ipv6 udp", lt::kRawDlt12, eth6().raw_ip().udp(kSport, kDport).payload_size(3), 8, 0, "udp"},
      {"ipv4 linktype icmp echo", lt::kIpv4, eth4().raw_ip().icmp(8, 0).payload_size(4), 8, 0, "icmp"},
      {"ipv6 linktype icmpv6 echo", lt::kIpv6, eth6().raw_ip().icmp(128, 0).payload_size(4), 8, 0, "icmpv6"},
  };
  for (const CutCase& c : cases) {
    const Frame f = build(c.builder);
    const bool v6 = (f.bytes[f.layout.network] >> 4) == 6;
    const size_t needed = f.layout.transport + c.transport_fixed + c.quote_needed;
    const size_t fixed_ip = f.layout.network + (v6 ? 40 : 20);
    for (bool snaplen : {true, false}) {
      Decoder dec(c.link_type);
      for (size_t len = 0; len <= f.bytes.size(); ++len) {
        SCOPED_TRACE(std::string(c.name) + (snaplen ? " snaplen " : " short frame ") + std::to_string(len));
        // snaplen: the wire had the whole frame; short frame: the wire had only these bytes.
        const std::vector<uint8_t> cut(f.bytes.begin(), f.bytes.begin() + static_cast<std::ptrdiff_t>(len));
        PacketMeta m;
        const Anomaly a = run(dec, cut, m, SIZE_MAX, snaplen ? f.bytes.size() : 0);
        EXPECT_EQ(m.cap_len, len);
        expect_fields_match_flags(m, v6);
        if (len == f.bytes.size() || (snaplen && len >= needed)) {
          EXPECT_EQ(a, Anomaly::none) << anomaly_name(a);
        } else if (snaplen) {
          EXPECT_EQ(anomaly_layer(a), layer_of_cut(len, f.layout, c, v6)) << anomaly_name(a);
        } else {
          // The IP length now claims bytes the wire never carried, or a header is cut.
          EXPECT_NE(a, Anomaly::none);
        }
        // The addresses survive any cut past the fixed IP header.
        if (len >= fixed_ip) {
          EXPECT_TRUE(m.has(mf::kHasIp)) << anomaly_name(a);
        }
      }
      EXPECT_EQ(dec.packets(), f.bytes.size() + 1);
    }
  }
}

}  // namespace
}  // namespace picket::decode::testing

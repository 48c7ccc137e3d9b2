// Clean frames: every link type x IPv4/IPv6 x transport, each PacketMeta field checked against
// what the builder was told; then options, fragments, extension headers, ICMP quotes, non-IP.
#include "decode/decoder.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "decode/decode_test_util.hpp"

namespace picket::decode::testing {
namespace {

namespace mf = core::meta_flag;
namespace lt = core::link_type;
using core::tcp_flag::kAck;
using core::tcp_flag::kPsh;
using core::tcp_flag::kSyn;

enum class Link : uint8_t { eth, vlan, qinq, sll, sll2, raw101, raw12, raw14, ipv4_only, ipv6_only, null };
enum class L4 : uint8_t { tcp, udp, icmp, other };

struct LinkCase {
  const char* name;
  Link link;
  int link_type;
  uint16_t vlan_id;  // expected outermost tag, 0 = none
  bool v4;           // IPv4 allowed on this link type
  bool v6;
};

const LinkCase kLinks[] = {
    {"ethernet", Link::eth, lt::kEthernet, 0, true, true},
    {"vlan", Link::vlan, lt::kEthernet, 10, true, true},
    {"qinq", Link::qinq, lt::kEthernet, 100, true, true},
    {"sll", Link::sll, lt::kLinuxSll, 0, true, true},
    {"sll2", Link::sll2, lt::kLinuxSll2, 0, true, true},
    {"raw101", Link::raw101, lt::kRaw, 0, true, true},
    {"raw12", Link::raw12, lt::kRawDlt12, 0, true, true},
    {"raw14", Link::raw14, lt::kRawDlt14, 0, true, true},
    {"ipv4_228", Link::ipv4_only, lt::kIpv4, 0, true, false},
    {"ipv6_229", Link::ipv6_only, lt::kIpv6, 0, false, true},
    {"null", Link::null, lt::kNull, 0, true, true},
};

const L4 kL4s[] = {L4::tcp, L4::udp, L4::icmp, L4::other};
const char* l4_name(L4 t) {
  switch (t) {
    case L4::tcp: return "tcp";
    case L4::udp: return "udp";
    case L4::icmp: return "icmp";
    case L4::other: return "gre";
  }
  return "?";
}

void apply_link(PacketBuilder& b, Link link) {
  switch (link) {
    case Link::eth: b.ethernet(); break;
    case Link::vlan: b.ethernet().vlan(10, 3); break;
    case Link::qinq: b.ethernet().vlan(100).vlan(200); break;
    case Link::sll: b.linux_sll(); break;
    case Link::sll2: b.linux_sll2(); break;
    case Link::raw101:
    case Link::raw12:
    case Link::raw14:
    case Link::ipv4_only:
    case Link::ipv6_only: b.raw_ip(); break;
    case Link::null: b.null_loopback(); break;
  }
}

TEST(DecoderMatrix, EveryLinkNetworkTransportCombination) {
  const uint8_t tcp_opts[] = {2, 4, 0x05, 0xb4};  // MSS 1460
  int combinations = 0;
  for (const LinkCase& lc : kLinks) {
    for (bool v6 : {false, true}) {
      if ((v6 && !lc.v6) || (!v6 && !lc.v4)) continue;
      for (L4 l4 : kL4s) {
        SCOPED_TRACE(std::string(lc.name) + (v6 ? "/ipv6/" : "/ipv4/") + l4_name(l4));
        PacketBuilder b;
        apply_link(b, lc.link);
        if (v6) b.ipv6(kSrc6, kDst6, 57); else b.ipv4(kSrc4, kDst4, 57);
        PacketMeta want;
        want.flags = mf::kHasIp;
        switch (l4) {
          case L4::tcp:
            b.tcp(40001, 443, kSyn | kAck, 123456789, 987654321, 29200).tcp_options(tcp_opts);
            want.ip_proto = 6;
            want.src_port = 40001;
            want.dst_port = 443;
            want.tcp_seq = 123456789;
            want.tcp_ack = 987654321;
            want.tcp_flags = kSyn | kAck;
            want.tcp_window = 29200;
            want.flags |= mf::kHasPorts;
            break;
          case L4::udp:
            b.udp(5353, 53);
            want.ip_proto = 17;
            want.src_port = 5353;
            want.dst_port = 53;
            want.flags |= mf::kHasPorts;
            break;
          case L4::icmp:
            b.icmp(v6 ? 128 : 8, 0, 0x12340001);  // echo request
            want.ip_proto = v6 ? 58 : 1;
            want.icmp_type = v6 ? 128 : 8;
            want.flags |= mf::kHasIcmp;
            break;
          case L4::other:
            b.ip_proto(47);  // GRE: decoded to the protocol number only
            want.ip_proto = 47;
            break;
        }
        b.payload_size(10);
        const Frame f = build(b);
        want.ts = kTs;
        want.src = v6 ? kSrc6 : kSrc4;
        want.dst = v6 ? kDst6 : kDst4;
        want.ttl = 57;
        want.frame_len = want.cap_len = static_cast<uint32_t>(f.bytes.size());
        want.ifindex = kIfindex;
        want.ip_len = static_cast<uint16_t>(f.bytes.size() - f.layout.network);
        want.payload_len = 10;
        if (lc.vlan_id != 0) {
          want.vlan_id = lc.vlan_id;
          want.flags |= mf::kVlan;
        }
        Decoder dec(lc.link_type);
        PacketMeta got;
        got.src_port = 999;  // decode must reset the output
        ASSERT_EQ(run(dec, f.bytes, got), Anomaly::none);
        expect_meta_eq(got, want);
        EXPECT_EQ(dec.packets(), 1u);
        EXPECT_EQ(dec.non_ip(), 0u);
        ++combinations;
      }
    }
  }
  EXPECT_EQ(combinations, (9 * 2 + 2) * 4);
}

TEST(Decoder, SupportsExactlyTheListedLinkTypes) {
  for (int t : {lt::kNull, lt::kEthernet, lt::kRaw, lt::kRawDlt12, lt::kRawDlt14, lt::kLinuxSll,
                lt::kIpv4, lt::kIpv6, lt::kLinuxSll2}) {
    EXPECT_TRUE(Decoder::supports(t)) << t;
  }
  for (int t : {-1, 105 /* 802.11 */, 127 /* radiotap */, 108 /* LOOP */, 9 /* PPP */}) {
    EXPECT_FALSE(Decoder::supports(t)) << t;
  }
  EXPECT_EQ(Decoder(lt::kLinuxSll2).link_type(), lt::kLinuxSll2);
}

TEST(Decoder, ResetsOutputAndCountsPackets) {
  Decoder dec(lt::kEthernet);
  PacketMeta m;
  const Frame syn = build(PacketBuilder().ipv4(kSrc4, kDst4).tcp(1, 2, kSyn));
  const Frame udp6 = build(PacketBuilder().vlan(5).ipv6(kSrc6, kDst6).ipv6_extension(0).udp(3, 4));
  ASSERT_EQ(run(dec, udp6.bytes, m), Anomaly::none);
  EXPECT_TRUE(m.has(mf::kVlan | mf::kIpOptions));
  ASSERT_EQ(run(dec, syn.bytes, m), Anomaly::none);
  EXPECT_EQ(m.flags, mf::kHasIp | mf::kHasPorts);  // nothing left from the previous packet
  EXPECT_EQ(m.vlan_id, 0);
  EXPECT_EQ(dec.packets(), 2u);
  for (uint64_t c : dec.anomaly_counts()) EXPECT_EQ(c, 0u);
  // Every field, after a packet that filled nearly all of them (an ICMP error with its quote,
  // under a VLAN tag): the same as decoding into a fresh PacketMeta.
  const std::vector<uint8_t> quoted = PacketBuilder().raw_ip().ipv4(kDst4, kSrc4).udp(5, 6).build();
  const Frame icmp = build(PacketBuilder().vlan(7).ipv4(kSrc4, kDst4).icmp(3, 3).quote(quoted));
  for (const Frame* f : {&syn, &udp6}) {
    ASSERT_EQ(run(dec, icmp.bytes, m), Anomaly::none);
    ASSERT_TRUE(m.has(mf::kInnerPorts));
    PacketMeta fresh;
    Decoder other(lt::kEthernet);
    ASSERT_EQ(run(other, f->bytes, fresh), Anomaly::none);
    ASSERT_EQ(run(dec, f->bytes, m), Anomaly::none);
    expect_meta_eq(m, fresh);
  }
}

// The engine's prefetch peeks at frames some packets ahead: it must read what the decoder reads
// for plain Ethernet/IPv4 TCP and UDP, and say no to everything else rather than guess.
TEST(PeekEthernetIpv4Flow, ReadsWhatTheDecoderReadsOrSaysNo) {
  auto raw_of = [](const std::vector<uint8_t>& bytes) {
    core::RawPacket raw;
    raw.data = bytes.data();
    raw.cap_len = raw.wire_len = static_cast<uint32_t>(bytes.size());
    return raw;
  };
  for (const auto& bytes : {PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 443, kSyn).build(),
                            PacketBuilder().ipv4(kSrc4, kDst4).udp(5353, 53).build()}) {
    PeekedFlow f;
    ASSERT_TRUE(peek_ethernet_ipv4_flow(raw_of(bytes), f));
    PacketMeta m;
    Decoder dec(lt::kEthernet);
    ASSERT_EQ(dec.decode(raw_of(bytes), m), Anomaly::none);
    EXPECT_EQ(IpAddress::v4_bytes(reinterpret_cast<const uint8_t*>(&f.src)), m.src);
    EXPECT_EQ(IpAddress::v4_bytes(reinterpret_cast<const uint8_t*>(&f.dst)), m.dst);
    EXPECT_EQ(f.src_port, m.src_port);
    EXPECT_EQ(f.dst_port, m.dst_port);
    EXPECT_EQ(f.proto, m.ip_proto);
    EXPECT_EQ(f.tcp_flags, m.is_tcp() ? m.tcp_flags : 0);
    EXPECT_TRUE(f.opens_flow());  // a SYN, a datagram
  }
  for (uint8_t flags : {uint8_t(kSyn | kAck), uint8_t(kAck), uint8_t(kAck | kPsh)}) {
    PeekedFlow f;
    ASSERT_TRUE(peek_ethernet_ipv4_flow(raw_of(PacketBuilder().ipv4(kSrc4, kDst4).tcp(1, 2, flags).build()), f));
    EXPECT_FALSE(f.opens_flow()) << int{flags};
  }
  const uint8_t router_alert[] = {0x94, 0x04, 0x00, 0x00};
  const std::vector<uint8_t> tcp = PacketBuilder().ipv4(kSrc4, kDst4).tcp(1, 2, kSyn).build();
  for (const auto& bytes : {PacketBuilder().ipv6(kSrc6, kDst6).tcp(1, 2, kSyn).build(),
                            PacketBuilder().vlan(5).ipv4(kSrc4, kDst4).tcp(1, 2, kSyn).build(),
                            PacketBuilder().ipv4(kSrc4, kDst4).ipv4_options(router_alert).tcp(1, 2, kSyn).build(),
                            PacketBuilder().ipv4(kSrc4, kDst4).icmp(8, 0).build(),
                            std::vector<uint8_t>(tcp.begin(), tcp.begin() + 37)}) {
    PeekedFlow f;
    EXPECT_FALSE(peek_ethernet_ipv4_flow(raw_of(bytes), f));
  }
  PeekedFlow f;
  EXPECT_FALSE(peek_ethernet_ipv4_flow(core::RawPacket{}, f));  // no data
}

TEST(Decoder, NullDataIsTreatedAsNothingCaptured) {
  Decoder dec(lt::kEthernet);
  core::RawPacket raw;
  raw.cap_len = 60;
  raw.wire_len = 60;
  PacketMeta m;
  EXPECT_EQ(dec.decode(raw, m), Anomaly::eth_truncated);
  EXPECT_EQ(m.cap_len, 60u);
}

TEST(Decoder, Ipv4OptionsAreSkipped) {
  const uint8_t router_alert[] = {0x94, 0x04, 0x00, 0x00};
  const uint8_t long_opts[] = {0x07, 39, 4};  // record route, 36 bytes of slots: IHL 15
  for (auto opts : {std::span<const uint8_t>(router_alert), std::span<const uint8_t>(long_opts)}) {
    std::vector<uint8_t> o(opts.begin(), opts.end());
    if (o[0] == 0x07) o.resize(39, 0);
    const Frame f = build(PacketBuilder().ipv4(kSrc4, kDst4).ipv4_options(o).udp(1000, 161).payload_size(5));
    Decoder dec(lt::kEthernet);
    PacketMeta m;
    ASSERT_EQ(run(dec, f.bytes, m), Anomaly::none);
    EXPECT_EQ(m.flags, mf::kHasIp | mf::kHasPorts | mf::kIpOptions);
    EXPECT_EQ(m.src_port, 1000);
    EXPECT_EQ(m.dst_port, 161);
    EXPECT_EQ(m.payload_len, 5);
    EXPECT_EQ(m.ip_len, f.bytes.size() - 14);
  }
}

struct FragCase {
  const char* name;
  bool v6;
  uint16_t offset;
  bool more;
  uint16_t want_flags;
};

TEST(Decoder, FragmentsCarryPortsOnlyInTheFirst) {
  const uint16_t first = mf::kHasIp | mf::kHasPorts | mf::kFragment;
  const uint16_t later = mf::kHasIp | mf::kFragment | mf::kLaterFragment;
  const FragCase cases[] = {
      {"v4 first", false, 0, true, first},
      {"v4 middle", false, 1480, true, later},
      {"v4 last", false, 2960, false, later},
      {"v6 first", true, 0, true, static_cast<uint16_t>(first | mf::kIpOptions)},
      {"v6 later", true, 1448, false, static_cast<uint16_t>(later | mf::kIpOptions)},
      {"v6 atomic", true, 0, false, static_cast<uint16_t>(mf::kHasIp | mf::kHasPorts | mf::kIpOptions)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    PacketBuilder b;
    if (c.v6) {
      b.ipv6(kSrc6, kDst6).ipv6_fragment(c.offset, c.more, 77);
    } else {
      b.ipv4(kSrc4, kDst4).ipv4_fragment(c.offset, c.more);
    }
    const Frame f = build(b.udp(5000, 53).payload_size(64));
    Decoder dec(lt::kEthernet);
    PacketMeta m;
    ASSERT_EQ(run(dec, f.bytes, m), Anomaly::none);
    EXPECT_EQ(m.flags, c.want_flags) << std::hex << m.flags;
    EXPECT_EQ(m.ip_proto, 17);
    EXPECT_EQ(m.src, c.v6 ? kSrc6 : kSrc4);
    if (c.want_flags & mf::kLaterFragment) {
      EXPECT_EQ(m.src_port, 0);
      EXPECT_EQ(m.dst_port, 0);
      EXPECT_EQ(m.payload_len, 64);  // the whole fragment is payload
    } else {
      EXPECT_EQ(m.src_port, 5000);
      EXPECT_EQ(m.dst_port, 53);
      EXPECT_EQ(m.payload_len, 64);
    }
  }
}

TEST(Decoder, FirstFragmentWithUdpLengthOfTheWholeDatagramIsClean) {
  // The UDP length covers the reassembled datagram, longer than the first fragment.
  Frame f = build(PacketBuilder().ipv4(kSrc4, kDst4).ipv4_fragment(0, true).udp(5000, 53).payload_size(64));
  set16(f.bytes, f.layout.transport + 4, 8 + 3000);
  Decoder dec(lt::kEthernet);
  PacketMeta m;
  EXPECT_EQ(run(dec, f.bytes, m), Anomaly::none);
  EXPECT_EQ(m.payload_len, 64);
}

struct ExtCase {
  const char* name;
  std::vector<uint8_t> types;  // extension headers in order
  uint8_t proto;               // upper layer (0 = UDP via builder; 50/59 via ip_proto/none)
  bool has_ports;
};

TEST(Decoder, Ipv6ExtensionHeadersAreWalked) {
  const ExtCase cases[] = {
      {"hop-by-hop", {0}, 17, true},
      {"routing", {43}, 17, true},
      {"destination", {60}, 17, true},
      {"mobility", {135}, 17, true},
      {"authentication", {51}, 17, true},
      {"hbh+routing+dest", {0, 43, 60}, 17, true},
      {"eight headers", {0, 60, 60, 60, 60, 60, 60, 60}, 17, true},
      {"esp ends the walk", {0}, 50, false},
      {"no next header", {60}, 59, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    PacketBuilder b;
    b.ipv6(kSrc6, kDst6);
    for (uint8_t t : c.types) b.ipv6_extension(t, 14);  // 16-byte headers
    if (c.proto == 17) b.udp(1234, 5678);
    else if (c.proto == 50) b.ip_proto(50);
    b.payload_size(20);
    Frame f = build(b);
    // AH counts its length in 4-byte words minus 2: a 16-byte AH says 2, not 1.
    for (size_t i = 0, at = f.layout.network + 40; i < c.types.size(); ++i, at += 16) {
      if (c.types[i] == 51) f.bytes.at(at + 1) = 2;
    }
    Decoder dec(lt::kEthernet);
    PacketMeta m;
    ASSERT_EQ(run(dec, f.bytes, m), Anomaly::none);
    EXPECT_EQ(m.ip_proto, c.proto);
    EXPECT_TRUE(m.has(mf::kIpOptions));
    EXPECT_EQ(m.has(mf::kHasPorts), c.has_ports);
    if (c.has_ports) {
      EXPECT_EQ(m.src_port, 1234);
      EXPECT_EQ(m.dst_port, 5678);
    }
    EXPECT_EQ(m.payload_len, 20);
    EXPECT_EQ(m.ip_len, f.bytes.size() - 14);
  }
}

struct QuoteCase {
  const char* name;
  bool outer_v6;
  bool inner_v6;
  uint8_t type;
  uint8_t code;
  bool inner_tcp;
  size_t quote_len;     // bytes of the inner packet quoted (SIZE_MAX = all)
  bool inner_ext;       // inner IPv6 packet has a destination options header
};

TEST(Decoder, IcmpErrorsExposeTheQuotedHeader) {
  const QuoteCase cases[] = {
      {"v4 port unreachable / udp", false, false, 3, 3, false, SIZE_MAX, false},
      {"v4 port unreachable / 28-byte quote", false, false, 3, 3, false, 28, false},
      {"v4 host unreachable / tcp", false, false, 3, 1, true, SIZE_MAX, false},
      {"v4 admin prohibited / tcp ports only", false, false, 3, 13, true, 24, false},
      {"v4 time exceeded / udp", false, false, 11, 0, false, SIZE_MAX, false},
      {"v4 source quench", false, false, 4, 0, true, 28, false},
      {"v4 redirect", false, false, 5, 1, false, 28, false},
      {"v4 parameter problem", false, false, 12, 0, true, 28, false},
      {"v6 port unreachable / udp", true, true, 1, 4, false, SIZE_MAX, false},
      {"v6 unreachable / tcp", true, true, 1, 0, true, 48, false},
      {"v6 too big", true, true, 2, 0, true, SIZE_MAX, false},
      {"v6 time exceeded / ext header", true, true, 3, 0, false, SIZE_MAX, true},
      {"v6 parameter problem", true, true, 4, 1, false, SIZE_MAX, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    // The probe that caused the error: from the scanner (dst of the error) to us (src of it).
    PacketBuilder inner;
    inner.raw_ip();
    const IpAddress isrc = c.inner_v6 ? kDst6 : kDst4;
    const IpAddress idst = c.inner_v6 ? kSrc6 : kSrc4;
    if (c.inner_v6) inner.ipv6(isrc, idst); else inner.ipv4(isrc, idst);
    if (c.inner_ext) inner.ipv6_extension(60);
    if (c.inner_tcp) inner.tcp(51000, 22, kSyn); else inner.udp(51000, 161);
    std::vector<uint8_t> quote = inner.payload_size(30).build();
    if (c.quote_len < quote.size()) quote.resize(c.quote_len);

    PacketBuilder outer;
    if (c.outer_v6) outer.ipv6(kSrc6, kDst6); else outer.ipv4(kSrc4, kDst4);
    const Frame f = build(outer.icmp(c.type, c.code).quote(quote));
    Decoder dec(lt::kEthernet);
    PacketMeta m;
    ASSERT_EQ(run(dec, f.bytes, m), Anomaly::none);
    EXPECT_EQ(m.flags, mf::kHasIp | mf::kHasIcmp | mf::kHasInner | mf::kInnerPorts) << std::hex << m.flags;
    EXPECT_EQ(m.icmp_type, c.type);
    EXPECT_EQ(m.icmp_code, c.code);
    EXPECT_EQ(m.payload_len, quote.size());
    EXPECT_EQ(m.inner_src, isrc);
    EXPECT_EQ(m.inner_dst, idst);
    EXPECT_EQ(m.inner_proto, c.inner_tcp ? 6 : 17);
    EXPECT_EQ(m.inner_src_port, 51000);
    EXPECT_EQ(m.inner_dst_port, c.inner_tcp ? 22 : 161);
    EXPECT_EQ(m.src_port, 0);
  }
}

TEST(Decoder, IcmpQuoteOfAnotherProtocolOrLaterFragmentHasNoInnerPorts) {
  const std::vector<uint8_t> gre = PacketBuilder().raw_ip().ipv4(kDst4, kSrc4).ip_proto(47).payload_size(8).build();
  const std::vector<uint8_t> frag =
      PacketBuilder().raw_ip().ipv4(kDst4, kSrc4).ipv4_fragment(1480, false).udp(1, 2).payload_size(8).build();
  const std::vector<uint8_t> frag6 =
      PacketBuilder().raw_ip().ipv6(kDst6, kSrc6).ipv6_fragment(1480, false).udp(1, 2).payload_size(8).build();
  for (const auto* q : {&gre, &frag, &frag6}) {
    PacketBuilder outer;
    if ((*q)[0] >> 4 == 6) outer.ipv6(kSrc6, kDst6); else outer.ipv4(kSrc4, kDst4);
    const Frame f = build(outer.icmp(q == &frag6 ? 1 : 3, 3).quote(*q));
    Decoder dec(lt::kEthernet);
    PacketMeta m;
    ASSERT_EQ(run(dec, f.bytes, m), Anomaly::none);
    EXPECT_EQ(m.flags, mf::kHasIp | mf::kHasIcmp | mf::kHasInner);
    EXPECT_EQ(m.inner_proto, q == &gre ? 47 : 17);
    EXPECT_EQ(m.inner_src_port, 0);
  }
}

TEST(Decoder, IcmpInformationalMessagesHaveNoQuote) {
  for (uint8_t type : {0, 8, 13, 14}) {  // echo reply/request, timestamp: payload is not a quote
    const Frame f = build(PacketBuilder().ipv4(kSrc4, kDst4).icmp(type, 0).payload_size(4, 0x45));
    Decoder dec(lt::kEthernet);
    PacketMeta m;
    ASSERT_EQ(run(dec, f.bytes, m), Anomaly::none);
    EXPECT_EQ(m.flags, mf::kHasIp | mf::kHasIcmp);
    EXPECT_EQ(m.icmp_type, type);
  }
}

struct NonIpCase {
  const char* name;
  int link_type;
  std::vector<uint8_t> frame;
  uint16_t want_flags;
};

TEST(Decoder, NonIpFramesAreCountedApartFromAnomalies) {
  std::vector<uint8_t> arp = PacketBuilder().ipv4(kSrc4, kDst4).build();
  set16(arp, 12, 0x0806);
  std::vector<uint8_t> lldp = arp;
  set16(lldp, 12, 0x88CC);
  std::vector<uint8_t> llc = arp;
  set16(llc, 12, 0x0026);  // an 802.3 length field
  std::vector<uint8_t> vlan_arp = PacketBuilder().vlan(42).ipv4(kSrc4, kDst4).build();
  set16(vlan_arp, 16, 0x0806);
  std::vector<uint8_t> sll_arp = PacketBuilder().linux_sll().ipv4(kSrc4, kDst4).build();
  set16(sll_arp, 14, 0x0806);
  std::vector<uint8_t> sll2_arp = PacketBuilder().linux_sll2().ipv4(kSrc4, kDst4).build();
  set16(sll2_arp, 0, 0x0806);
  std::vector<uint8_t> null_other = PacketBuilder().null_loopback().ipv4(kSrc4, kDst4).build();
  null_other[0] = 7;
  const NonIpCase cases[] = {
      {"arp", lt::kEthernet, arp, 0},
      {"lldp", lt::kEthernet, lldp, 0},
      {"802.3 llc", lt::kEthernet, llc, 0},
      {"vlan arp", lt::kEthernet, vlan_arp, mf::kVlan},
      {"sll arp", lt::kLinuxSll, sll_arp, 0},
      {"sll2 arp", lt::kLinuxSll2, sll2_arp, 0},
      {"null unknown family", lt::kNull, null_other, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Decoder dec(c.link_type);
    PacketMeta m;
    EXPECT_EQ(run(dec, c.frame, m), Anomaly::none);
    EXPECT_EQ(m.flags, c.want_flags);
    EXPECT_EQ(m.vlan_id, c.want_flags ? 42 : 0);
    EXPECT_TRUE(m.src.empty());
    EXPECT_EQ(m.frame_len, c.frame.size());
    EXPECT_EQ(dec.non_ip(), 1u);
    EXPECT_EQ(dec.packets(), 1u);
    for (uint64_t n : dec.anomaly_counts()) EXPECT_EQ(n, 0u);
  }
}

TEST(Decoder, NullFamilyInEitherByteOrderAndEveryIpv6Value) {
  for (uint32_t family : {2u, 10u, 24u, 28u, 30u}) {
    for (bool big_endian : {false, true}) {
      SCOPED_TRACE(std::to_string(family) + (big_endian ? " be" : " le"));
      const bool v6 = family != 2;
      PacketBuilder b;
      b.null_loopback();
      if (v6) b.ipv6(kSrc6, kDst6); else b.ipv4(kSrc4, kDst4);
      std::vector<uint8_t> f = b.tcp(1, 2, kSyn).build();
      for (int i = 0; i < 4; ++i) {
        const int shift = big_endian ? 24 - 8 * i : 8 * i;
        f[i] = static_cast<uint8_t>(family >> shift);
      }
      Decoder dec(lt::kNull);
      PacketMeta m;
      ASSERT_EQ(run(dec, f, m), Anomaly::none);
      EXPECT_EQ(m.src, v6 ? kSrc6 : kSrc4);
      EXPECT_EQ(m.dst_port, 2);
    }
  }
}

TEST(Decoder, VlanTagsUpToTheLimitAndEveryTpid) {
  for (uint16_t tpid : {0x8100, 0x88A8, 0x9100}) {
    for (int tags = 1; tags <= kMaxVlanTags; ++tags) {
      SCOPED_TRACE(std::to_string(tpid) + " x" + std::to_string(tags));
      std::vector<uint8_t> f = PacketBuilder().ipv4(kSrc4, kDst4).udp(7, 9).build();
      for (int i = 0; i < tags; ++i) {
        const uint16_t id = static_cast<uint16_t>(0x2000 | (tags - i));  // priority 1, id tags-i
        const uint8_t tag[] = {uint8_t(tpid >> 8), uint8_t(tpid), uint8_t(id >> 8), uint8_t(id)};
        f.insert(f.begin() + 12, tag, tag + 4);  // inserted in front: the last one is outermost
      }
      Decoder dec(lt::kEthernet);
      PacketMeta m;
      ASSERT_EQ(run(dec, f, m), Anomaly::none);
      EXPECT_EQ(m.flags, mf::kHasIp | mf::kHasPorts | mf::kVlan);
      EXPECT_EQ(m.vlan_id, 1);  // outermost tag, priority bits masked
      EXPECT_EQ(m.dst_port, 9);
    }
  }
}

TEST(Decoder, PaddingAndSnapLengthAreNotAnomalies) {
  Frame syn = build(PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 80, kSyn));
  std::vector<uint8_t> padded = syn.bytes;
  padded.resize(64, 0);  // 60-byte minimum frame + 4-byte FCS
  Decoder dec(lt::kEthernet);
  PacketMeta m;
  ASSERT_EQ(run(dec, padded, m), Anomaly::none);
  EXPECT_EQ(m.ip_len, 40);
  EXPECT_EQ(m.payload_len, 0);
  EXPECT_EQ(m.frame_len, 64u);

  // snaplen 96 on a full-size segment with TCP options: the fixed headers are all there.
  const uint8_t opts[40] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
  Frame big = build(PacketBuilder().vlan(9).ipv6(kSrc6, kDst6).ipv6_extension(0).tcp(443, 50000, kAck | kPsh)
                        .tcp_options(opts).payload_size(1300));
  ASSERT_EQ(run(dec, big.bytes, m, 96), Anomaly::none);
  EXPECT_EQ(m.cap_len, 96u);
  EXPECT_EQ(m.frame_len, big.bytes.size());
  EXPECT_EQ(m.payload_len, 1300);
  EXPECT_EQ(m.ip_len, big.bytes.size() - 18);
  EXPECT_EQ(m.src_port, 443);
  EXPECT_EQ(m.tcp_flags, kAck | kPsh);
}

TEST(Decoder, WireLengthShorterThanCaptureIsTrustedToTheCapture) {
  const Frame f = build(PacketBuilder().ipv4(kSrc4, kDst4).udp(1, 2).payload_size(100));
  Decoder dec(lt::kEthernet);
  PacketMeta m;
  core::RawPacket raw;
  raw.data = f.bytes.data();
  raw.cap_len = static_cast<uint32_t>(f.bytes.size());
  raw.wire_len = 0;  // a source that does not fill it
  EXPECT_EQ(dec.decode(raw, m), Anomaly::none);
  EXPECT_EQ(m.payload_len, 100);
}

// ---- the Ethernet/IPv4/TCP fast path against the general path

// Decoder::decode takes a straight-line path for clean Ethernet/IPv4/TCP frames. The same IP
// packet under LINKTYPE_IPV4 goes through the general IPv4 routine only, so every field (but the
// two frame lengths, 14 bytes apart) and the anomaly must agree — for clean frames and for
// frames mutated in every header byte the fast path reads, at every capture and wire length.
TEST(DecoderFastPath, AgreesWithTheGeneralPathOnCleanAndMutatedFrames) {
  const uint8_t opts[12] = {2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1};
  const PacketBuilder bases[] = {
      PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 80, kSyn),
      PacketBuilder().ipv4(kSrc4, kDst4, 3).tcp(80, 40000, kSyn | kAck, 7, 1001).payload_size(300),
      PacketBuilder().ipv4(kSrc4, kDst4).tcp(1, 2, kAck | kPsh, 9, 9, 512).tcp_options(opts).payload_size(40),
      PacketBuilder().ipv4(kSrc4, kDst4).tcp(5, 6, core::tcp_flag::kRst),
      PacketBuilder().ipv4(kSrc4, kDst4).tcp(5, 6, kSyn | core::tcp_flag::kFin),
      PacketBuilder().ipv4(kSrc4, kDst4).ipv4_options(opts).tcp(5, 6, kAck),
      PacketBuilder().ipv4(kSrc4, kDst4).ipv4_fragment(0, true).tcp(5, 6, kAck).payload_size(64),
      PacketBuilder().ipv4(kSrc4, kDst4).udp(53, 4000).payload_size(20),
  };
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  auto next = [&rng](uint32_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>((rng >> 33) % n);
  };
  Decoder eth(lt::kEthernet);
  Decoder raw(lt::kIpv4);
  int fast_shaped = 0;  // clean results of the shape the fast path produces
  int anomalies = 0;
  for (size_t b = 0; b < std::size(bases); ++b) {
    const Frame base = build(bases[b]);
    for (int round = 0; round < 3000; ++round) {
      std::vector<uint8_t> bytes = base.bytes;
      // Round 0 is the frame as built; later rounds change 1-3 header bytes (never the
      // ethertype: another one is not IPv4 under Ethernet) and the lengths.
      const int changes = round == 0 ? 0 : 1 + static_cast<int>(next(3));
      for (int c = 0; c < changes; ++c) {
        const size_t at = 14 + next(std::min<uint32_t>(static_cast<uint32_t>(bytes.size()) - 14, 60));
        bytes[at] = static_cast<uint8_t>(next(4) == 0 ? bytes[at] ^ (1u << next(8)) : next(256));
      }
      size_t cap = bytes.size();
      size_t wire = bytes.size();
      if (round != 0 && next(3) == 0) cap = 15 + next(static_cast<uint32_t>(bytes.size()) - 14);
      if (round != 0 && next(4) == 0) wire = cap + next(100);
      SCOPED_TRACE(::testing::Message() << "base " << b << " round " << round << " cap " << cap << " wire " << wire);
      PacketMeta got;
      PacketMeta want;
      const Anomaly a = run(eth, bytes, got, cap, wire);
      const std::vector<uint8_t> ip(bytes.begin() + 14, bytes.end());
      const Anomaly w = run(raw, ip, want, cap - 14, wire - 14);
      ASSERT_EQ(a, w);
      want.frame_len += 14;
      want.cap_len += 14;
      expect_meta_eq(got, want);
      if (::testing::Test::HasFailure()) return;
      if (a != Anomaly::none) ++anomalies;
      if (a == Anomaly::none && got.flags == (mf::kHasIp | mf::kHasPorts) && got.is_tcp()) ++fast_shaped;
    }
  }
  EXPECT_EQ(eth.anomaly_counts(), raw.anomaly_counts());
  // Both kinds were exercised in bulk.
  EXPECT_GT(fast_shaped, 3000);
  EXPECT_GT(anomalies, 3000);
}

// ---- anomaly names

TEST(AnomalyNames, UniqueNamedAndLayered) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kAnomalyCount; ++i) {
    const auto a = static_cast<Anomaly>(i);
    const std::string_view name = anomaly_name(a);
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string_view::npos) << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
    EXPECT_EQ(anomaly_from_name(name), a);
    EXPECT_FALSE(anomaly_description(a).empty()) << name;
    if (a != Anomaly::none) {
      const std::string_view layer = anomaly_layer(a);
      EXPECT_TRUE(layer == "link" || layer == "ip" || layer == "ipv4" || layer == "ipv6" || layer == "tcp" ||
                  layer == "udp" || layer == "icmp" || layer == "icmpv6")
          << name << " " << layer;
    }
  }
  EXPECT_EQ(anomaly_name(Anomaly::ipv4_bad_ihl), "ipv4_bad_ihl");
  EXPECT_EQ(anomaly_layer(Anomaly::ipv4_bad_ihl), "ipv4");
  EXPECT_EQ(anomaly_layer(Anomaly::vlan_truncated), "link");
  EXPECT_EQ(anomaly_name(static_cast<Anomaly>(kAnomalyCount)), "unknown");
  EXPECT_EQ(anomaly_layer(static_cast<Anomaly>(200)), "");
  EXPECT_FALSE(anomaly_from_name("ipv4_bad_checksum").has_value());
  EXPECT_FALSE(anomaly_from_name("").has_value());
}

TEST(AnomalyNames, EveryAnomalyIsDocumentedForUsers) {
  std::ifstream in(std::string(PICKET_SOURCE_DIR) + "/docs/anomalies.md");
  ASSERT_TRUE(in) << "docs/anomalies.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (size_t i = 1; i < kAnomalyCount; ++i) {
    const auto a = static_cast<Anomaly>(i);
    const std::string row = "| `" + std::string(anomaly_name(a)) + "` | " + std::string(anomaly_layer(a)) + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/anomalies.md lacks the row " << row;
  }
}

}  // namespace
}  // namespace picket::decode::testing

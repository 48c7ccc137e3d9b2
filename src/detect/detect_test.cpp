#include <gtest/gtest.h>

#include "decode/decoder.hpp"
#include "detect/attribution.hpp"
#include "detect/detector.hpp"
#include "sim/packet_builder.hpp"

namespace picket::detect {
namespace {

using core::IpAddress;
namespace tf = core::tcp_flag;

const IpAddress kClient = *IpAddress::parse("198.19.0.40");
const IpAddress kServer = *IpAddress::parse("198.18.0.10");

core::PacketMeta decode(const std::vector<uint8_t>& frame) {
  decode::Decoder d(core::link_type::kEthernet);
  core::PacketMeta m;
  core::RawPacket p;
  p.data = frame.data();
  p.cap_len = p.wire_len = static_cast<uint32_t>(frame.size());
  d.decode(p, m);
  return m;
}

core::PacketMeta tcp(const IpAddress& s, const IpAddress& d, uint16_t sp, uint16_t dp, uint8_t flags) {
  return decode(sim::PacketBuilder().ipv4(s, d).tcp(sp, dp, flags).build());
}

TEST(ClassifyProbe, EveryScanTypeFromItsFlags) {
  struct Case { uint8_t flags; ProbeKind want; };
  const Case cases[] = {
      {tf::kSyn, ProbeKind::syn},
      {tf::kSyn | tf::kEce | tf::kCwr, ProbeKind::syn},
      {tf::kFin, ProbeKind::fin},
      {0, ProbeKind::null},
      {tf::kFin | tf::kPsh | tf::kUrg, ProbeKind::xmas},
      {tf::kAck, ProbeKind::ack},
      {tf::kFin | tf::kAck, ProbeKind::maimon},
      {tf::kSyn | tf::kAck, ProbeKind::none},
      {tf::kRst, ProbeKind::none},
      {tf::kRst | tf::kAck, ProbeKind::none},
      {tf::kPsh | tf::kAck, ProbeKind::other_tcp},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify_probe(tcp(kClient, kServer, 40000, 22, c.flags)), c.want) << int(c.flags);
  }
  EXPECT_EQ(classify_probe(decode(sim::PacketBuilder().ipv4(kClient, kServer).udp(1, 161).build())), ProbeKind::udp);
  EXPECT_EQ(classify_probe(decode(sim::PacketBuilder().ipv4(kClient, kServer).icmp(8, 0).build())), ProbeKind::icmp);
  EXPECT_EQ(classify_probe(decode(sim::PacketBuilder().ipv4(kClient, kServer).icmp(0, 0).build())), ProbeKind::none);
  EXPECT_EQ(classify_probe(decode(sim::PacketBuilder().ipv4(kClient, kServer).ip_proto(47).build())), ProbeKind::ip_proto);
  EXPECT_EQ(classify_probe(decode(sim::PacketBuilder().ipv4(kClient, kServer).ipv4_fragment(8, false).udp(1, 2).build())),
            ProbeKind::none);
}

TEST(PacketInterest, FlowEventBitPlusResetAndLargeFromTheActorOnly) {
  const core::PacketMeta rst = tcp(kClient, kServer, 40000, 22, tf::kRst | tf::kAck);
  const core::PacketMeta syn = tcp(kClient, kServer, 40000, 22, tf::kSyn);
  const core::PacketMeta udp = decode(sim::PacketBuilder().ipv4(kClient, kServer).udp(1, 161).build());
  core::PacketMeta big = syn;
  big.frame_len = 2000;
  struct Case {
    const char* name;
    const core::PacketMeta* meta;
    bool from_actor;
    FlowEvent flow;
    uint32_t large_frame;
    uint32_t want;
  };
  const Case cases[] = {
      {"syn probe", &syn, true, FlowEvent::probe, UINT32_MAX, interest::flow(FlowEvent::probe)},
      {"actor reset", &rst, true, FlowEvent::none, UINT32_MAX, interest::flow(FlowEvent::none) | interest::kActorReset},
      {"reset to the actor", &rst, false, FlowEvent::reply_failure, UINT32_MAX,
       interest::flow(FlowEvent::reply_failure)},
      {"udp is never a reset", &udp, true, FlowEvent::none, UINT32_MAX, interest::flow(FlowEvent::none)},
      {"large from actor", &big, true, FlowEvent::established, 1522,
       interest::flow(FlowEvent::established) | interest::kLargeFromActor},
      {"large to actor", &big, false, FlowEvent::none, 1522, interest::flow(FlowEvent::none)},
      {"at the limit is not large", &big, true, FlowEvent::none, 2000, interest::flow(FlowEvent::none)},
  };
  for (const auto& c : cases) {
    PacketContext ctx;
    ctx.meta = c.meta;
    ctx.actor = c.from_actor ? kClient : kServer;
    ctx.from_actor = c.from_actor;
    ctx.flow = c.flow;
    EXPECT_EQ(packet_interest(ctx, c.large_frame), c.want) << c.name;
  }
  // The default interest covers every packet and notice.
  const Interest all;
  EXPECT_EQ(all.packets & interest::flow(FlowEvent::none), interest::flow(FlowEvent::none));
  EXPECT_TRUE(all.notices);
}

TEST(Attribution, ProbesAndTheirAnswersBelongToTheProber) {
  Attribution a({}, 1024);
  // A SYN scan: the probe is the scanner's, the victim's SYN-ACK and RST-ACK answers too.
  EXPECT_EQ(a.actor(tcp(kClient, kServer, 40000, 22, tf::kSyn)), kClient);
  EXPECT_EQ(a.actor(tcp(kServer, kClient, 22, 40000, tf::kSyn | tf::kAck)), kClient);
  EXPECT_EQ(a.actor(tcp(kServer, kClient, 23, 40000, tf::kRst | tf::kAck)), kClient);
  // Once the server is known, anything between the two belongs to the client — also a bare RST
  // from a high port and the client's own probes to high ports.
  EXPECT_EQ(a.actor(tcp(kServer, kClient, 50000, 40000, tf::kRst)), kClient);
  EXPECT_EQ(a.actor(tcp(kClient, kServer, 40000, 50001, tf::kFin)), kClient);
  EXPECT_TRUE(a.is_local(kServer));
  EXPECT_FALSE(a.is_local(kClient));
}

TEST(Attribution, HomeNetDecidesAndIcmpErrorsGoToTheProber) {
  Attribution a({*core::Prefix::parse("198.18.0.0/24")}, 1024);
  // Without a SYN ever seen: a FIN probe to a high port, and the victim's answers.
  EXPECT_EQ(a.actor(tcp(kClient, kServer, 40000, 60000, tf::kFin)), kClient);
  EXPECT_EQ(a.actor(tcp(kServer, kClient, 60000, 40000, tf::kRst)), kClient);
  auto inner = sim::PacketBuilder().raw_ip().ipv4(kClient, kServer).udp(40000, 161).build();
  EXPECT_EQ(a.actor(decode(sim::PacketBuilder().ipv4(kServer, kClient).icmp(3, 3).quote(inner).build())), kClient);
  Attribution b({}, 1024);
  EXPECT_EQ(b.actor(decode(sim::PacketBuilder().ipv4(kServer, kClient).icmp(3, 3).quote(inner).build())), kClient);
}

TEST(Attribution, OurOwnOutboundConnectionsMakeTheRemoteTheActor) {
  // kServer (198.18.0.x) is our host; it connects out to kClient's port 5432 (a high port).
  Attribution a({*core::Prefix::parse("198.18.0.0/24")}, 1024);
  EXPECT_EQ(a.actor(tcp(kServer, kClient, 40000, 5432, tf::kSyn)), kClient);
  EXPECT_EQ(a.actor(tcp(kClient, kServer, 5432, 40000, tf::kSyn | tf::kAck)), kClient);
  // The remote end was not learned as a second local side, so its ACKs and FINs to our
  // ephemeral port stay its own (answers in a flow we opened), never "probes" of ours.
  EXPECT_FALSE(a.is_local(kClient));
  EXPECT_EQ(a.actor(tcp(kClient, kServer, 5432, 40000, tf::kAck)), kClient);
  EXPECT_EQ(a.actor(tcp(kClient, kServer, 5432, 40000, tf::kFin | tf::kAck)), kClient);
  EXPECT_EQ(a.learned(), 0u);
}

TEST(Attribution, WithoutKnowledgePortsDecide) {
  Attribution a({}, 1024);
  // Server answering a UDP query from a well-known port: the client is the actor.
  EXPECT_EQ(a.actor(decode(sim::PacketBuilder().ipv4(kServer, kClient).udp(53, 40000).build())), kClient);
  EXPECT_EQ(a.actor(decode(sim::PacketBuilder().ipv4(kClient, kServer).udp(40000, 53).build())), kClient);
  // Two ephemeral ports and nothing known: the sender.
  EXPECT_EQ(a.actor(decode(sim::PacketBuilder().ipv4(kServer, kClient).udp(5000, 6000).build())), kServer);
}

TEST(FindingOrder, IsTotalAndStable) {
  Finding a, b;
  a.ts = b.ts = core::Timestamp{5};
  a.detector = "port_scan";
  b.detector = "syn_flood";
  EXPECT_TRUE(finding_less(a, b));
  EXPECT_FALSE(finding_less(b, a));
  b.detector = "port_scan";
  a.source = kClient;
  b.source = kServer;
  EXPECT_NE(finding_less(a, b), finding_less(b, a));
  b.source = kClient;
  EXPECT_FALSE(finding_less(a, b));
  EXPECT_FALSE(finding_less(b, a));
}

}  // namespace
}  // namespace picket::detect

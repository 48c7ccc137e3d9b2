#include "detect/flow/flow_tracker.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <utility>

#include "decode/decoder.hpp"
#include "detect/attribution.hpp"
#include "sim/packet_builder.hpp"

namespace picket::detect {
namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;
namespace tf = core::tcp_flag;

const IpAddress kClient = *IpAddress::parse("198.19.0.40");
const IpAddress kServer = *IpAddress::parse("198.18.0.10");
const Timestamp kT0 = Timestamp::from_parts(1'767'225'600, 0);

struct Rig {
  explicit Rig(uint32_t capacity = 1024) : tracker(settings(capacity), [this](const FlowNotice& n) { notices.push_back(n); }) {}
  static FlowSettings settings(uint32_t capacity) {
    FlowSettings s;
    s.capacity = capacity;
    s.probe_timeout = Duration::seconds(2);
    s.idle_timeout = Duration::seconds(30);
    return s;
  }
  PacketContext feed(const std::vector<uint8_t>& frame, Timestamp ts) {
    core::RawPacket p;
    p.ts = ts;
    p.data = frame.data();
    p.cap_len = p.wire_len = static_cast<uint32_t>(frame.size());
    decoder.decode(p, meta);
    PacketContext ctx;
    ctx.meta = &meta;
    ctx.actor = attribution.actor(meta);
    ctx.from_actor = meta.src == ctx.actor;
    tracker.on_packet(ctx);
    return ctx;
  }
  PacketContext tcp(const IpAddress& s, const IpAddress& d, uint16_t sp, uint16_t dp, uint8_t fl, uint32_t seq, uint32_t ack,
                    Timestamp ts) {
    return feed(sim::PacketBuilder().ipv4(s, d).tcp(sp, dp, fl, seq, ack).build(), ts);
  }
  decode::Decoder decoder{core::link_type::kEthernet};
  core::PacketMeta meta;
  Attribution attribution{{}, 1024};
  std::vector<FlowNotice> notices;
  FlowTracker tracker;
};

// FlowKey is compared and hashed as raw words: every field (the address families too) must
// count, and equal keys must hash alike.
TEST(FlowKey, EveryFieldCountsInEqualityAndHash) {
  const FlowKey base{kClient, kServer, 40000, 80, 6};
  // kClient's four bytes as an IPv6 address: the same bytes, another family.
  const IpAddress client_as_v6 = IpAddress::v6_bytes(std::array<uint8_t, 16>{198, 19, 0, 40}.data());
  struct Case {
    const char* name;
    void (*change)(FlowKey&, const IpAddress&);
  };
  const Case cases[] = {
      {"actor", [](FlowKey& k, const IpAddress&) { k.actor = *IpAddress::parse("198.19.0.41"); }},
      {"actor family", [](FlowKey& k, const IpAddress& v6) { k.actor = v6; }},
      {"peer", [](FlowKey& k, const IpAddress&) { k.peer = *IpAddress::parse("198.18.0.11"); }},
      {"peer family", [](FlowKey& k, const IpAddress& v6) { k.peer = v6; }},
      {"peer, high bytes", [](FlowKey& k, const IpAddress&) { k.peer = *IpAddress::parse("2001:db8::ffff:1"); }},
      {"actor port", [](FlowKey& k, const IpAddress&) { k.actor_port = 40001; }},
      {"peer port", [](FlowKey& k, const IpAddress&) { k.peer_port = 81; }},
      {"proto", [](FlowKey& k, const IpAddress&) { k.proto = 17; }},
      {"ports swapped", [](FlowKey& k, const IpAddress&) { std::swap(k.actor_port, k.peer_port); }},
      {"addresses swapped", [](FlowKey& k, const IpAddress&) { std::swap(k.actor, k.peer); }},
  };
  const FlowKeyHash hash;
  const FlowKey copy = base;
  EXPECT_TRUE(copy == base);
  EXPECT_EQ(hash(copy), hash(base));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FlowKey k = base;
    c.change(k, client_as_v6);
    EXPECT_FALSE(k == base);
    EXPECT_NE(hash(k), hash(base));
    FlowKey again = base;
    c.change(again, client_as_v6);
    EXPECT_TRUE(again == k);
    EXPECT_EQ(hash(again), hash(k));
  }
}

// actor_of / from_actor give what `actor()` and `src == actor` gave, for each side — also for
// a packet from an address to itself (it comes from its actor whichever side that is).
TEST(ActorSide, AddressAndDirectionMatchTheActor) {
  struct Case {
    IpAddress src, dst;
    ActorSide side;
  };
  const Case cases[] = {{kClient, kServer, ActorSide::src},
                        {kClient, kServer, ActorSide::dst},
                        {kClient, kClient, ActorSide::src},
                        {kClient, kClient, ActorSide::dst}};
  for (const auto& c : cases) {
    core::PacketMeta m;
    m.src = c.src;
    m.dst = c.dst;
    const IpAddress want = c.side == ActorSide::src ? c.src : c.dst;
    EXPECT_EQ(actor_of(m, c.side), want);
    EXPECT_EQ(from_actor(m, c.side), m.src == want);
  }
}

TEST(FlowTracker, HandshakeEstablishesAndCloses) {
  Rig r;
  auto c = r.tcp(kClient, kServer, 40000, 80, tf::kSyn, 100, 0, kT0);
  EXPECT_EQ(c.flow, FlowEvent::probe);
  EXPECT_EQ(c.probe, ProbeKind::syn);
  EXPECT_EQ(r.tcp(kClient, kServer, 40000, 80, tf::kSyn, 100, 0, kT0).flow, FlowEvent::none);  // retransmission
  EXPECT_EQ(r.tcp(kServer, kClient, 80, 40000, tf::kSyn | tf::kAck, 5000, 101, kT0).flow, FlowEvent::reply_success);
  // An ACK that does not acknowledge the SYN-ACK (a blind spoofer) establishes nothing.
  EXPECT_EQ(r.tcp(kClient, kServer, 40000, 80, tf::kAck, 101, 777, kT0).flow, FlowEvent::none);
  EXPECT_EQ(r.tcp(kClient, kServer, 40000, 80, tf::kAck, 101, 5001, kT0).flow, FlowEvent::established);
  EXPECT_EQ(r.tcp(kClient, kServer, 40000, 80, tf::kAck | tf::kPsh, 101, 5001, kT0).flow, FlowEvent::none);
  EXPECT_EQ(r.tcp(kServer, kClient, 80, 40000, tf::kFin | tf::kAck, 5001, 200, kT0).flow, FlowEvent::closed);
  // The same ports again: a new first contact.
  EXPECT_EQ(r.tcp(kClient, kServer, 40000, 80, tf::kSyn, 900, 0, kT0 + Duration::seconds(1)).flow, FlowEvent::probe);
  EXPECT_EQ(r.tracker.stats().established, 1u);
}

TEST(FlowTracker, RefusalsAndSilence) {
  Rig r;
  EXPECT_EQ(r.tcp(kClient, kServer, 40000, 23, tf::kSyn, 1, 0, kT0).flow, FlowEvent::probe);
  EXPECT_EQ(r.tcp(kServer, kClient, 23, 40000, tf::kRst | tf::kAck, 0, 2, kT0).flow, FlowEvent::reply_failure);
  // A FIN probe to an open port gets no answer: unanswered after the probe timeout.
  auto fin = r.tcp(kClient, kServer, 40000, 22, tf::kFin, 1, 0, kT0);
  EXPECT_EQ(fin.flow, FlowEvent::probe);
  EXPECT_EQ(fin.probe, ProbeKind::fin);
  r.tracker.on_tick(kT0 + Duration::seconds(1));
  EXPECT_TRUE(r.notices.empty());
  r.tracker.on_tick(kT0 + Duration::seconds(3));
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0].event, FlowEvent::probe_unanswered);
  EXPECT_EQ(r.notices[0].peer_port, 22);
  EXPECT_EQ(r.notices[0].probe, ProbeKind::fin);
  EXPECT_EQ(r.notices[0].actor, kClient);
}

TEST(FlowTracker, IcmpPortUnreachableRefusesAUdpProbe) {
  Rig r;
  auto probe = sim::PacketBuilder().ipv4(kClient, kServer).udp(40000, 161).build();
  EXPECT_EQ(r.feed(probe, kT0).flow, FlowEvent::probe);
  auto inner = sim::PacketBuilder().raw_ip().ipv4(kClient, kServer).udp(40000, 161).build();
  auto err = r.feed(sim::PacketBuilder().ipv4(kServer, kClient).icmp(3, 3).quote(inner).build(), kT0);
  EXPECT_EQ(err.flow, FlowEvent::reply_failure);
  EXPECT_EQ(err.probe, ProbeKind::udp);
  EXPECT_EQ(err.actor, kClient);
  // An answered UDP probe is a success.
  r.feed(sim::PacketBuilder().ipv4(kClient, kServer).udp(40001, 53).build(), kT0);
  EXPECT_EQ(r.feed(sim::PacketBuilder().ipv4(kServer, kClient).udp(53, 40001).build(), kT0).flow, FlowEvent::reply_success);
}

TEST(FlowTracker, AnswersOnFlowsThePeerOpenedAreNotProbes) {
  // The local host (home) asks a remote resolver: the resolver is the actor, and its answer from
  // port 53 to the host's ephemeral port is an answer, not a first contact.
  Rig r;
  Attribution home({*core::Prefix::parse("198.18.0.0/24")}, 64);
  r.attribution = std::move(home);
  const IpAddress resolver = *IpAddress::parse("198.19.9.53");
  auto q = r.feed(sim::PacketBuilder().ipv4(kServer, resolver).udp(40000, 53).build(), kT0);
  EXPECT_EQ(q.actor, resolver);
  EXPECT_EQ(q.flow, FlowEvent::none);
  auto a = r.feed(sim::PacketBuilder().ipv4(resolver, kServer).udp(53, 40000).build(), kT0);
  EXPECT_EQ(a.actor, resolver);
  EXPECT_EQ(a.flow, FlowEvent::none);
  r.tracker.on_tick(kT0 + Duration::seconds(10));
  EXPECT_TRUE(r.notices.empty());
}

TEST(FlowTracker, SpoofedFloodCannotEvictEstablishedConnections) {
  Rig r(64);
  r.tcp(kClient, kServer, 40000, 80, tf::kSyn, 100, 0, kT0);
  r.tcp(kServer, kClient, 80, 40000, tf::kSyn | tf::kAck, 5000, 101, kT0);
  ASSERT_EQ(r.tcp(kClient, kServer, 40000, 80, tf::kAck, 101, 5001, kT0).flow, FlowEvent::established);
  for (uint32_t i = 0; i < 10'000; ++i) {
    r.tcp(IpAddress::v4(0xC6128000u + i), kServer, 1024, 80, tf::kSyn, i, 0, kT0 + Duration::millis(i / 100));
  }
  const auto s = r.tracker.stats();
  EXPECT_EQ(s.flows, 64u);
  EXPECT_GT(s.evictions, 9000u);
  EXPECT_EQ(s.established_evicted, 0u);
  // Still tracked: the client's close is seen.
  EXPECT_EQ(r.tcp(kClient, kServer, 40000, 80, tf::kFin | tf::kAck, 101, 5001, kT0 + Duration::seconds(1)).flow,
            FlowEvent::closed);
}

TEST(FlowTracker, IdleEstablishedConnectionsExpireWithANotice) {
  Rig r;
  r.tcp(kClient, kServer, 40000, 80, tf::kSyn, 100, 0, kT0);
  r.tcp(kServer, kClient, 80, 40000, tf::kSyn | tf::kAck, 5000, 101, kT0);
  r.tcp(kClient, kServer, 40000, 80, tf::kAck, 101, 5001, kT0);
  r.tracker.on_tick(kT0 + Duration::seconds(31));
  ASSERT_FALSE(r.notices.empty());
  EXPECT_EQ(r.notices.back().event, FlowEvent::expired);
  EXPECT_EQ(r.tracker.stats().flows, 0u);
}


// The packet path builds keys from words worked out in registers and hashes those words: they must
// be exactly the key built field by field, for both families, and the IPv4 shortcut the engine's
// prefetch uses must land on the same hash as the key the tracker then looks up.
TEST(FlowKey, WordsAreTheKeyBuiltFieldByField) {
  uint64_t x = 0x1234567;
  auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 16;
  };
  for (int i = 0; i < 2000; ++i) {
    std::array<uint8_t, 16> a{}, b{};
    for (auto& c : a) c = static_cast<uint8_t>(next());
    for (auto& c : b) c = static_cast<uint8_t>(next());
    const bool v6 = i % 2 == 0;
    const IpAddress actor = v6 ? IpAddress::v6_bytes(a.data()) : IpAddress::v4_bytes(a.data());
    const IpAddress peer = v6 ? IpAddress::v6_bytes(b.data()) : IpAddress::v4_bytes(b.data());
    const auto ap = static_cast<uint16_t>(next()), pp = static_cast<uint16_t>(next());
    const auto proto = static_cast<uint8_t>(next());
    FlowKey k;
    k.actor = actor;
    k.peer = peer;
    k.actor_port = ap;
    k.peer_port = pp;
    k.proto = proto;
    const FlowKey::Words w = FlowKey::words_of(actor, peer, ap, pp, proto);
    const FlowKey built = FlowKey::from_words(w);
    ASSERT_EQ(std::memcmp(&built, &k, sizeof k), 0) << i;
    ASSERT_EQ(FlowKeyHash{}(k), FlowKeyHash::of_words(w)) << i;
    if (!v6) {
      uint32_t ra, rb;
      std::memcpy(&ra, a.data(), 4);
      std::memcpy(&rb, b.data(), 4);
      ASSERT_EQ(FlowKey::words_of_v4(ra, rb, ap, pp, proto), w) << i;
    }
  }
}

}  // namespace
}  // namespace picket::detect

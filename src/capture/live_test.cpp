// Live capture against the real kernel: the source is opened inside a namespace pair the test
// creates (enforce/testing/netns.hpp), traffic is UDP sent from sockets inside those namespaces,
// and every frame of the test's own flows is counted exactly. Skipped (with the reason) when not root.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "capture/live_source.hpp"
#include "core/bytes.hpp"
#include "enforce/testing/netns.hpp"

namespace picket::capture {
namespace {

using enforce::testing::in_netns;
using enforce::testing::kernel_test_skip_reason;
using enforce::testing::NetnsPair;
using enforce::testing::run_command;
using std::chrono::milliseconds;

core::IpAddress ip(const char* text) {
  return *core::IpAddress::parse(text);
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A UDP datagram as the test reads it back from a frame.
struct Udp {
  core::IpAddress src, dst;
  uint16_t sport = 0, dport = 0;
  int vlan = -1;  // VLAN id when the frame carried an 802.1Q tag
};

std::optional<Udp> parse_udp(std::span<const uint8_t> f) {
  Udp u;
  size_t off = 12;
  uint16_t type = core::load_be16(f, off);
  if (type == 0x8100 || type == 0x88a8) {
    u.vlan = core::load_be16(f, 14) & 0x0fff;
    off = 16;
    type = core::load_be16(f, off);
  }
  off += 2;
  size_t l4 = 0;
  if (type == 0x0800 && core::fits(f, off, 20)) {
    if (f[off + 9] != 17) return std::nullopt;
    u.src = core::IpAddress::v4_bytes(f.data() + off + 12);
    u.dst = core::IpAddress::v4_bytes(f.data() + off + 16);
    l4 = off + (f[off] & 0x0f) * 4u;
  } else if (type == 0x86dd && core::fits(f, off, 40)) {
    if (f[off + 6] != 17) return std::nullopt;
    u.src = core::IpAddress::v6_bytes(f.data() + off + 8);
    u.dst = core::IpAddress::v6_bytes(f.data() + off + 24);
    l4 = off + 40;
  } else {
    return std::nullopt;
  }
  if (!core::fits(f, l4, 8)) return std::nullopt;
  u.sport = core::load_be16(f, l4);
  u.dport = core::load_be16(f, l4 + 2);
  return u;
}

struct Seen {
  Udp udp;
  core::Timestamp ts;
  uint32_t ifindex = 0;
  size_t shard = 0;
  uint32_t wire_len = 0;
};

// Reads every source until `want` datagrams to `port` arrived (or `limit` passed), then keeps
// reading a little longer so duplicates would show. Bounded by `limit` + 300 ms.
std::vector<Seen> collect(const std::vector<LiveSource*>& sources, uint16_t port, size_t want, milliseconds limit) {
  std::vector<Seen> seen;
  std::vector<core::RawPacket> batch(64);
  const auto t0 = std::chrono::steady_clock::now();
  auto settle_until = t0 + limit;
  bool settling = false;
  while (std::chrono::steady_clock::now() < settle_until) {
    for (size_t s = 0; s < sources.size(); ++s) {
      sources[s]->set_wait(milliseconds(20));
      const size_t n = sources[s]->read_batch(batch);
      for (size_t i = 0; i < n; ++i) {
        auto u = parse_udp({batch[i].data, batch[i].cap_len});
        if (u && u->dport == port) seen.push_back({*u, batch[i].ts, batch[i].ifindex, s, batch[i].wire_len});
      }
    }
    if (!settling && seen.size() >= want) {
      settling = true;
      settle_until = std::chrono::steady_clock::now() + milliseconds(300);
    }
  }
  return seen;
}

// Sends `count` UDP datagrams from src to dst:port inside namespace `ns`.
core::Result<int> udp_send(const std::string& ns, const core::IpAddress& src, const core::IpAddress& dst, uint16_t port,
                           int count) {
  return in_netns(ns, [&]() -> core::Result<int> {
    const int family = src.is_v4() ? AF_INET : AF_INET6;
    core::UniqueFd fd(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return core::make_error("socket");
    sockaddr_storage from{}, to{};
    socklen_t len = 0;
    auto fill = [&](sockaddr_storage& ss, const core::IpAddress& a, uint16_t p) {
      if (a.is_v4()) {
        auto* s = reinterpret_cast<sockaddr_in*>(&ss);
        s->sin_family = AF_INET;
        s->sin_port = htons(p);
        std::memcpy(&s->sin_addr, a.bytes().data(), 4);
        len = sizeof(sockaddr_in);
      } else {
        auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(p);
        std::memcpy(&s->sin6_addr, a.bytes().data(), 16);
        len = sizeof(sockaddr_in6);
      }
    };
    fill(from, src, 0);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&from), len) < 0) {
      return core::make_error(fmt::format("bind {}: {}", src.to_string(), std::strerror(errno)));
    }
    fill(to, dst, port);
    int sent = 0;
    for (int i = 0; i < count; ++i) {
      const std::string payload = fmt::format("picket-{}", i);
      if (sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), len) ==
          static_cast<ssize_t>(payload.size())) {
        ++sent;
      }
      // A short pause every 50: the veth backlog and the receiver's buffer stay far from full.
      if (i % 50 == 49) std::this_thread::sleep_for(milliseconds(2));
    }
    return sent;
  });
}

// A bound UDP socket in `ns` so datagrams are taken (no ICMP port-unreachable in the capture).
core::Result<core::UniqueFd> udp_listen(const std::string& ns, bool v6, uint16_t port) {
  return in_netns(ns, [&]() -> core::Result<core::UniqueFd> {
    core::UniqueFd fd(socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
      s->sin6_family = AF_INET6;
      s->sin6_port = htons(port);
      int one = 1;
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      len = sizeof(sockaddr_in6);
    } else {
      auto* s = reinterpret_cast<sockaddr_in*>(&ss);
      s->sin_family = AF_INET;
      s->sin_port = htons(port);
      len = sizeof(sockaddr_in);
    }
    int big = 4 << 20;
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) return core::make_error("bind udp");
    return fd;
  });
}

class LiveCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = kernel_test_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    auto p = NetnsPair::create();
    ASSERT_TRUE(p.ok()) << p.error().message;
    pair_ = std::move(p).value();
    // Listeners for every port the tests use, both ends, both families.
    for (uint16_t port : {5000, 5001, 5002, 5003, 5004, 5005}) {
      for (bool v6 : {false, true}) {
        for (const std::string* ns : {&pair_->host(), &pair_->peer()}) {
          auto fd = udp_listen(*ns, v6, port);
          ASSERT_TRUE(fd.ok()) << fd.error().message;
          listeners_.push_back(std::move(fd).value());
        }
      }
    }
    // Resolve neighbours first, so no datagram of a counted burst waits in (or overflows) the
    // unresolved-neighbour queue.
    warm_up("198.18.0.2", "198.18.0.1");
    warm_up("2001:db8::2", "2001:db8::1");
  }

  void warm_up(const char* src, const char* dst) {
    ASSERT_TRUE(udp_send(pair_->peer(), ip(src), ip(dst), 9, 1).ok());
    for (int i = 0; i < 50; ++i) {  // bounded: 1 s
      auto r = run_command({"ip", "-n", pair_->peer(), "neigh", "show", dst});
      if (r.output.find("REACHABLE") != std::string::npos || r.output.find("STALE") != std::string::npos) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  void run_in(const std::string& ns, std::vector<std::string> args) {
    std::vector<std::string> argv = {"ip", "-n", ns};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // A second veth pair between the same namespaces: host pk2 198.19.2.1/24, peer pk3 198.19.2.2/24.
  void add_second_link() {
    ASSERT_EQ(run_command({"ip", "link", "add", "pk2", "netns", pair_->host(), "type", "veth", "peer", "name", "pk3",
                           "netns", pair_->peer()})
                  .exit_code,
              0);
    run_in(pair_->host(), {"addr", "add", "198.19.2.1/24", "dev", "pk2"});
    run_in(pair_->peer(), {"addr", "add", "198.19.2.2/24", "dev", "pk3"});
    run_in(pair_->host(), {"link", "set", "pk2", "up"});
    run_in(pair_->peer(), {"link", "set", "pk3", "up"});
    warm_up("198.19.2.2", "198.19.2.1");
  }

  core::Result<std::unique_ptr<LiveSource>> open_host(LiveOptions o) {
    return in_netns(pair_->host(), [&] { return open_live(o); });
  }

  uint32_t host_ifindex(const char* name) {
    auto r = in_netns(pair_->host(), [&]() -> core::Result<uint32_t> { return if_nametoindex(name); });
    return r.ok() ? *r : 0;
  }

  static LiveOptions options(std::vector<std::string> ifaces, LiveMethod method = LiveMethod::afpacket) {
    LiveOptions o;
    o.interfaces = std::move(ifaces);
    o.method = method;
    o.ring_mb = 4;
    return o;
  }

  std::unique_ptr<NetnsPair> pair_;
  std::vector<core::UniqueFd> listeners_;
};

// --- receive: both methods, both families ----------------------------------------------------------
struct ReceiveCase {
  LiveMethod method;
  const char* src;
  const char* dst;
};

TEST_F(LiveCaptureTest, ReceivesEveryDatagramWithAddressesAndTimes) {
  const ReceiveCase cases[] = {
      {LiveMethod::afpacket, "198.18.0.2", "198.18.0.1"},
      {LiveMethod::afpacket, "2001:db8::2", "2001:db8::1"},
      {LiveMethod::pcap, "198.18.0.2", "198.18.0.1"},
      {LiveMethod::pcap, "2001:db8::2", "2001:db8::1"},
  };
  const uint32_t pk0 = host_ifindex("pk0");
  ASSERT_NE(pk0, 0u);
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("{} {}", c.method == LiveMethod::pcap ? "pcap" : "afpacket", c.src));
    auto src = open_host(options({"pk0"}, c.method));
    ASSERT_TRUE(src.ok()) << src.error().message;
    LiveSource& s = **src;
    EXPECT_EQ(s.link_type(), core::link_type::kEthernet);
    const int64_t t0 = now_ns();
    auto sent = udp_send(pair_->peer(), ip(c.src), ip(c.dst), 5000, 200);
    ASSERT_TRUE(sent.ok()) << sent.error().message;
    ASSERT_EQ(*sent, 200);
    const auto seen = collect({&s}, 5000, 200, milliseconds(3000));
    const int64_t t1 = now_ns();
    EXPECT_EQ(seen.size(), 200u);
    for (const auto& f : seen) {
      EXPECT_EQ(f.udp.src, ip(c.src));
      EXPECT_EQ(f.udp.dst, ip(c.dst));
      EXPECT_GE(f.ts.ns, t0 - 50'000'000);  // kernel stamps: after the send started, before we read
      EXPECT_LE(f.ts.ns, t1);
      if (c.method == LiveMethod::afpacket) {
        EXPECT_EQ(f.ifindex, pk0);
      }
    }
    const LiveStats st = s.stats();
    EXPECT_GE(st.packets, 200u);
    ASSERT_EQ(st.per_interface_packets.size(), 1u);
    EXPECT_EQ(st.per_interface_packets[0].first, "pk0");
    EXPECT_EQ(st.per_interface_packets[0].second, st.packets);
    ASSERT_EQ(st.per_interface_bytes.size(), 1u);
    EXPECT_EQ(st.per_interface_bytes[0].first, "pk0");
    uint64_t seen_bytes = 0;
    for (const auto& f : seen) seen_bytes += f.wire_len;
    EXPECT_GE(st.per_interface_bytes[0].second, seen_bytes);  // other frames (IPv6 ND) may be counted too
    EXPECT_EQ(st.kernel_drops, 0u);
    EXPECT_FALSE(s.finished());
    EXPECT_FALSE(s.error().has_value());
  }
}

TEST_F(LiveCaptureTest, FilterDropsWhatItShould) {
  for (LiveMethod m : {LiveMethod::afpacket, LiveMethod::pcap}) {
    SCOPED_TRACE(m == LiveMethod::pcap ? "pcap" : "afpacket");
    auto o = options({"pk0"}, m);
    o.bpf_filter = "udp dst port 5001";
    auto src = open_host(o);
    ASSERT_TRUE(src.ok()) << src.error().message;
    ASSERT_TRUE(udp_send(pair_->peer(), ip("198.18.0.2"), ip("198.18.0.1"), 5000, 50).ok());
    ASSERT_TRUE(udp_send(pair_->peer(), ip("198.18.0.2"), ip("198.18.0.1"), 5001, 40).ok());
    std::vector<core::RawPacket> batch(64);
    std::map<uint16_t, int> by_port;
    uint64_t total = 0;
    for (int i = 0; i < 40 && by_port[5001] < 40; ++i) {
      (*src)->set_wait(milliseconds(50));
      const size_t n = (*src)->read_batch(batch);
      total += n;
      for (size_t k = 0; k < n; ++k) {
        auto u = parse_udp({batch[k].data, batch[k].cap_len});
        ++by_port[u ? u->dport : 0];
      }
    }
    EXPECT_EQ(by_port[5001], 40);
    EXPECT_EQ(by_port[5000], 0);
    EXPECT_EQ(by_port.size(), 2u);  // nothing else (no ARP, no ND) passed "udp dst port 5001"
    EXPECT_EQ((*src)->stats().packets, total);
  }
}

TEST_F(LiveCaptureTest, TwoInterfacesCountedPerInterface) {
  add_second_link();
  const uint32_t pk0 = host_ifindex("pk0"), pk2 = host_ifindex("pk2");
  auto o = options({"pk0", "pk2"});
  o.bpf_filter = "udp";
  auto src = open_host(o);
  ASSERT_TRUE(src.ok()) << src.error().message;
  ASSERT_TRUE(udp_send(pair_->peer(), ip("198.18.0.2"), ip("198.18.0.1"), 5002, 30).ok());
  ASSERT_TRUE(udp_send(pair_->peer(), ip("198.19.2.2"), ip("198.19.2.1"), 5002, 70).ok());
  const auto seen = collect({src->get()}, 5002, 100, milliseconds(3000));
  ASSERT_EQ(seen.size(), 100u);
  int on0 = 0, on2 = 0;
  uint64_t bytes0 = 0, bytes2 = 0;
  for (const auto& f : seen) {
    if (f.udp.src == ip("198.18.0.2")) {
      EXPECT_EQ(f.ifindex, pk0);
      ++on0;
      bytes0 += f.wire_len;
    } else {
      EXPECT_EQ(f.udp.src, ip("198.19.2.2"));
      EXPECT_EQ(f.ifindex, pk2);
      ++on2;
      bytes2 += f.wire_len;
    }
  }
  EXPECT_EQ(on0, 30);
  EXPECT_EQ(on2, 70);
  const LiveStats st = (*src)->stats();
  using Counts = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(st.per_interface_packets, (Counts{{"pk0", 30}, {"pk2", 70}}));
  EXPECT_GT(bytes0, 30u * 42);  // at least Ethernet + IPv4 + UDP headers each
  EXPECT_EQ(st.per_interface_bytes, (Counts{{"pk0", bytes0}, {"pk2", bytes2}}));
  EXPECT_EQ(st.packets, 100u);
}

TEST_F(LiveCaptureTest, FanoutKeepsEachSourceOnOneRing) {
  auto o = options({"pk0"});
  o.rings_per_interface = 2;
  o.bpf_filter = "udp";
  auto shards = in_netns(pair_->host(), [&] { return open_live_shards(o); });
  ASSERT_TRUE(shards.ok()) << shards.error().message;
  ASSERT_EQ(shards->size(), 2u);
  EXPECT_EQ((*shards)[0]->stats().fanout, "cbpf-source");
  const std::vector<std::pair<const char*, const char*>> flows = {
      {"198.18.0.2", "198.18.0.1"},   {"198.18.0.3", "198.18.0.1"},   {"198.18.1.2", "198.18.0.1"},
      {"2001:db8::2", "2001:db8::1"}, {"2001:db8::3", "2001:db8::1"}, {"2001:db8::1:2", "2001:db8::1"}};
  for (const auto& [from, to] : flows) warm_up(from, to);
  for (const auto& [from, to] : flows) ASSERT_TRUE(udp_send(pair_->peer(), ip(from), ip(to), 5003, 40).ok());
  const auto seen = collect({(*shards)[0].get(), (*shards)[1].get()}, 5003, 240, milliseconds(4000));
  EXPECT_EQ(seen.size(), 240u);
  std::map<std::string, std::map<size_t, int>> per_source;
  for (const auto& f : seen) ++per_source[f.udp.src.to_string()][f.shard];
  std::set<size_t> used;
  for (const auto& [from, to] : flows) {
    SCOPED_TRACE(from);
    const size_t expect = detail::fanout_shard(ip(from), 2);
    used.insert(expect);
    EXPECT_EQ(per_source[from][expect], 40);  // all of it on the ring the model predicts
    EXPECT_EQ(per_source[from][1 - expect], 0);
  }
  EXPECT_EQ(used.size(), 2u);  // both rings carried traffic

  // One source over both rings (open_live): every datagram exactly once.
  auto merged = open_host(o);
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  for (const auto& [from, to] : flows) ASSERT_TRUE(udp_send(pair_->peer(), ip(from), ip(to), 5003, 10).ok());
  EXPECT_EQ(collect({merged->get()}, 5003, 60, milliseconds(3000)).size(), 60u);
}

TEST_F(LiveCaptureTest, InboundAndOutboundCounted) {
  auto o = options({"pk0"});
  o.bpf_filter = "udp port 5004";
  auto src = open_host(o);
  ASSERT_TRUE(src.ok()) << src.error().message;
  ASSERT_TRUE(udp_send(pair_->peer(), ip("198.18.0.2"), ip("198.18.0.1"), 5004, 20).ok());
  ASSERT_TRUE(udp_send(pair_->host(), ip("198.18.0.1"), ip("198.18.0.2"), 5004, 30).ok());
  const auto seen = collect({src->get()}, 5004, 50, milliseconds(3000));
  EXPECT_EQ(seen.size(), 50u);
  const LiveStats st = (*src)->stats();
  EXPECT_EQ(st.inbound, 20u);
  EXPECT_EQ(st.outbound, 30u);
}

// Tagged frames are written by a packet socket in the peer namespace (no 8021q module needed):
// the receiving kernel strips the tag into the skb, and the frame handed out must carry it again.
core::Result<int> send_tagged_udp(const std::string& ns, const char* ifname, uint16_t vid, uint16_t port, int count) {
  return in_netns(ns, [&]() -> core::Result<int> {
    core::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return core::make_error(fmt::format("packet socket: {}", std::strerror(errno)));
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(if_nametoindex(ifname));
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    std::vector<uint8_t> f = {0xff,
                              0xff,
                              0xff,
                              0xff,
                              0xff,
                              0xff,
                              0x02,
                              0,
                              0,
                              0,
                              0,
                              0x02,  // MACs
                              0x81,
                              0x00,
                              static_cast<uint8_t>(vid >> 8),
                              static_cast<uint8_t>(vid),
                              0x08,
                              0x00,
                              0x45,
                              0,
                              0,
                              36,
                              0,
                              1,
                              0,
                              0,
                              64,
                              17,
                              0,
                              0,  // IPv4, 36 bytes, UDP
                              198,
                              19,
                              10,
                              2,
                              198,
                              19,
                              10,
                              1,
                              0x04,
                              0xd2,
                              static_cast<uint8_t>(port >> 8),
                              static_cast<uint8_t>(port),
                              0,
                              16,
                              0,
                              0,
                              'p',
                              'i',
                              'c',
                              'k',
                              'e',
                              't',
                              '-',
                              'v'};
    int sent = 0;
    for (int i = 0; i < count; ++i) {
      if (sendto(fd.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
          static_cast<ssize_t>(f.size())) {
        ++sent;
      }
    }
    return sent;
  });
}

TEST_F(LiveCaptureTest, VlanTagIsPutBack) {
  for (LiveMethod m : {LiveMethod::afpacket, LiveMethod::pcap}) {
    SCOPED_TRACE(m == LiveMethod::pcap ? "pcap" : "afpacket");
    auto src = open_host(options({"pk0"}, m));
    ASSERT_TRUE(src.ok()) << src.error().message;
    auto sent = send_tagged_udp(pair_->peer(), "pk1", 10, 5005, 20);
    ASSERT_TRUE(sent.ok()) << sent.error().message;
    ASSERT_EQ(*sent, 20);
    const auto seen = collect({src->get()}, 5005, 20, milliseconds(3000));
    ASSERT_EQ(seen.size(), 20u);
    for (const auto& f : seen) {
      EXPECT_EQ(f.udp.vlan, 10);
      EXPECT_EQ(f.udp.src, ip("198.19.10.2"));
    }
  }
}

TEST_F(LiveCaptureTest, IdleWaitAndInterrupt) {
  for (LiveMethod m : {LiveMethod::afpacket, LiveMethod::pcap}) {
    SCOPED_TRACE(m == LiveMethod::pcap ? "pcap" : "afpacket");
    auto o = options({"pk0"}, m);
    o.bpf_filter = "udp port 5999";  // nothing sends there: the source stays idle
    auto src = open_host(o);
    ASSERT_TRUE(src.ok()) << src.error().message;
    LiveSource& s = **src;
    std::vector<core::RawPacket> batch(16);
    s.set_wait(milliseconds(200));
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(s.read_batch(batch), 0u);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, milliseconds(190));
    EXPECT_LT(took, milliseconds(1000));
    EXPECT_FALSE(s.finished());

    s.set_wait(milliseconds(10000));
    std::thread waker([&] {
      std::this_thread::sleep_for(milliseconds(100));
      s.interrupt();
    });
    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(s.read_batch(batch), 0u);
    took = std::chrono::steady_clock::now() - t0;
    waker.join();
    EXPECT_LT(took, milliseconds(1500));
    EXPECT_GE(took, milliseconds(90));
    EXPECT_FALSE(s.finished());
  }
}

TEST_F(LiveCaptureTest, LinkDownIsSurvivedAndRemovalFinishes) {
  add_second_link();
  auto o = options({"pk2"});
  o.bpf_filter = "udp";
  auto src = open_host(o);
  ASSERT_TRUE(src.ok()) << src.error().message;
  LiveSource& s = **src;
  std::vector<core::RawPacket> batch(16);

  run_in(pair_->host(), {"link", "set", "pk2", "down"});
  s.set_wait(milliseconds(100));
  for (int i = 0; i < 5; ++i) s.read_batch(batch);
  EXPECT_FALSE(s.finished());
  run_in(pair_->host(), {"link", "set", "pk2", "up"});
  EXPECT_GE(s.stats().link_down_events, 1u);
  // Carrier and routes come back; then traffic flows into the same source again.
  warm_up("198.19.2.2", "198.19.2.1");
  ASSERT_TRUE(udp_send(pair_->peer(), ip("198.19.2.2"), ip("198.19.2.1"), 5002, 10).ok());
  EXPECT_EQ(collect({&s}, 5002, 10, milliseconds(3000)).size(), 10u);

  run_in(pair_->host(), {"link", "del", "pk2"});
  for (int i = 0; i < 30 && !s.finished(); ++i) EXPECT_EQ(s.read_batch(batch), 0u);
  ASSERT_TRUE(s.finished());
  ASSERT_TRUE(s.error().has_value());
  EXPECT_EQ(s.error()->message, "capture: pk2: interface went away");
  EXPECT_EQ(s.read_batch(batch), 0u);
}

TEST_F(LiveCaptureTest, OpenErrorsNameTheCause) {
  for (LiveMethod m : {LiveMethod::afpacket, LiveMethod::pcap}) {
    SCOPED_TRACE(m == LiveMethod::pcap ? "pcap" : "afpacket");
    auto missing = open_host(options({"pk0", "pk9"}, m));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().message, "capture: pk9: no such interface");
    auto o = options({"pk0"}, m);
    o.bpf_filter = "tcp prt 80";
    auto bad = open_host(o);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message.rfind("capture: bad filter 'tcp prt 80': ", 0), 0u) << bad.error().message;
  }
}

}  // namespace
}  // namespace picket::capture

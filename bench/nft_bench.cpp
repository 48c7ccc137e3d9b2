// nft_bench: the nftables enforcer against the real kernel, in two network namespaces it creates
// (198.18.0.0/15 and 2001:db8::/32 only, never the root namespace) and deletes at the end.
//
//   1. time to apply 100,000 distinct IPv4 address bans in one apply() (target: < 1 s), to list
//      them back (one dump), and to remove them (100,000 unblocks in one apply());
//   2. per-packet cost of dropping with 10, 10,000 and 1,000,000 entries in the IPv6 ban set
//      (it must stay flat): the peer namespace sends Ethernet frames from banned sources over the
//      veth with an AF_PACKET socket (sendmmsg, 256 frames per call); veth delivers them on the
//      sending CPU, so the send time includes the host's receive path and picket's drop. The
//      baseline is the same frames with a foreign destination MAC (dropped before IP, no nftables),
//      and the drop counter of picket's rule proves every frame reached the set lookup.
// Needs root; prints why and exits 0 otherwise. Runs in well under a minute.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>

#include "enforce/nftables/netlink.hpp"
#include "enforce/nftables/nftables_enforcer.hpp"
#include "enforce/testing/netns.hpp"

using namespace picket;
using enforce::nftables::NftablesEnforcer;
using enforce::testing::in_netns;
using enforce::testing::NetnsPair;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kFramesPerRun = 500'000;
constexpr int kRuns = 3;  // per set size, each paired with a baseline run
constexpr int kBatch = 256;
constexpr size_t kSources = 1024;  // distinct banned sources the frames rotate through

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

core::Decision ban(const core::IpAddress& a, bool block = true) {
  core::Decision d;
  d.action = block ? core::DecisionAction::block : core::DecisionAction::unblock;
  d.target = core::Prefix(a, a.bit_width());
  d.duration = block ? core::Duration::seconds(3600) : core::Duration{};
  d.detector = "bench";
  return d;
}

// 2001:db8:b::/48 + i: never assigned to an interface, only set data and frame sources.
core::IpAddress v6_source(uint32_t i) {
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0b};
  b[12] = static_cast<uint8_t>(i >> 24);
  b[13] = static_cast<uint8_t>(i >> 16);
  b[14] = static_cast<uint8_t>(i >> 8);
  b[15] = static_cast<uint8_t>(i);
  return core::IpAddress::v6_bytes(b);
}

std::array<uint8_t, 6> mac_of(const NetnsPair& net) {
  std::array<uint8_t, 6> mac{};
  auto r = enforce::testing::run_command({"ip", "-n", net.host(), "-j", "link", "show", "pk0"});
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  if (j.is_discarded() || j.empty()) return mac;
  std::string s = j[0].value("address", "");
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6) {
    for (int i = 0; i < 6; ++i) mac[static_cast<size_t>(i)] = static_cast<uint8_t>(v[i]);
  }
  return mac;
}

// Ethernet + IPv6 + UDP (to 2001:db8::1 port 9), 62 bytes.
std::vector<uint8_t> frame(const std::array<uint8_t, 6>& dst_mac, const core::IpAddress& src) {
  std::vector<uint8_t> f(14 + 40 + 8, 0);
  std::memcpy(f.data(), dst_mac.data(), 6);
  const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(f.data() + 6, src_mac, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x60;
  ip[5] = 8;    // payload length
  ip[6] = 17;   // UDP
  ip[7] = 64;   // hop limit
  std::memcpy(ip + 8, src.bytes().data(), 16);
  std::memcpy(ip + 24, core::IpAddress::parse("2001:db8::1")->bytes().data(), 16);
  uint8_t* udp = ip + 40;
  udp[0] = 0x30;
  udp[1] = 0x39;
  udp[3] = 9;
  udp[5] = 8;
  return f;
}

// Sends `count` frames (cycling through `frames`) from the peer namespace; seconds taken.
core::Result<double> blast(const NetnsPair& net, const std::vector<std::vector<uint8_t>>& frames, int count) {
  return in_netns(net.peer(), [&]() -> core::Result<double> {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::make_error(fmt::format("AF_PACKET socket: {}", std::strerror(errno)));
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = static_cast<int>(if_nametoindex("pk1"));
    ll.sll_halen = 6;
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    const auto t0 = Clock::now();
    int sent = 0;
    size_t next = 0;
    while (sent < count) {
      int n = std::min(kBatch, count - sent);
      for (int i = 0; i < n; ++i) {
        auto& f = frames[next++ % frames.size()];
        iov[static_cast<size_t>(i)] = {const_cast<uint8_t*>(f.data()), f.size()};
        msgs[static_cast<size_t>(i)] = {};
        msgs[static_cast<size_t>(i)].msg_hdr.msg_iov = &iov[static_cast<size_t>(i)];
        msgs[static_cast<size_t>(i)].msg_hdr.msg_iovlen = 1;
        msgs[static_cast<size_t>(i)].msg_hdr.msg_name = &ll;
        msgs[static_cast<size_t>(i)].msg_hdr.msg_namelen = sizeof ll;
      }
      int r = sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
      if (r < 0) {
        if (errno == ENOBUFS || errno == EAGAIN) continue;
        int e = errno;
        close(fd);
        return core::make_error(fmt::format("sendmmsg: {}", std::strerror(e)));
      }
      sent += r;
    }
    double s = seconds_since(t0);
    close(fd);
    return s;
  });
}

// Packets counted by picket's "banned IPv6 addresses" rule (the third in the chain), read with a
// rule dump over netlink: `nft` itself would load the million-element set to print one counter.
int64_t drop_counter(enforce::nftables::NetlinkSocket& sock) {
  static uint32_t seq = 1;
  std::vector<char> buf(4096);
  std::unique_ptr<nftnl_rule, void (*)(const nftnl_rule*)> req(nftnl_rule_alloc(), nftnl_rule_free);
  nftnl_rule_set_str(req.get(), NFTNL_RULE_TABLE, "picket");
  nftnl_rule_set_str(req.get(), NFTNL_RULE_CHAIN, "prerouting");
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq++);
  nftnl_rule_nlmsg_build_payload(nlh, req.get());
  int index = 0;
  int64_t packets = -1;
  auto answer = sock.dump(std::span(reinterpret_cast<const uint8_t*>(buf.data()), nlh->nlmsg_len),
                          [&](const nlmsghdr& reply) {
                            std::unique_ptr<nftnl_rule, void (*)(const nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
                            if (nftnl_rule_nlmsg_parse(&reply, r.get()) < 0 || index++ != 2) return;
                            nftnl_expr_foreach(r.get(), [](nftnl_expr* e, void* out) {
                              if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
                                *static_cast<int64_t*>(out) = static_cast<int64_t>(nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS));
                              }
                              return 0;
                            }, &packets);
                          });
  return answer && answer->error == 0 ? packets : -1;
}

int fail(const std::string& what) {
  fmt::print(stderr, "nft_bench: {}\n", what);
  return 1;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  if (auto why = enforce::testing::kernel_test_skip_reason(); !why.empty()) {
    fmt::print("nft_bench: skipped: {}\n", why);
    return 0;
  }
  auto pair = NetnsPair::create();
  if (!pair) return fail(pair.error().message);
  const NetnsPair& net = **pair;
  auto opened = in_netns(net.host(), [] { return NftablesEnforcer::open(); });
  if (!opened) return fail(opened.error().message);
  std::unique_ptr<NftablesEnforcer> owner = std::move(opened).value();
  NftablesEnforcer& enforcer = *owner;
  if (auto r = enforcer.init(); !r) {
    if (r.error().message.find("not available") != std::string::npos) {
      fmt::print("nft_bench: skipped: {}\n", r.error().message);
      return 0;
    }
    return fail(r.error().message);
  }
  fmt::print("nft_bench: kernel DESTROY messages: {}\n", enforcer.uses_destroy() ? "yes" : "no (delete-and-retry)");

  // --- 1. 100,000 bans ----------------------------------------------------------------------------
  constexpr uint32_t kBans = 100'000;
  std::vector<core::Decision> blocks, unblocks;
  for (uint32_t i = 0; i < kBans; ++i) {
    core::IpAddress a = core::IpAddress::v4(0xC6120400u + i);  // 198.18.4.0 + i, inside 198.18.0.0/15
    blocks.push_back(ban(a));
    unblocks.push_back(ban(a, false));
  }
  auto t0 = Clock::now();
  if (auto r = enforcer.apply(blocks); !r) return fail(r.error().message);
  double apply_s = seconds_since(t0);
  t0 = Clock::now();
  auto listed = enforcer.list();
  double list_s = seconds_since(t0);
  if (!listed) return fail(listed.error().message);
  t0 = Clock::now();
  if (auto r = enforcer.apply(blocks); !r) return fail(r.error().message);
  double reapply_s = seconds_since(t0);
  t0 = Clock::now();
  if (auto r = enforcer.apply(unblocks); !r) return fail(r.error().message);
  double remove_s = seconds_since(t0);
  auto after = enforcer.list();
  fmt::print("\n100,000 distinct IPv4 address bans (one apply() = one netlink transaction each):\n");
  fmt::print("  apply  {:8.3f} s   ({:.0f} bans/s)  {}\n", apply_s, kBans / apply_s, apply_s < 1.0 ? "[target < 1 s: met]" : "[target < 1 s: MISSED]");
  fmt::print("  list   {:8.3f} s   ({} bans read back with remaining time)\n", list_s, listed->size());
  fmt::print("  again  {:8.3f} s   (re-block all: timers restarted, no duplicates)\n", reapply_s);
  fmt::print("  remove {:8.3f} s   ({} left)\n", remove_s, after ? after->size() : SIZE_MAX);

  // --- 2. per-packet drop cost vs. set size ---------------------------------------------------------
  auto mac = mac_of(net);
  if (std::all_of(mac.begin(), mac.end(), [](uint8_t b) { return b == 0; })) return fail("cannot read pk0's MAC");
  std::array<uint8_t, 6> foreign = {0x02, 0xde, 0xad, 0xbe, 0xef, 0x01};
  std::vector<std::vector<uint8_t>> base_frames;
  for (uint32_t i = 0; i < kSources; ++i) base_frames.push_back(frame(foreign, v6_source(i)));
  auto counter_opened = in_netns(net.host(), [] { return enforce::nftables::open_kernel_socket(); });
  if (!counter_opened) return fail(counter_opened.error().message);
  std::unique_ptr<enforce::nftables::NetlinkSocket> counter_socket = std::move(counter_opened).value();
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  fmt::print("\nPer-packet cost, {} frames per run, median of {} runs, each next to a baseline run\n", kFramesPerRun, kRuns);
  fmt::print("(62-byte IPv6/UDP frames over veth; baseline = same frames to a foreign MAC, dropped before IP):\n");

  std::mt19937 rng(42);
  uint32_t in_set = 0;
  double worst = 0, best_all = 1e9, worst_extra = 0, best_extra = 1e9;
  for (uint32_t size : {10u, 10'000u, 1'000'000u}) {
    std::vector<core::Decision> fill;
    while (in_set < size) {
      fill.clear();
      for (uint32_t k = 0; k < 100'000 && in_set < size; ++k) fill.push_back(ban(v6_source(in_set++)));
      if (auto r = enforcer.apply(fill); !r) return fail(r.error().message);
    }
    std::vector<std::vector<uint8_t>> frames;
    for (size_t k = 0; k < std::min<size_t>(kSources, size); ++k) {
      frames.push_back(frame(mac, v6_source(size <= kSources ? static_cast<uint32_t>(k) : rng() % size)));
    }
    int64_t before = drop_counter(*counter_socket);
    std::vector<double> base_ns, drop_ns;
    for (int run = 0; run < kRuns; ++run) {  // interleaved, so drift on a shared machine hits both
      auto b = blast(net, base_frames, kFramesPerRun);
      if (!b) return fail(b.error().message);
      auto d = blast(net, frames, kFramesPerRun);
      if (!d) return fail(d.error().message);
      base_ns.push_back(*b * 1e9 / kFramesPerRun);
      drop_ns.push_back(*d * 1e9 / kFramesPerRun);
    }
    int64_t after_count = drop_counter(*counter_socket);
    std::string counted = before < 0 || after_count < 0 ? std::string("counter unreadable")
                                                        : fmt::format("{}", after_count - before);
    double ns = median(drop_ns);
    double extra = ns - median(base_ns);
    worst = std::max(worst, ns);
    best_all = std::min(best_all, ns);
    worst_extra = std::max(worst_extra, extra);
    best_extra = std::min(best_extra, extra);
    fmt::print("  {:>9} entries in ban6: dropped by picket {:7.1f} ns/frame, baseline {:7.1f}, difference {:+7.1f} ns"
               "  (rule counted {}/{})\n",
               size, ns, median(base_ns), extra, counted, int64_t{kFramesPerRun} * kRuns);
  }
  fmt::print("  spread across set sizes: {:.2f}x per frame, {:.2f}x of the difference (flat = close to 1)\n",
             worst / best_all, best_extra > 0 ? worst_extra / best_extra : 0.0);
  if (auto r = enforcer.remove(); !r) return fail(r.error().message);
  return 0;
}

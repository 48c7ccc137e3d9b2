// The AF_PACKET method: one SOCK_RAW socket per (interface, ring) with a TPACKET_V3 mmap ring,
// read through poll() over every socket plus an eventfd for interrupt(). Also the option checks
// and open_live / open_live_shards, which dispatch to the libpcap method.
//
// Opening order matters (each step is why the next is safe):
//   socket(protocol 0: receives nothing yet) → TPACKET_V3 → drop-all filter → ring + mmap →
//   bind(ETH_P_ALL, ifindex) → promiscuous membership → fanout join (bound first, as the kernel
//   requires) → the real filter. Until that last step the drop-all filter keeps the ring empty, so
//   no unfiltered frame and no frame demultiplexed before the group was complete is ever handed out.
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "capture/bpf_filter.hpp"
#include "capture/live_common.hpp"
#include "capture/live_source.hpp"
#include "core/bytes.hpp"
#include "core/unique_fd.hpp"

namespace picket::capture {
namespace {
constexpr size_t kFrameHdrLen = TPACKET_ALIGN(sizeof(tpacket3_hdr));  // sockaddr_ll follows here
constexpr uint8_t kPacketOutgoing = PACKET_OUTGOING;
}  // namespace

namespace detail {

uint32_t fanout_source_hash(const core::IpAddress& src) noexcept {
  // Mirrors kFanoutProgram below word for word (classic BPF loads are big-endian, ALU is 32-bit).
  uint32_t a = 0;
  const auto& b = src.bytes();
  const core::Bytes bytes(b.data(), b.size());
  if (src.is_v4()) {
    a = core::load_be32(bytes, 0);
  } else if (src.is_v6()) {
    a = core::load_be32(bytes, 0) ^ core::load_be32(bytes, 4) ^ core::load_be32(bytes, 8) ^ core::load_be32(bytes, 12);
  } else {
    return 0;
  }
  a ^= a >> 16;
  a *= 0x45d9f3bU;
  a ^= a >> 16;
  return a;
}

void BlockCursor::reset(std::span<const uint8_t> block) noexcept {
  block_ = block;
  malformed_ = false;
  left_ = 0;
  tpacket_block_desc desc{};
  if (block.size() < sizeof desc) {
    malformed_ = true;
    return;
  }
  std::memcpy(&desc, block.data(), sizeof desc);
  const tpacket_hdr_v1& h = desc.hdr.bh1;
  limit_ = h.blk_len;
  offset_ = h.offset_to_first_pkt;
  left_ = h.num_pkts;
  if (left_ == 0) return;  // a block retired empty by the timer
  if (limit_ > block.size() || offset_ < sizeof desc || offset_ >= limit_) malformed_ = true;
}

bool BlockCursor::next(RingFrame& out) noexcept {
  if (done()) return false;
  // Header and sockaddr_ll must fit inside what the kernel filled.
  if (offset_ + kFrameHdrLen + sizeof(sockaddr_ll) > limit_) {
    malformed_ = true;
    return false;
  }
  tpacket3_hdr h{};
  sockaddr_ll sll{};
  std::memcpy(&h, block_.data() + offset_, sizeof h);
  std::memcpy(&sll, block_.data() + offset_ + kFrameHdrLen, sizeof sll);
  const size_t mac = offset_ + h.tp_mac;
  if (h.tp_mac < kFrameHdrLen || mac > limit_ || h.tp_snaplen > limit_ - mac) {
    malformed_ = true;
    return false;
  }
  --left_;
  if (left_ > 0) {
    // The next frame must lie after this one's data, inside the filled part.
    if (h.tp_next_offset == 0 || offset_ + h.tp_next_offset < mac + h.tp_snaplen ||
        offset_ + h.tp_next_offset >= limit_) {
      malformed_ = true;  // this frame is fine; the walk stops after it
    }
  }
  out.data = block_.data() + mac;
  out.cap_len = h.tp_snaplen;
  out.wire_len = std::max(h.tp_len, h.tp_snaplen);
  out.sec = h.tp_sec;
  out.nsec = h.tp_nsec;
  out.ifindex = sll.sll_ifindex > 0 ? static_cast<uint32_t>(sll.sll_ifindex) : 0;
  out.pkttype = sll.sll_pkttype;
  out.vlan_valid = (h.tp_status & TP_STATUS_VLAN_VALID) != 0;
  out.vlan_tci = h.hv1.tp_vlan_tci;
  out.vlan_tpid =
      (h.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 && h.hv1.tp_vlan_tpid != 0 ? h.hv1.tp_vlan_tpid : ETH_P_8021Q;
  offset_ += h.tp_next_offset;
  return true;
}

uint32_t insert_vlan_tag(const RingFrame& f, uint8_t* dst) noexcept {
  constexpr uint32_t kMacs = 12;
  if (f.cap_len < kMacs) {
    std::memcpy(dst, f.data, f.cap_len);
    return f.cap_len;
  }
  std::memcpy(dst, f.data, kMacs);
  dst[12] = static_cast<uint8_t>(f.vlan_tpid >> 8);
  dst[13] = static_cast<uint8_t>(f.vlan_tpid);
  dst[14] = static_cast<uint8_t>(f.vlan_tci >> 8);
  dst[15] = static_cast<uint8_t>(f.vlan_tci);
  std::memcpy(dst + 16, f.data + kMacs, f.cap_len - kMacs);
  return f.cap_len + 4;
}

core::Result<void> validate_live_options(const LiveOptions& o) {
  if (o.interfaces.empty()) return core::make_error("capture: no interfaces given");
  std::set<std::string> seen;
  for (const auto& name : o.interfaces) {
    if (name.empty()) return core::make_error("capture: empty interface name");
    if (name == "any") {
      return core::make_error("capture: any: the 'any' pseudo-interface is not supported; list the interfaces");
    }
    if (name.size() >= IFNAMSIZ) return core::make_error(fmt::format("capture: {}: no such interface", name));
    if (!seen.insert(name).second) return core::make_error(fmt::format("capture: {}: listed twice", name));
  }
  if (o.rings_per_interface < 1 || o.rings_per_interface > 64) {
    return core::make_error(fmt::format("capture: rings_per_interface {} is outside 1..64", o.rings_per_interface));
  }
  if (o.method == LiveMethod::pcap && o.rings_per_interface != 1) {
    return core::make_error("capture: rings_per_interface > 1 needs method afpacket (libpcap has no fanout)");
  }
  if (o.ring_mb < 1 || o.ring_mb > 4096) {
    return core::make_error(fmt::format("capture: ring_mb {} is outside 1..4096", o.ring_mb));
  }
  if (o.snaplen < 64 || o.snaplen > kMaxSnaplen) {
    return core::make_error(fmt::format("capture: snaplen {} is outside 64..{}", o.snaplen, kMaxSnaplen));
  }
  if (o.block_timeout_ms < 1 || o.block_timeout_ms > 1000) {
    return core::make_error(fmt::format("capture: block_timeout_ms {} is outside 1..1000", o.block_timeout_ms));
  }
  return {};
}

}  // namespace detail

namespace {

using detail::KernelInsn;

std::string errno_text(int e) {
  return std::strerror(e);
}

// The fanout program (PACKET_FANOUT_CBPF): hash of the IPv4/IPv6 source address; the kernel takes
// the result modulo the group size. SKF_NET_OFF loads are relative to the network header, which
// is right for both directions (received skbs start at it, transmitted ones at the MAC header).
// Non-IP frames return 0: socket 0. detail::fanout_source_hash is the same arithmetic.
constexpr int32_t kNet = SKF_NET_OFF;
const sock_filter kFanoutProgram[] = {
    /* 0*/ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
    /* 1*/ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 2),
    /* 2*/ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(kNet + 12)),
    /* 3*/ BPF_JUMP(BPF_JMP | BPF_JA, 11, 0, 0),                    // → 15
    /* 4*/ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 18),  // else → 23
    /* 5*/ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(kNet + 8)),
    /* 6*/ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /* 7*/ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(kNet + 12)),
    /* 8*/ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /* 9*/ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /*10*/ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(kNet + 16)),
    /*11*/ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /*12*/ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /*13*/ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(kNet + 20)),
    /*14*/ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /*15*/ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /*16*/ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
    /*17*/ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /*18*/ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x45d9f3b),
    /*19*/ BPF_STMT(BPF_MISC | BPF_TAX, 0),
    /*20*/ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
    /*21*/ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /*22*/ BPF_STMT(BPF_RET | BPF_A, 0),
    /*23*/ BPF_STMT(BPF_RET | BPF_K, 0),
};

int attach_filter(int fd, std::span<const sock_filter> prog) {
  sock_fprog fp{static_cast<unsigned short>(prog.size()), const_cast<sock_filter*>(prog.data())};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
}

struct IfaceInfo {
  std::string name;
  int ifindex = 0;
  int link_type = 0;
  bool loopback = false;
};

const char* link_name(int lt) {
  return lt == core::link_type::kEthernet ? "Ethernet" : "raw IP";
}

// Index and link type, looked up in the calling thread's network namespace.
core::Result<IfaceInfo> probe_interface(const std::string& name) {
  IfaceInfo info;
  info.name = name;
  info.ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (info.ifindex == 0) return core::make_error(fmt::format("capture: {}: no such interface", name));
  core::UniqueFd probe(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (!probe.valid() || ioctl(probe.get(), SIOCGIFHWADDR, &ifr) < 0) {
    return core::make_error(fmt::format("capture: {}: cannot read the link type: {}", name, errno_text(errno)));
  }
  switch (ifr.ifr_hwaddr.sa_family) {
    case ARPHRD_ETHER:
      info.link_type = core::link_type::kEthernet;
      break;
    case ARPHRD_LOOPBACK:  // Linux gives loopback frames a (zeroed) Ethernet header
      info.link_type = core::link_type::kEthernet;
      info.loopback = true;
      break;
    case ARPHRD_NONE:  // tun, wireguard: the frame is the IP packet
    case ARPHRD_PPP:
    case ARPHRD_RAWIP:
      info.link_type = core::link_type::kRaw;
      break;
    default:
      return core::make_error(
          fmt::format("capture: {}: unsupported link type (ARPHRD {})", name, ifr.ifr_hwaddr.sa_family));
  }
  return info;
}

// Block geometry: 1 MiB blocks, smaller when the ring is small (at least 8 blocks), never smaller
// than one frame of snaplen bytes plus the headers.
struct Geometry {
  uint32_t block_size = 0;
  uint32_t block_count = 0;
};
core::Result<Geometry> ring_geometry(const LiveOptions& o) {
  const uint64_t ring = uint64_t{o.ring_mb} << 20;
  const uint64_t need = uint64_t{o.snaplen} + 256 + sizeof(tpacket_block_desc);
  uint64_t min_block = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  while (min_block < need) min_block <<= 1;
  uint64_t block = 1 << 20;
  while (block > min_block && ring / block < 8) block >>= 1;
  block = std::max(block, min_block);
  Geometry g{static_cast<uint32_t>(block), static_cast<uint32_t>(ring / block)};
  if (g.block_count < 2) {
    return core::make_error(fmt::format("capture: ring_mb {} is too small for snaplen {} (needs {} MiB)", o.ring_mb,
                                        o.snaplen, (2 * min_block + (1 << 20) - 1) >> 20));
  }
  return g;
}

// One socket and its mapped ring.
struct Ring {
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    if (map != nullptr) munmap(map, map_len);
  }

  uint8_t* block(uint32_t i) const noexcept { return map + size_t{i} * block_size; }
  std::atomic_ref<uint32_t> status(uint32_t i) const noexcept {
    // tpacket_block_desc.hdr.bh1.block_status: the word the kernel and we hand the block over with.
    return std::atomic_ref<uint32_t>(
        *reinterpret_cast<uint32_t*>(block(i) + offsetof(tpacket_block_desc, hdr.bh1.block_status)));
  }

  core::UniqueFd fd;
  uint8_t* map = nullptr;
  size_t map_len = 0;
  uint32_t block_size = 0;
  uint32_t block_count = 0;
  uint32_t cur = 0;            // next block to read
  bool in_block = false;       // `cursor` walks block `cur`
  bool skip_outgoing = false;  // loopback without PACKET_IGNORE_OUTGOING: each frame shows up twice
  bool down = false;           // saw ENETDOWN; checked for removal on idle waits
  detail::BlockCursor cursor;
  size_t iface = 0;  // index into LiveOptions::interfaces
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};    // wire bytes (with a stripped VLAN tag put back)
  uint64_t drops = 0, freeze_q = 0;  // accumulated PACKET_STATISTICS (the kernel resets on read)
};

core::Error sys_error(const std::string& iface, const char* what, int e) {
  if (e == EPERM || e == EACCES) {
    return core::make_error(fmt::format("capture: {}: {} (needs CAP_NET_RAW)", iface, errno_text(e)));
  }
  return core::make_error(fmt::format("capture: {}: {}: {}", iface, what, errno_text(e)));
}

// Everything up to (not including) fanout and the real filter; the drop-all filter is on.
core::Result<std::unique_ptr<Ring>> open_ring(const IfaceInfo& info, size_t iface, const LiveOptions& o,
                                              const Geometry& g) {
  auto r = std::make_unique<Ring>();
  r->iface = iface;
  r->fd.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!r->fd.valid()) return sys_error(info.name, "socket", errno);
  const int fd = r->fd.get();
  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) {
    return sys_error(info.name, "TPACKET_V3", errno);
  }
  static const sock_filter kDropAll[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
  if (attach_filter(fd, kDropAll) < 0) return sys_error(info.name, "SO_ATTACH_FILTER", errno);
  tpacket_req3 req{};
  req.tp_block_size = g.block_size;
  req.tp_block_nr = g.block_count;
  req.tp_frame_size = g.block_size;  // V3 packs frames freely; the kernel only checks the arithmetic
  req.tp_frame_nr = g.block_count;
  req.tp_retire_blk_tov = o.block_timeout_ms;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) {
    return sys_error(info.name, fmt::format("ring of {} MiB", o.ring_mb).c_str(), errno);
  }
  r->block_size = g.block_size;
  r->block_count = g.block_count;
  r->map_len = size_t{g.block_size} * g.block_count;
  void* m = mmap(nullptr, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return sys_error(info.name, "mmap", errno);
  r->map = static_cast<uint8_t*>(m);
  if (info.loopback) {
    int one = 1;
    r->skip_outgoing = setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0;
  }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = info.ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) return sys_error(info.name, "bind", errno);
  if (o.promiscuous) {
    packet_mreq mr{};
    mr.mr_ifindex = info.ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
      return sys_error(info.name, "promiscuous mode", errno);
    }
  }
  return r;
}

int fanout_arg(uint16_t id, int type_flags) {
  return static_cast<int>(id) | (type_flags << 16);
}

// Opens rings_per_interface sockets on one interface joined in one fanout group. Sets `mode`.
core::Result<std::vector<std::unique_ptr<Ring>>> open_interface(const IfaceInfo& info, size_t iface,
                                                                const LiveOptions& o, const Geometry& g,
                                                                std::string& mode) {
  std::vector<std::unique_ptr<Ring>> rings;
  auto first = open_ring(info, iface, o, g);
  if (!first) return first.error();
  rings.push_back(std::move(first).value());
  if (o.rings_per_interface == 1) return rings;

  // The first socket creates the group: a kernel-chosen id (UNIQUEID), else one from our pid.
  auto create_group = [&](int fd, int type, uint16_t& id) -> bool {
    const int flags = type | PACKET_FANOUT_FLAG_DEFRAG;
    int arg = fanout_arg(0, flags | PACKET_FANOUT_FLAG_UNIQUEID);
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) == 0) {
      int got = 0;
      socklen_t len = sizeof got;
      if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &got, &len) < 0) return false;
      id = static_cast<uint16_t>(got & 0xffff);
      return true;
    }
    static std::atomic<uint32_t> counter{0};
    for (int attempt = 0; attempt < 16; ++attempt) {
      id = static_cast<uint16_t>((static_cast<uint32_t>(getpid()) * 131 + counter++) & 0xffff);
      arg = fanout_arg(id, flags);
      if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) == 0) return true;
      if (errno != EALREADY && errno != EINVAL) return false;
    }
    return false;
  };

  uint16_t id = 0;
  int type = PACKET_FANOUT_CBPF;
  bool ok = create_group(rings[0]->fd.get(), type, id);
  if (ok) {
    sock_fprog fp{static_cast<unsigned short>(std::size(kFanoutProgram)), const_cast<sock_filter*>(kFanoutProgram)};
    ok = setsockopt(rings[0]->fd.get(), SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof fp) == 0;
  }
  if (!ok) {
    // CBPF refused: a socket cannot leave a group, so start over with a fresh one and plain HASH.
    rings.clear();
    auto again = open_ring(info, iface, o, g);
    if (!again) return again.error();
    rings.push_back(std::move(again).value());
    type = PACKET_FANOUT_HASH;
    if (!create_group(rings[0]->fd.get(), type, id)) return sys_error(info.name, "PACKET_FANOUT", errno);
  }
  mode = type == PACKET_FANOUT_CBPF ? "cbpf-source" : "hash";
  const int join = fanout_arg(id, type | PACKET_FANOUT_FLAG_DEFRAG);
  while (rings.size() < o.rings_per_interface) {
    auto r = open_ring(info, iface, o, g);
    if (!r) return r.error();
    if (setsockopt(r.value()->fd.get(), SOL_PACKET, PACKET_FANOUT, &join, sizeof join) < 0) {
      return sys_error(info.name, "PACKET_FANOUT join", errno);
    }
    rings.push_back(std::move(r).value());
  }
  return rings;
}

class AfPacketSource final : public detail::LiveSourceCommon {
 public:
  AfPacketSource(std::vector<std::string> ifaces, std::vector<std::unique_ptr<Ring>> rings, core::UniqueFd event_fd,
                 int link_type, uint32_t snaplen, std::string fanout)
      : LiveSourceCommon("afpacket:", std::move(ifaces), std::move(event_fd), link_type, snaplen),
        rings_(std::move(rings)),
        fanout_(std::move(fanout)) {
    size_t blocks = 0;
    for (const auto& r : rings_) {
      pfds_.push_back({r->fd.get(), POLLIN, 0});
      blocks += r->block_count;
    }
    pfds_.push_back({event_fd_.get(), POLLIN, 0});
    release_.reserve(blocks);  // a block is held at most once: this never reallocates
  }

  size_t read_batch(std::span<core::RawPacket> out) noexcept override {
    release_blocks();  // the previous batch's pointers die here, as the contract allows
    if (finished() || out.empty()) return 0;
    vlan_arena_.clear();
    vlan_fix_.clear();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_);
    size_t n = fill(out);
    while (n == 0 && !finished()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        check_down_rings();
        break;
      }
      if (!wait_for_data(static_cast<int>(left))) break;  // interrupted
      n = fill(out);
    }
    for (const auto& [index, offset] : vlan_fix_) out[index].data = vlan_arena_.data() + offset;
    return n;
  }

  LiveStats stats() noexcept override {
    std::lock_guard lock(stats_mu_);
    LiveStats s;
    s.packets = packets_.load(std::memory_order_relaxed);
    s.inbound = inbound_.load(std::memory_order_relaxed);
    s.outbound = outbound_.load(std::memory_order_relaxed);
    s.malformed_blocks = malformed_.load(std::memory_order_relaxed);
    s.link_down_events = link_down_.load(std::memory_order_relaxed);
    s.fanout = fanout_;
    for (const auto& name : ifaces_) {
      s.per_interface_packets.emplace_back(name, 0);
      s.per_interface_bytes.emplace_back(name, 0);
    }
    for (auto& r : rings_) {
      tpacket_stats_v3 st{};
      socklen_t len = sizeof st;
      if (getsockopt(r->fd.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
        r->drops += st.tp_drops;
        r->freeze_q += st.tp_freeze_q_cnt;
      }
      s.kernel_drops += r->drops;
      s.kernel_freeze_q += r->freeze_q;
      s.per_interface_packets[r->iface].second += r->packets.load(std::memory_order_relaxed);
      s.per_interface_bytes[r->iface].second += r->bytes.load(std::memory_order_relaxed);
    }
    return s;
  }

 private:
  void release_blocks() noexcept {
    for (const auto& [ring, index] : release_) ring->status(index).store(TP_STATUS_KERNEL, std::memory_order_release);
    release_.clear();
  }

  // Takes frames round-robin, one block per ring per round, so a busy ring cannot starve the rest.
  size_t fill(std::span<core::RawPacket> out) noexcept {
    size_t n = 0;
    uint64_t in = 0, outb = 0;
    const size_t count = rings_.size();
    const size_t start = rr_++ % count;
    bool progress = true;
    while (n < out.size() && progress) {
      progress = false;
      for (size_t k = 0; k < count && n < out.size(); ++k) {
        Ring& r = *rings_[(start + k) % count];
        if (take_block(r, out, n, in, outb)) progress = true;
      }
    }
    if (n > 0) {
      packets_.fetch_add(n, std::memory_order_relaxed);
      inbound_.fetch_add(in, std::memory_order_relaxed);
      outbound_.fetch_add(outb, std::memory_order_relaxed);
    }
    return n;
  }

  // Reads frames of ring r's current block into out[n..]; true when it consumed anything.
  bool take_block(Ring& r, std::span<core::RawPacket> out, size_t& n, uint64_t& in, uint64_t& outb) noexcept {
    if (!r.in_block) {
      if ((r.status(r.cur).load(std::memory_order_acquire) & TP_STATUS_USER) == 0) return false;
      r.cursor.reset({r.block(r.cur), r.block_size});
      r.in_block = true;
    }
    r.down = false;  // data flows: the interface is up
    const size_t before = n;
    uint64_t bytes = 0;
    detail::RingFrame f;
    while (n < out.size() && r.cursor.next(f)) {
      if (r.skip_outgoing && f.pkttype == kPacketOutgoing) continue;
      core::RawPacket& p = out[n];
      p.ts = core::Timestamp::from_parts(f.sec, f.nsec);
      p.ifindex = f.ifindex;
      p.wire_len = f.wire_len;
      if (f.vlan_valid && link_type_ == core::link_type::kEthernet) {
        const size_t off = vlan_arena_.size();
        vlan_arena_.resize(off + f.cap_len + 4);
        const uint32_t len = detail::insert_vlan_tag(f, vlan_arena_.data() + off);
        vlan_fix_.emplace_back(n, off);
        p.data = nullptr;  // fixed up once the arena stops moving
        p.cap_len = std::min(len, snaplen_);
        p.wire_len = f.wire_len + (len - f.cap_len);
      } else {
        p.data = f.data;
        p.cap_len = f.cap_len;
      }
      bytes += p.wire_len;
      if (f.pkttype == kPacketOutgoing) {
        ++outb;
      } else {
        ++in;
      }
      ++n;
    }
    r.packets.fetch_add(n - before, std::memory_order_relaxed);
    r.bytes.fetch_add(bytes, std::memory_order_relaxed);
    if (r.cursor.done()) {
      if (r.cursor.malformed()) malformed_.fetch_add(1, std::memory_order_relaxed);
      release_.emplace_back(&r, r.cur);
      r.cur = (r.cur + 1) % r.block_count;
      r.in_block = false;
      return true;
    }
    return n > before;
  }

  // poll() over every ring and the eventfd; false when interrupted.
  bool wait_for_data(int timeout_ms) noexcept {
    for (auto& p : pfds_) p.revents = 0;
    const int rc = poll(pfds_.data(), pfds_.size(), timeout_ms);
    if (rc <= 0) return true;  // timeout or EINTR: the caller re-checks its deadline
    if (pfds_.back().revents & POLLIN) {
      uint64_t v = 0;
      [[maybe_unused]] ssize_t n = read(event_fd_.get(), &v, sizeof v);
      return false;
    }
    for (size_t i = 0; i + 1 < pfds_.size(); ++i) {
      if (pfds_[i].revents & (POLLERR | POLLHUP | POLLNVAL)) on_socket_error(*rings_[i]);
    }
    return true;
  }

  // ENETDOWN comes when the link goes down and before an interface is removed; which one it was
  // shows only later (bound ifindex -1), so down rings are re-checked on idle waits.
  void on_socket_error(Ring& r) noexcept {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(r.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == ENETDOWN) {
      if (!r.down) link_down_.fetch_add(1, std::memory_order_relaxed);
      r.down = true;
      check_removed(r);
      return;
    }
    if (err != 0) fail(fmt::format("capture: {}: {}", ifaces_[r.iface], errno_text(err)));
  }

  void check_down_rings() noexcept {
    for (auto& r : rings_) {
      if (r->down) check_removed(*r);
    }
  }

  void check_removed(Ring& r) noexcept {
    sockaddr_ll sll{};
    socklen_t len = sizeof sll;
    if (getsockname(r.fd.get(), reinterpret_cast<sockaddr*>(&sll), &len) == 0 && sll.sll_ifindex > 0) return;
    fail(fmt::format("capture: {}: interface went away", ifaces_[r.iface]));
  }

  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<pollfd> pfds_;                         // rings in order, then the eventfd
  std::vector<std::pair<Ring*, uint32_t>> release_;  // blocks to hand back on the next call
  std::vector<uint8_t> vlan_arena_;                  // frames with their VLAN tag put back (this batch)
  std::vector<std::pair<size_t, size_t>> vlan_fix_;  // (batch index, arena offset)
  std::string fanout_;
  size_t rr_ = 0;
  std::atomic<uint64_t> packets_{0}, inbound_{0}, outbound_{0}, malformed_{0}, link_down_{0};
  std::mutex stats_mu_;
};

// `sharded`: one source per ring index (socket i of every interface); else one source for all.
core::Result<std::vector<std::unique_ptr<LiveSource>>> open_afpacket(const LiveOptions& o, bool sharded) {
  std::vector<IfaceInfo> infos;
  for (const auto& name : o.interfaces) {
    auto info = probe_interface(name);
    if (!info) return info.error();
    if (!infos.empty() && info->link_type != infos[0].link_type) {
      return core::make_error(fmt::format("capture: link types differ: {} is {}, {} is {}", infos[0].name,
                                          link_name(infos[0].link_type), name, link_name(info->link_type)));
    }
    infos.push_back(std::move(info).value());
  }
  auto geometry = ring_geometry(o);
  if (!geometry) return geometry.error();

  // The user's filter, compiled once; without one the kernel still truncates to snaplen.
  std::vector<sock_filter> filter;
  if (!o.bpf_filter.empty()) {
    auto compiled = detail::compile_kernel_filter(o.bpf_filter, infos[0].link_type, o.snaplen);
    if (!compiled) return compiled.error();
    for (const KernelInsn& i : *compiled) filter.push_back({i.code, i.jt, i.jf, i.k});
  } else {
    filter.push_back(BPF_STMT(BPF_RET | BPF_K, o.snaplen));
  }

  std::vector<std::vector<std::unique_ptr<Ring>>> groups(sharded ? o.rings_per_interface : 1);
  std::string mode;
  for (size_t i = 0; i < infos.size(); ++i) {
    auto rings = open_interface(infos[i], i, o, *geometry, mode);
    if (!rings) return rings.error();
    for (size_t s = 0; s < rings->size(); ++s) groups[sharded ? s : 0].push_back(std::move((*rings)[s]));
  }
  // Only now, with every group complete, may frames enter the rings.
  for (auto& group : groups) {
    for (auto& r : group) {
      if (attach_filter(r->fd.get(), filter) < 0) return sys_error(o.interfaces[r->iface], "SO_ATTACH_FILTER", errno);
    }
  }
  std::vector<std::unique_ptr<LiveSource>> out;
  for (auto& group : groups) {
    core::UniqueFd efd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!efd.valid()) return core::make_error(fmt::format("capture: eventfd: {}", errno_text(errno)));
    out.push_back(std::make_unique<AfPacketSource>(o.interfaces, std::move(group), std::move(efd), infos[0].link_type,
                                                   o.snaplen, mode));
  }
  return out;
}

}  // namespace

core::Result<std::vector<std::unique_ptr<LiveSource>>> open_live_shards(const LiveOptions& opts) {
  if (auto v = detail::validate_live_options(opts); !v) return v.error();
  if (opts.method == LiveMethod::pcap) {
    auto one = detail::open_pcap_live(opts);
    if (!one) return one.error();
    std::vector<std::unique_ptr<LiveSource>> out;
    out.push_back(std::move(one).value());
    return out;
  }
  return open_afpacket(opts, true);
}

core::Result<std::unique_ptr<LiveSource>> open_live(const LiveOptions& opts) {
  if (auto v = detail::validate_live_options(opts); !v) return v.error();
  if (opts.method == LiveMethod::pcap) return detail::open_pcap_live(opts);
  auto sources = open_afpacket(opts, false);
  if (!sources) return sources.error();
  return std::move(sources->front());
}

}  // namespace picket::capture

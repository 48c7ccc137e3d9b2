// LiveSource: frames from network interfaces as they arrive — an AF_PACKET TPACKET_V3 ring per
// socket (the default), or libpcap (LiveMethod::pcap) where the ring is not wanted.
//
// Contract (beyond PacketSource):
// - read_batch() waits at most the set_wait() time (default 100 ms) for packets and returns 0 on a
//   timeout; 0 is then NOT the end of input — finished() says whether the source is done (an
//   interface went away, or a fatal error; error() holds the one-line reason). The data pointers of
//   a batch stay valid until the next read_batch() call: ring blocks go back to the kernel only then.
// - Packet timestamps are the kernel's receive/transmit stamps (CLOCK_REALTIME, ns);
//   RawPacket::ifindex is the interface the frame was seen on.
// - VLAN tags the kernel stripped into the ring header are put back into the frame (802.1Q/802.1ad
//   TPID + TCI), so decoders see the frame as it was on the wire.
// - The BPF filter runs in the kernel: rejected packets never reach user space, so filtered_out()
//   stays 0 for live sources.
// - read_batch() runs on one thread at a time. interrupt() and stats() may be called from any
//   thread. A pending interrupt makes the current (or the next) wait return at once.
// - Everything is bounded: the ring is the only queue; a block with bogus offsets is counted
//   (LiveStats::malformed_blocks) and skipped, never followed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "capture/packet_source.hpp"
#include "core/ip_address.hpp"
#include "core/raw_packet.hpp"
#include "core/result.hpp"

namespace picket::capture {

enum class LiveMethod : uint8_t { afpacket, pcap };

struct LiveOptions {
  std::vector<std::string> interfaces;  // one or more ("any" is not supported)
  LiveMethod method = LiveMethod::afpacket;
  uint32_t rings_per_interface = 1;  // >1: that many sockets per interface in one PACKET_FANOUT group
  uint32_t ring_mb = 64;             // per socket: TPACKET_V3 ring size (libpcap: its buffer size)
  uint32_t block_timeout_ms = 10;    // tp_retire_blk_tov: the longest a partly filled block waits
  uint32_t snaplen = 262144;
  bool promiscuous = false;
  std::string bpf_filter;  // tcpdump syntax, may be empty; runs in the kernel
};

struct LiveStats {                     // cumulative since open
  uint64_t packets = 0;                // handed to the caller
  uint64_t kernel_drops = 0;           // ring full (PACKET_STATISTICS tp_drops / pcap_stats ps_drop), summed
  uint64_t kernel_freeze_q = 0;        // tp_freeze_q_cnt (AF_PACKET only)
  uint64_t inbound = 0, outbound = 0;  // by sll_pkttype (AF_PACKET only; libpcap gives no direction)
  uint64_t malformed_blocks = 0;       // ring blocks/frames with impossible offsets, skipped
  uint64_t link_down_events = 0;       // an interface went down (capture resumes when it comes up)
  std::vector<std::pair<std::string, uint64_t>> per_interface_packets;  // in LiveOptions order
  std::vector<std::pair<std::string, uint64_t>> per_interface_bytes;    // wire bytes, same order
  std::string fanout;  // "" (one socket per interface), "cbpf-source", or "hash" (CBPF refused)
};

class LiveSource : public PacketSource {
 public:
  virtual void set_wait(std::chrono::milliseconds wait) noexcept = 0;
  // True once an interface went away or a fatal error happened (then error() is set).
  virtual bool finished() const noexcept = 0;
  virtual LiveStats stats() noexcept = 0;
  // Wakes a read_batch() blocked in another thread (an eventfd), for shutdown.
  virtual void interrupt() noexcept = 0;
};

// Opens every interface. Errors are one line naming the cause:
//   "capture: eth9: no such interface"
//   "capture: eth0: Operation not permitted (needs CAP_NET_RAW)"
//   "capture: bad filter 'tcp prt 80': syntax error"
//   "capture: link types differ: eth0 is Ethernet, wg0 is raw IP"
core::Result<std::unique_ptr<LiveSource>> open_live(const LiveOptions& opts);

// Like open_live, but one source per ring index: shard i reads socket i of every interface's
// fanout group. With the CBPF fanout every source address always lands in the same shard
// (detail::fanout_shard), so one worker thread per shard keeps each source's state to itself.
// Returns rings_per_interface sources (AF_PACKET only; with libpcap exactly one).
core::Result<std::vector<std::unique_ptr<LiveSource>>> open_live_shards(const LiveOptions& opts);

namespace detail {

// Checks the options every method shares; "capture: ..." errors.
core::Result<void> validate_live_options(const LiveOptions& opts);
// The libpcap method (pcap_live_source.cpp); options already validated.
core::Result<std::unique_ptr<LiveSource>> open_pcap_live(const LiveOptions& opts);

// One classic BPF instruction, laid out like struct sock_filter / struct bpf_insn.
struct KernelInsn {
  uint16_t code;
  uint8_t jt;
  uint8_t jf;
  uint32_t k;
};
// Compiles a tcpdump expression with libpcap for a LINKTYPE and snaplen (accepting returns the
// snaplen, which is how the kernel truncates). Error: "capture: bad filter 'EXPR': MESSAGE".
core::Result<std::vector<KernelInsn>> compile_kernel_filter(const std::string& expr, int link_type, uint32_t snaplen);

// The user-space model of the fanout CBPF program: the hash of an IPv4/IPv6 source address whose
// remainder by the group size is the socket index. Non-IP frames go to socket 0.
uint32_t fanout_source_hash(const core::IpAddress& src) noexcept;
inline uint32_t fanout_shard(const core::IpAddress& src, uint32_t rings) noexcept {
  return rings == 0 ? 0 : fanout_source_hash(src) % rings;
}

// One frame as read from a TPACKET_V3 block, validated against the block's bounds.
struct RingFrame {
  const uint8_t* data = nullptr;  // the link-layer header (tp_mac)
  uint32_t cap_len = 0;
  uint32_t wire_len = 0;
  int64_t sec = 0;
  uint32_t nsec = 0;
  uint32_t ifindex = 0;
  uint8_t pkttype = 0;      // sll_pkttype (PACKET_OUTGOING = 4)
  bool vlan_valid = false;  // TP_STATUS_VLAN_VALID: the tag was stripped into vlan_tci
  uint16_t vlan_tci = 0;
  uint16_t vlan_tpid = 0;  // 0x8100 when the kernel did not say (no TP_STATUS_VLAN_TPID_VALID)
};

// Walks the frames of one retired TPACKET_V3 block. Every offset is checked against the block
// before it is followed; the first impossible one ends the walk and sets malformed().
class BlockCursor {
 public:
  // `block` is the whole block (tp_block_size bytes) as mapped.
  void reset(std::span<const uint8_t> block) noexcept;
  // The next frame, or false at the end of the block (or at a bogus frame: see malformed()).
  bool next(RingFrame& out) noexcept;
  bool malformed() const noexcept { return malformed_; }
  bool done() const noexcept { return left_ == 0 || malformed_; }

 private:
  std::span<const uint8_t> block_;
  size_t offset_ = 0;  // of the next frame header within the block
  size_t limit_ = 0;   // blk_len: bytes the kernel filled
  uint32_t left_ = 0;  // frames still to read
  bool malformed_ = false;
};

// Frame length with an 802.1Q tag re-inserted; writes the tagged frame to `dst` (room for
// cap_len + 4 bytes). Frames shorter than two MAC addresses are copied as they are.
uint32_t insert_vlan_tag(const RingFrame& f, uint8_t* dst) noexcept;

}  // namespace detail
}  // namespace picket::capture
